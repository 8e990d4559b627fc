"""Several agents, the same sessions: tables with intervals and paired differences, and plots.

Every run replays exactly the same session ids (fixed from the first environment), with the
same stores and seed; with ``ablations`` each agent also runs with ``persona_mode`` ``none`` and
``shuffled`` (the paper's persona ablations). Agents are :class:`~agents.agent_spec.AgentSpec`
(or specs written as text, ``customer_r1:checkpoint=runs/x``): all of them are checked before
the first run starts, so a typo fails in a second, not after an hour of rollouts. Checkpoint
agents are evaluated under their training conditions exactly as a single rollout evaluates them
(``agents.rollout.plan_evaluation``): at the page scale they were trained at (for every agent, so
all see the same pages) and, per agent, with its prompt budget; so an agent scores the same here
as in ``examples/rollout.py``.

With a ``baseline``, every other run gets the paired session-bootstrap difference against it
(:func:`customer_env.metrics.paired_difference`: the same resampled sessions for both). With
ablations, a baseline that names an agent is paired persona mode by persona mode; one that names
a run label (``"frequency [none]"``) is the baseline of every run.

Results land in ``out_dir``: ``comparison.json`` first (the plan: labels, agent options,
persona modes, run directories, baseline pairs, shard), then per run a run directory
``<label>/`` written as the run goes (``agents.run_files``), and at the end ``comparison.md``
(the tables), ``comparison.json`` again with the headline numbers and paired differences,
``distributions.png`` and ``exact_match.png``.

An interrupted comparison continues with ``resume=True`` (refused when its plan differs):
finished runs are replayed from their files (no agent call), the interrupted one resumes where
it stopped, the rest run. With ``config.shard`` every run plays that shard of the sessions;
``agents.merge`` joins the shards' folders into one comparison, tables and pairs included.

Example:
    >>> runs = compare(["random", "frequency"], RolloutConfig(sessions=5), baseline="frequency",
    ...                out_dir="runs/cmp")  # doctest: +SKIP
    >>> print(runs.table)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.agent_spec import AgentSpec, AgentSpecError, agent_specs, parse_agent_spec, resolve_baseline
from agents.registry import HIDDEN_STATE_AGENTS
from agents.report import comparison_table, plot_distributions, plot_exact_match, require_matplotlib
from agents.rollout import (RolloutConfig, RolloutResult, click_type_lookup, make_agent, make_env, open_stores,
                            plan_evaluation, run_rollout)
from agents.run_files import RunFileError, describe_differences, differences
from customer_env.cache import atomic_write_text
from customer_env.metrics import paired_difference

logger = logging.getLogger(__name__)

ABLATION_MODES = ("real", "none", "shuffled")
TABLE_FILE = "comparison.md"
SUMMARY_FILE = "comparison.json"
DISTRIBUTIONS_PLOT = "distributions.png"
EXACT_MATCH_PLOT = "exact_match.png"


@dataclass
class Comparison:
    """The runs (label -> result), the Markdown tables, the paired differences and the files.

    Attributes:
        results: Run label -> its rollout.
        table: The Markdown tables and notes (also ``comparison.md``).
        plot: The distributions PNG (None without ``out_dir``).
        out_dir: Where the files went (None: nothing written).
        baseline: Run label -> the label of the run it is paired with (empty without a baseline).
        paired: Run label -> headline metric -> ``{"value", "low", "high"}`` of it minus its baseline.
        exact_match_plot: The exact-match PNG (None without ``out_dir``).
        specs: The checked, labelled agents.
        notes: What the evaluation took from the checkpoints' training conditions, and where it
            departs from them.
    """

    results: dict[str, RolloutResult]
    table: str
    plot: Path | None
    out_dir: Path | None
    baseline: dict[str, str] = field(default_factory=dict)
    paired: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    exact_match_plot: Path | None = None
    specs: list[AgentSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_runs(agents: Sequence[str | AgentSpec], *, ablations: bool = False, persona_mode: str = "real",
              baseline: str | None = None,
              agent_kwargs: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[list[tuple[str, AgentSpec, str]], dict[str, str]]:
    """Check every agent and the baseline, before anything runs.

    Returns:
        ``(run label, spec, persona mode)`` per run in order, and run label -> baseline run label
        for every run that has a baseline (the baseline run itself has none).

    Raises:
        AgentSpecError: for an unknown agent, a bad option, clashing labels or run directories,
            or a baseline that names no run.
    """
    parsed = [s if isinstance(s, AgentSpec) else parse_agent_spec(s) for s in agents]
    if agent_kwargs:
        parsed = [replace(s, options={**agent_kwargs.get(s.name, {}), **s.options}) for s in parsed]
    specs = agent_specs((), parsed)
    modes = ABLATION_MODES if ablations else (persona_mode,)
    runs = [(s.label if len(modes) == 1 else f"{s.label} [{mode}]", s, mode) for s in specs for mode in modes]
    dirs: dict[str, str] = {}
    for label, _, _ in runs:
        if _slug(label) in dirs:
            raise AgentSpecError(f"runs {dirs[_slug(label)]!r} and {label!r} would write the same directory "
                                 f"{_slug(label)!r}; give one a different label=")
        dirs[_slug(label)] = label
    pairs: dict[str, str] = {}
    if baseline is not None:
        labels = [label for label, _, _ in runs]
        if baseline in labels and len(modes) > 1:
            pairs = {label: baseline for label in labels if label != baseline}
        else:
            base = resolve_baseline(specs, baseline)
            for label, spec, mode in runs:
                base_label = base if len(modes) == 1 else f"{base} [{mode}]"
                if label != base_label:
                    pairs[label] = base_label
    return runs, pairs


def compare(agents: Sequence[str | AgentSpec], config: RolloutConfig | None = None, *, ablations: bool = False,
            out_dir: str | Path | None = None, agent_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
            baseline: str | None = None, progress: bool = True, resume: bool = False, overwrite: bool = False,
            request_cache: str | Path | None = None) -> Comparison:
    """Run each agent (and, with ``ablations``, each persona mode) on the same sessions.

    Args:
        agents: Agent names, specs as text (``NAME:KEY=VALUE,...``) or :class:`AgentSpec`.
        config: The shared rollout configuration (its ``persona_mode`` is used without ablations).
        ablations: Also run every agent with ``persona_mode`` ``none`` and ``shuffled``.
        out_dir: Where to write the tables, the plots and each run's files (None: nothing written).
        agent_kwargs: Extra keyword arguments per agent name (a spec's own options win).
        baseline: A run label or agent name: pair every other run with it.
        progress: Show the rollouts' progress bars (each labelled with its run).
        resume: Continue the comparison recorded in ``out_dir`` (refused when it planned other runs).
        overwrite: Replace the comparison recorded in ``out_dir``.
        request_cache: A request-cache directory for agents with a chat backend
            (``agents.backends.request_cache``).

    Raises:
        AgentSpecError: before any run, for an unknown agent, a bad option or a bad baseline.
        agents.run_files.RunFileError: before any run, when ``out_dir`` cannot be used as asked.
    """
    if not agents:
        raise AgentSpecError("compare needs at least one agent")
    if out_dir is not None:
        require_matplotlib()  # before any agent runs, not after all of them
    config = config or RolloutConfig()
    runs, pairs = plan_runs(agents, ablations=ablations, persona_mode=config.persona_mode, baseline=baseline,
                            agent_kwargs=agent_kwargs)
    plan = plan_evaluation(config, {spec.label: (spec.name, spec.options) for _, spec, _ in runs})
    config = plan.config
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        start_folder(out, plan_listing(runs, pairs, config), resume=resume, overwrite=overwrite)
    store, train_store = open_stores(config)
    probe = make_env(config, store, config.sessions)
    config = replace(config, sessions=list(probe.unwrapped.session_ids))
    probe.close()
    results: dict[str, RolloutResult] = {}
    for label, spec, mode in runs:
        run_config = replace(config, persona_mode=mode)
        agent = make_agent(spec.name, run_config, train_store=train_store, **plan.agent_kwargs[spec.label])
        if request_cache is not None:
            from agents.backends.request_cache import use_request_cache

            if use_request_cache(agent, request_cache) is None:
                logger.warning("request cache: agent %s has no model backend; nothing to cache", spec.name)
        results[label] = run_rollout(
            agent, run_config, store=store, train_store=train_store, progress=progress, desc=label,
            out_dir=out / _slug(label) if out is not None else None, resume=resume, overwrite=overwrite,
            agent_name=spec.name, extra_info={"label": label, "agent_options": _json_safe(spec.options),
                                              "conditions": {"notes": plan.notes}})
    comparison = finish_comparison(runs, results, pairs, store, train_store, out, config)
    comparison.notes = plan.notes
    return comparison


def finish_comparison(runs: Sequence[tuple[str, AgentSpec, str]], results: Mapping[str, RolloutResult],
                      pairs: Mapping[str, str], store: Any, train_store: Any, out: Path | None,
                      config: RolloutConfig) -> Comparison:
    """The paired differences, tables and plots of finished runs (written to ``out`` when given).

    ``agents.merge`` calls it on merged shards, so a merged comparison is computed as one is.
    """
    results = dict(results)
    lookup = click_type_lookup(train_store, store)
    records = {label: r.records() for label, r in results.items()}
    paired = {label: paired_difference(records[label], records[base], lookup, n_bootstrap=config.n_bootstrap,
                                       seed=config.seed) for label, base in pairs.items()}
    base_names = sorted(set(pairs.values()))
    table = comparison_table([(label, r.metrics) for label, r in results.items()], paired=paired,
                             baseline=base_names[0] if len(base_names) == 1 else dict(pairs) or None,
                             ceiling=ceiling_labels(runs))
    plot = exact_plot = None
    if out is not None:
        atomic_write_text(out / TABLE_FILE, table + "\n")
        summary = {**plan_listing(runs, pairs, config), **_summary(runs, results, pairs, paired)}
        atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        plot = plot_distributions([(label, records[label]) for label in results], lookup, out / DISTRIBUTIONS_PLOT)
        exact_plot = plot_exact_match([(label, r.metrics) for label, r in results.items()], out / EXACT_MATCH_PLOT,
                                      baseline=base_names[0] if len(base_names) == 1 else None)
    return Comparison(results, table, plot, out, dict(pairs), paired, exact_plot, [spec for _, spec, _ in runs])


def ceiling_labels(runs: Sequence[tuple[str, AgentSpec, str]]) -> set[str]:
    """The runs whose agent reads the generator's hidden state (``HIDDEN_STATE_AGENTS``): ceiling rows."""
    return {label for label, spec, _ in runs if spec.name in HIDDEN_STATE_AGENTS}


def plan_listing(runs: Sequence[tuple[str, AgentSpec, str]], pairs: Mapping[str, str],
                 config: RolloutConfig) -> dict[str, Any]:
    """What ``comparison.json`` says before any run: the runs planned, the baseline pairs, the shard."""
    return {"runs": {label: {"agent": spec.name, "options": _json_safe(spec.options), "persona_mode": mode,
                             "dir": _slug(label)} for label, spec, mode in runs},
            "baseline_pairs": dict(pairs), "shard": str(config.shard) if config.shard is not None else None}


def planned(listing: Mapping[str, Any]) -> dict[str, Any]:
    """The plan part of a ``comparison.json`` (it gains numbers when the comparison finishes)."""
    runs = listing.get("runs") if isinstance(listing.get("runs"), Mapping) else {}
    return {"runs": {label: {k: run.get(k) for k in ("agent", "options", "persona_mode", "dir")}
                     for label, run in runs.items() if isinstance(run, Mapping)},
            "baseline_pairs": listing.get("baseline_pairs"), "shard": listing.get("shard")}


def read_listing(folder: Path) -> dict[str, Any]:
    """``comparison.json`` of a comparison folder.

    Raises:
        RunFileError: when it is missing, unreadable or lists no runs.
    """
    path = Path(folder) / SUMMARY_FILE
    try:
        listing = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(listing, dict) or not isinstance(listing.get("runs"), dict) or not listing["runs"]:
            raise ValueError("it lists no runs")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: not a comparison listing ({' '.join(str(exc).split())})") from None
    return listing


def start_folder(out: Path, listing: Mapping[str, Any], *, resume: bool, overwrite: bool) -> None:
    """Write the plan to ``comparison.json``, or check it against the recorded one when resuming.

    Raises:
        RunFileError: a comparison is there and neither ``resume`` nor ``overwrite`` is set, or
            (``resume``) it planned other runs.
    """
    path = out / SUMMARY_FILE
    if resume and overwrite:
        raise RunFileError("--resume and --overwrite exclude each other")
    if path.exists() and not resume and not overwrite:
        raise RunFileError(f"{out} already holds a comparison ({SUMMARY_FILE}): pass --resume to continue it, "
                           "--overwrite to start over, or choose another --out")
    if path.exists() and resume:
        ours, theirs = planned(listing), planned(read_listing(out))
        if list(ours["runs"]) != list(theirs["runs"]):
            raise RunFileError(f"resume refused: {path} planned runs {list(theirs['runs'])}, "
                               f"this comparison {list(ours['runs'])}")
        found = differences(ours, theirs)
        if found:
            raise RunFileError(f"resume refused: {out} holds another comparison: "
                               f"{describe_differences(found, 'here', f'in its {SUMMARY_FILE}')}")
        return
    atomic_write_text(path, json.dumps(dict(listing), indent=2) + "\n")


def _summary(runs: Sequence[tuple[str, AgentSpec, str]], results: Mapping[str, RolloutResult],
             pairs: Mapping[str, str], paired: Mapping[str, Any]) -> dict[str, Any]:
    """``comparison.json``: what was compared and the numbers the tables print."""
    return {
        "runs": {label: {"agent": spec.name, "options": _json_safe(spec.options), "persona_mode": mode,
                         "dir": _slug(label), "n_steps": results[label].metrics["n_steps"],
                         "n_sessions": results[label].metrics["n_sessions"],
                         "bootstrap": results[label].metrics.get("bootstrap"),
                         "headline": results[label].metrics["headline"],
                         **({"uses_hidden_state": True} if spec.name in HIDDEN_STATE_AGENTS else {})}
                 for label, spec, mode in runs},
        "paired": {label: {"baseline": pairs[label], "difference": diffs} for label, diffs in paired.items()},
    }


def _json_safe(options: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(options), default=str))


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label).strip("_")
