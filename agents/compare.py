"""Several agents, the same sessions: one table and one plot.

Every run replays exactly the same session ids (fixed from the first environment), with the
same stores and seed; with ``ablations`` each agent also runs with ``persona_mode`` ``none`` and
``shuffled`` (the paper's persona ablations). Results land in ``out_dir``: ``comparison.json``
(the runs planned, written first), per run a run directory ``<label>/`` written as the run goes
(``agents.run_files``), and at the end ``comparison.md`` and ``distributions.png``.

An interrupted comparison continues with ``resume=True``: finished runs are replayed from their
files (no agent call), the interrupted one resumes where it stopped, the rest run. With
``config.shard`` every run plays that shard of the sessions; ``agents.merge`` joins the shards'
folders into one comparison.

Example:
    >>> runs = compare(["random", "frequency"], RolloutConfig(sessions=5), out_dir="runs/cmp")  # doctest: +SKIP
    >>> print(runs.table)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.report import comparison_table, plot_distributions
from agents.rollout import RolloutConfig, RolloutResult, click_type_lookup, make_agent, make_env, open_stores, run_rollout
from agents.run_files import RunFileError, canonical_json
from customer_env.cache import atomic_write_text

logger = logging.getLogger(__name__)

#: The listing of a comparison folder's runs (``agents.merge`` reads it).
COMPARISON_FILE = "comparison.json"

ABLATION_MODES = ("real", "none", "shuffled")


@dataclass
class Comparison:
    """The runs (label -> result), the Markdown table and where the files went."""

    results: dict[str, RolloutResult]
    table: str
    plot: Path | None
    out_dir: Path | None


def compare(agent_names: Sequence[str], config: RolloutConfig | None = None, *, ablations: bool = False,
            out_dir: str | Path | None = None, agent_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
            progress: bool = True, resume: bool = False, overwrite: bool = False,
            request_cache: str | Path | None = None) -> Comparison:
    """Run each agent (and, with ``ablations``, each persona mode) on the same sessions.

    Args:
        agent_names: Registered agent names.
        config: The shared rollout configuration (its ``persona_mode`` is used without ablations).
        ablations: Also run every agent with ``persona_mode`` ``none`` and ``shuffled``.
        out_dir: Where to write the table, the plot and each run's files (None: nothing written).
        agent_kwargs: Extra keyword arguments per agent name.
        progress: Show the rollouts' progress bars.
        resume: Continue the comparison recorded in ``out_dir`` (refused when it planned other runs).
        overwrite: Replace the comparison recorded in ``out_dir``.
        request_cache: A request-cache directory for agents with a chat backend
            (``agents.backends.request_cache``).

    Raises:
        agents.run_files.RunFileError: ``out_dir`` cannot be used as asked (before any run).
    """
    if not agent_names:
        raise ValueError("compare needs at least one agent name")
    config = config or RolloutConfig()
    modes = ABLATION_MODES if ablations else (config.persona_mode,)
    runs = [(name, mode, name if len(modes) == 1 else f"{name} [{mode}]") for name in agent_names for mode in modes]
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _plan_folder(out, [label for _, _, label in runs], list(agent_names), ablations, config,
                     resume=resume, overwrite=overwrite)
    store, train_store = open_stores(config)
    probe = make_env(config, store, config.sessions)
    config = replace(config, sessions=list(probe.unwrapped.session_ids))
    probe.close()
    results: dict[str, RolloutResult] = {}
    for name, mode, label in runs:
        run_config = replace(config, persona_mode=mode)
        agent = make_agent(name, run_config, train_store=train_store, **dict((agent_kwargs or {}).get(name, {})))
        if request_cache is not None:
            from agents.backends.request_cache import use_request_cache

            if use_request_cache(agent, request_cache) is None:
                logger.warning("request cache: agent %s has no model backend; nothing to cache", name)
        results[label] = run_rollout(agent, run_config, store=store, train_store=train_store, progress=progress,
                                     out_dir=out / _slug(label) if out is not None else None, resume=resume,
                                     overwrite=overwrite, agent_name=name, extra_info={"label": label})
    table = comparison_table([(label, r.metrics) for label, r in results.items()])
    plot = None
    if out is not None:
        table, plot = write_comparison(results, out, store, train_store)
    return Comparison(results, table, plot, out)


def _plan_folder(out: Path, labels: list[str], agent_names: list[str], ablations: bool, config: RolloutConfig, *,
                 resume: bool, overwrite: bool) -> None:
    """Write ``comparison.json``, or check it against this comparison's runs when resuming."""
    listing = {"runs": [{"label": label, "dir": _slug(label)} for label in labels], "agents": agent_names,
               "ablations": ablations, "shard": str(config.shard) if config.shard is not None else None}
    path = out / COMPARISON_FILE
    if resume and overwrite:
        raise RunFileError("--resume and --overwrite exclude each other")
    if path.exists() and not resume and not overwrite:
        raise RunFileError(f"{out} already holds a comparison ({COMPARISON_FILE}): pass --resume to continue it, "
                           "--overwrite to start over, or choose another --out")
    if path.exists() and resume:
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RunFileError(f"{path}: not JSON ({' '.join(str(exc).split())})") from None
        if canonical_json(recorded) != canonical_json(listing):
            raise RunFileError(f"resume refused: {path} planned runs {[r['label'] for r in recorded.get('runs', [])]} "
                               f"(shard {recorded.get('shard')}), this comparison "
                               f"{labels} (shard {listing['shard']})")
        return
    atomic_write_text(path, json.dumps(listing, indent=1) + "\n")


def write_comparison(results: Mapping[str, RolloutResult], out: Path, store: Any, train_store: Any) -> tuple[str, Path]:
    """Write ``comparison.md`` and ``distributions.png`` of finished runs; returns the table and the plot."""
    table = comparison_table([(label, r.metrics) for label, r in results.items()])
    atomic_write_text(out / "comparison.md", table + "\n")
    lookup = click_type_lookup(train_store, store)
    plot = plot_distributions([(label, r.records()) for label, r in results.items()], lookup,
                              out / "distributions.png")
    return table, plot


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label).strip("_")
