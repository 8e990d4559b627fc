"""Several agents, the same sessions: one table and one plot.

Every run replays exactly the same session ids (fixed from the first environment), with the
same stores and seed; with ``ablations`` each agent also runs with ``persona_mode`` ``none`` and
``shuffled`` (the paper's persona ablations). Checkpoint agents are evaluated under their training
conditions exactly as a single rollout evaluates them (``agents.rollout.plan_evaluation``): the
page scale they were trained at (for every agent, so all see the same pages) and, per agent,
the prompt budget; so an agent scores the same here as in ``examples/rollout.py``. Results land in ``out_dir``: ``comparison.md``,
``distributions.png`` and, per run, ``<label>/samples.jsonl`` and ``<label>/results.json``.

Example:
    >>> runs = compare(["random", "frequency"], RolloutConfig(sessions=5), out_dir="runs/cmp")  # doctest: +SKIP
    >>> print(runs.table)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.report import comparison_table, plot_distributions
from agents.rollout import (RolloutConfig, RolloutResult, click_type_lookup, make_agent, make_env, open_stores,
                            plan_evaluation, run_rollout, write_rollout)
from customer_env.cache import atomic_write_text

ABLATION_MODES = ("real", "none", "shuffled")


@dataclass
class Comparison:
    """The runs (label -> result), the Markdown table and where the files went."""

    results: dict[str, RolloutResult]
    table: str
    plot: Path | None
    out_dir: Path | None
    notes: list[str] = field(default_factory=list)


def compare(agent_names: Sequence[str], config: RolloutConfig | None = None, *, ablations: bool = False,
            out_dir: str | Path | None = None, agent_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
            progress: bool = True) -> Comparison:
    """Run each agent (and, with ``ablations``, each persona mode) on the same sessions.

    Args:
        agent_names: Registered agent names.
        config: The shared rollout configuration (its ``persona_mode`` is used without ablations).
        ablations: Also run every agent with ``persona_mode`` ``none`` and ``shuffled``.
        out_dir: Where to write the table, the plot and each run's files (None: nothing written).
        agent_kwargs: Extra keyword arguments per agent name.
        progress: Show the rollouts' progress bars.
    """
    if not agent_names:
        raise ValueError("compare needs at least one agent name")
    if out_dir is not None:
        _require_matplotlib()  # before any agent runs, not after all of them
    plan = plan_evaluation(config or RolloutConfig(),
                           {name: dict((agent_kwargs or {}).get(name, {})) for name in agent_names})
    config = plan.config
    store, train_store = open_stores(config)
    probe = make_env(config, store, config.sessions)
    config = replace(config, sessions=list(probe.unwrapped.session_ids))
    probe.close()
    modes = ABLATION_MODES if ablations else (config.persona_mode,)
    results: dict[str, RolloutResult] = {}
    for name in agent_names:
        for mode in modes:
            label = name if len(modes) == 1 else f"{name} [{mode}]"
            run_config = replace(config, persona_mode=mode)
            agent = make_agent(name, run_config, train_store=train_store, **plan.agent_kwargs[name])
            result = run_rollout(agent, run_config, store=store, train_store=train_store, progress=progress)
            result.info["agent_name"] = name
            result.info["conditions"]["notes"] = plan.notes
            results[label] = result
    table = comparison_table([(label, r.metrics) for label, r in results.items()])
    plot = None
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        for label, result in results.items():
            write_rollout(result, out / _slug(label))
        atomic_write_text(out / "comparison.md", table + "\n")
        lookup = click_type_lookup(train_store, store)
        plot = plot_distributions([(label, r.records()) for label, r in results.items()], lookup,
                                  out / "distributions.png")
    return Comparison(results, table, plot, out, plan.notes)


def _require_matplotlib() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError("the comparison's distribution plot needs matplotlib: pip install 'customer-r1[compare]'")


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label).strip("_")
