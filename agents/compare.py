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

Results land in ``out_dir``: ``comparison.md`` (the tables), ``comparison.json`` (labels, agent
options, headline numbers and paired differences), ``distributions.png``, ``exact_match.png``
and, per run, ``<label>/samples.jsonl`` and ``<label>/results.json``.

Example:
    >>> runs = compare(["random", "frequency"], RolloutConfig(sessions=5), baseline="frequency",
    ...                out_dir="runs/cmp")  # doctest: +SKIP
    >>> print(runs.table)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.agent_spec import AgentSpec, AgentSpecError, agent_specs, parse_agent_spec, resolve_baseline
from agents.report import comparison_table, plot_distributions, plot_exact_match
from agents.rollout import (RolloutConfig, RolloutResult, click_type_lookup, make_agent, make_env, open_stores,
                            plan_evaluation, run_rollout, write_rollout)
from customer_env.cache import atomic_write_text
from customer_env.metrics import paired_difference

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
            baseline: str | None = None, progress: bool = True) -> Comparison:
    """Run each agent (and, with ``ablations``, each persona mode) on the same sessions.

    Args:
        agents: Agent names, specs as text (``NAME:KEY=VALUE,...``) or :class:`AgentSpec`.
        config: The shared rollout configuration (its ``persona_mode`` is used without ablations).
        ablations: Also run every agent with ``persona_mode`` ``none`` and ``shuffled``.
        out_dir: Where to write the tables, the plots and each run's files (None: nothing written).
        agent_kwargs: Extra keyword arguments per agent name (a spec's own options win).
        baseline: A run label or agent name: pair every other run with it.
        progress: Show the rollouts' progress bars (each labelled with its run).

    Raises:
        AgentSpecError: before any run, for an unknown agent, a bad option or a bad baseline.
    """
    if not agents:
        raise AgentSpecError("compare needs at least one agent")
    if out_dir is not None:
        _require_matplotlib()  # before any agent runs, not after all of them
    config = config or RolloutConfig()
    runs, pairs = plan_runs(agents, ablations=ablations, persona_mode=config.persona_mode, baseline=baseline,
                            agent_kwargs=agent_kwargs)
    plan = plan_evaluation(config, {spec.label: (spec.name, spec.options) for _, spec, _ in runs})
    config = plan.config
    store, train_store = open_stores(config)
    probe = make_env(config, store, config.sessions)
    config = replace(config, sessions=list(probe.unwrapped.session_ids))
    probe.close()
    results: dict[str, RolloutResult] = {}
    for label, spec, mode in runs:
        run_config = replace(config, persona_mode=mode)
        agent = make_agent(spec.name, run_config, train_store=train_store, **plan.agent_kwargs[spec.label])
        result = run_rollout(agent, run_config, store=store, train_store=train_store, progress=progress, desc=label)
        result.info["agent_name"] = spec.name
        result.info["conditions"]["notes"] = plan.notes
        result.info["label"] = label
        result.info["agent_options"] = _json_safe(spec.options)
        results[label] = result
    lookup = click_type_lookup(train_store, store)
    records = {label: r.records() for label, r in results.items()}
    paired = {label: paired_difference(records[label], records[base], lookup, n_bootstrap=config.n_bootstrap,
                                       seed=config.seed) for label, base in pairs.items()}
    base_names = sorted(set(pairs.values()))
    table = comparison_table([(label, r.metrics) for label, r in results.items()], paired=paired,
                             baseline=base_names[0] if len(base_names) == 1 else dict(pairs) or None)
    out = Path(out_dir) if out_dir is not None else None
    plot = exact_plot = None
    if out is not None:
        for label, result in results.items():
            write_rollout(result, out / _slug(label))
        atomic_write_text(out / TABLE_FILE, table + "\n")
        atomic_write_text(out / SUMMARY_FILE, json.dumps(_summary(runs, results, pairs, paired), indent=2) + "\n")
        plot = plot_distributions([(label, records[label]) for label in results], lookup, out / DISTRIBUTIONS_PLOT)
        exact_plot = plot_exact_match([(label, r.metrics) for label, r in results.items()], out / EXACT_MATCH_PLOT,
                                      baseline=base_names[0] if len(base_names) == 1 else None)
    return Comparison(results, table, plot, out, pairs, paired, exact_plot, [spec for _, spec, _ in runs], plan.notes)


def _summary(runs: Sequence[tuple[str, AgentSpec, str]], results: Mapping[str, RolloutResult],
             pairs: Mapping[str, str], paired: Mapping[str, Any]) -> dict[str, Any]:
    """``comparison.json``: what was compared and the numbers the tables print."""
    return {
        "runs": {label: {"agent": spec.name, "options": _json_safe(spec.options), "persona_mode": mode,
                         "dir": _slug(label), "n_steps": results[label].metrics["n_steps"],
                         "n_sessions": results[label].metrics["n_sessions"],
                         "bootstrap": results[label].metrics.get("bootstrap"),
                         "headline": results[label].metrics["headline"]}
                 for label, spec, mode in runs},
        "paired": {label: {"baseline": pairs[label], "difference": diffs} for label, diffs in paired.items()},
    }


def _json_safe(options: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(options), default=str))


def _require_matplotlib() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError("the comparison's plots need matplotlib: pip install 'customer-r1[compare]'")


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label).strip("_")
