"""Human-readable views of metrics: a Markdown table per run, one across runs, and a plot.

Example:
    >>> print(metrics_table(result.metrics))  # doctest: +SKIP
    | metric | value | 95% CI |
    ...
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from agents.registry import CEILING_MARK
from customer_env.constants import ACTION_TYPES, CLICK_TYPES
from customer_env.metrics import HEADLINE, INVALID, ClickTypeLookup, StepRecord, distributions, small_sample_warning

#: Columns of the comparison table: (header, path into the metrics dict). Definitions: docs/METRICS.md.
COMPARISON_COLUMNS = (
    ("exact", ("headline", "exact_match", "value")),
    ("type acc", ("headline", "action_type_accuracy", "value")),
    ("type F1 macro", ("headline", "action_type_macro_f1", "value")),
    ("type F1 weighted", ("headline", "action_type_weighted_f1", "value")),
    ("click-type F1 macro", ("headline", "click_type_macro_f1", "value")),
    ("fine-grained acc", ("headline", "fine_grained_accuracy", "value")),
    ("session outcome wF1", ("headline", "session_outcome_weighted_f1", "value")),
    ("format valid", ("headline", "format_validity", "value")),
    ("grounded", ("headline", "grounding_rate", "value")),
    ("type JSD", ("fidelity", "action_type_jsd")),
    ("click-type JSD", ("fidelity", "click_type_jsd")),
)


#: The paired-difference table's columns: the headline ones of COMPARISON_COLUMNS.
PAIRED_COLUMNS = tuple((h, path[1]) for h, path in COMPARISON_COLUMNS if path[0] == "headline")


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"


def _grounding_checked(metrics: Mapping[str, Any]) -> bool:
    # Results written before grounding was measured have no "grounding" section.
    return bool(metrics.get("grounding", {}).get("checked", 0))


def _resamples(metrics: Mapping[str, Any]) -> int | None:
    """Bootstrap resamples behind the intervals (None: results written before this was recorded)."""
    return metrics.get("bootstrap", {}).get("resamples")


def interval(entry: Mapping[str, Any], resamples: int | None = None, *, fmt: Any = _pct) -> str:
    """``[low, high]`` of a headline entry; ``undefined`` without one (a single session);
    ``not computed`` with no resamples (``--bootstrap 0``).

    Example:
        >>> interval({"value": 0.5, "low": 0.25, "high": 0.75})
        '[25.00, 75.00]'
        >>> interval({"value": 1.0, "low": None, "high": None})
        'undefined'
    """
    if resamples == 0:
        return "not computed"
    if entry.get("low") is None or entry.get("high") is None:
        return "undefined"
    return f"[{fmt(entry['low'])}, {fmt(entry['high'])}]"


def _excludes_zero(entry: Mapping[str, Any]) -> bool:
    low, high = entry.get("low"), entry.get("high")
    return low is not None and high is not None and (low > 0 or high < 0)


def _cell(entry: Mapping[str, Any], resamples: int | None, *, paired: bool = False) -> str:
    if paired:
        mark = " *" if resamples != 0 and _excludes_zero(entry) else ""
        return f"{_points(entry['value'])} {interval(entry, resamples, fmt=_points)}{mark}"
    return f"{_pct(entry['value'])} {interval(entry, resamples)}"


def notes(metrics: Sequence[Mapping[str, Any]]) -> list[str]:
    """The lines printed under a table: how the intervals were drawn, and any small-sample warning.

    The warning is :func:`customer_env.metrics.small_sample_warning` of the fewest sessions.
    """
    lines = []
    resamples = {_resamples(m) for m in metrics}
    sessions = min((int(m["n_sessions"]) for m in metrics), default=0)
    if resamples == {0}:
        lines.append("No confidence intervals: bootstrap resamples set to 0.")
    elif sessions < 2:
        lines.append("No confidence intervals: a session bootstrap needs at least two sessions.")
    else:
        known = sorted(r for r in resamples if r)
        drawn = f"{known[0]} resamples of the {sessions} sessions" if len(known) == 1 else "resampled sessions"
        lines.append(f"95% session-bootstrap intervals in brackets ({drawn}).")
    warning = small_sample_warning(sessions)
    if warning is not None:
        lines.append(f"WARNING: {warning}.")
    return lines


def metrics_table(metrics: Mapping[str, Any], *, paired: Mapping[str, Mapping[str, Any]] | None = None,
                  baseline: str | None = None) -> str:
    """A Markdown table of one run: headline numbers (percent) with their bootstrap intervals.

    Args:
        metrics: A run's metrics (``customer_env.metrics.evaluate``).
        paired: This run minus the baseline run, per headline metric
            (``customer_env.metrics.paired_difference``): adds a column of paired differences.
        baseline: The baseline run's label (for the column's header).
    """
    resamples = _resamples(metrics)
    diff_header = f" | minus {baseline or 'baseline'} (points) [paired 95% CI]" if paired is not None else ""
    rows = [f"| metric | value | 95% CI{diff_header} |", "|---|---:|---|" + ("---|" if paired is not None else "")]
    for name in HEADLINE:
        entry = metrics["headline"].get(name)
        unmeasured = entry is None or (name == "grounding_rate" and not _grounding_checked(metrics))
        diff = ""
        if paired is not None:
            diff = " | n/a" if unmeasured or name not in paired else f" | {_cell(paired[name], resamples, paired=True)}"
        if unmeasured:
            rows.append(f"| {name} | n/a | not measured{diff} |")
            continue
        rows.append(f"| {name} | {_pct(entry['value'])} | {interval(entry, resamples)}{diff} |")
    extra = " |" if paired is not None else ""
    for label, value in sorted(metrics["exact_match_by_action_type"].items()):
        rows.append(f"| exact_match[{label}] | {_pct(value)} | |{extra}")
    outcome = metrics.get("session_outcome", {})
    if "any_step_purchase" in outcome:
        rows.append(f"| purchase at any step F1 (not the paper's outcome) | "
                    f"{_pct(outcome['any_step_purchase']['purchase_f1'])} | |{extra}")
    rationale = metrics["rationale_similarity"]
    rows.append(f"| rationale ROUGE-L (n={rationale['n']}) | {_pct(rationale['rouge_l'])} | |{extra}")
    fid = metrics["fidelity"]
    rows.append(f"| action-type JSD / click-type JSD | {fid['action_type_jsd']:.3f} / {fid['click_type_jsd']:.3f} | |{extra}")
    rows.append(f"| session length human / agent | {fid['human_mean_session_length']:.2f} / "
                f"{fid['agent_mean_session_length']:.2f} | |{extra}")
    rows.append(f"| purchase rate human / agent | {_pct(fid['human_purchase_rate'])} / "
                f"{_pct(fid['agent_purchase_rate'])} | |{extra}")
    rows.append(f"| steps / sessions | {metrics['n_steps']} / {metrics['n_sessions']} | |{extra}")
    lines = notes([metrics])
    if paired is not None:
        lines.append(_paired_note(baseline))
    return "\n".join(rows) + "\n\n" + "\n".join(lines)


def _paired_note(baseline: str | None) -> str:
    return (f"Paired differences: this run minus {baseline or 'the baseline'}, in percentage points, with the 95% "
            "interval of the same resampled sessions for both runs; * marks an interval that excludes 0.")


def _get(metrics: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = metrics
    for key in path:
        value = value[key]
    return value


def _escape(label: str) -> str:
    return label.replace("|", "\\|")


def comparison_table(runs: Sequence[tuple[str, Mapping[str, Any]]], *,
                     paired: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                     baseline: str | Mapping[str, str] | None = None,
                     ceiling: Iterable[str] = ()) -> str:
    """Markdown: one row per ``(label, metrics)`` with each headline number's 95% session-bootstrap
    interval; then, with ``paired``, each run minus its baseline with the paired interval; then
    the notes (how the intervals were drawn, a small-sample warning).

    Rates in percent, differences in percentage points, JSDs in [0, 1] (lower is better).

    Args:
        runs: ``(label, metrics)`` per run, in table order.
        paired: Label -> headline metric -> ``{"value", "low", "high"}`` of that run minus its
            baseline (``customer_env.metrics.paired_difference``); a run missing here gets no row.
        baseline: The baseline run's label, or label -> its baseline's label when runs have
            different baselines (persona ablations paired mode by mode): a column then names it.
        ceiling: Labels of runs whose agent reads hidden state no agent observes (the oracles,
            ``agents.registry.HIDDEN_STATE_AGENTS``): their rows are marked as ceilings.
    """
    ceiling = set(ceiling)
    header = "| agent | " + " | ".join(h for h, _ in COMPARISON_COLUMNS) + " | steps | sessions |"
    rows = [header, "|---|" + "---:|" * (len(COMPARISON_COLUMNS) + 2)]
    for label, metrics in runs:
        resamples = _resamples(metrics)
        cells = []
        for header_name, path in COMPARISON_COLUMNS:
            try:
                value = _get(metrics, path)
            except KeyError:  # results written before this metric existed
                cells.append("n/a")
                continue
            if header_name == "grounded" and not _grounding_checked(metrics):
                cells.append("n/a")
            elif path[0] == "headline":
                cells.append(_cell(_get(metrics, path[:2]), resamples))
            else:
                cells.append(f"{value:.3f}")
        shown = f"{label} ({CEILING_MARK})" if label in ceiling else label
        rows.append(f"| {_escape(shown)} | " + " | ".join(cells) + f" | {metrics['n_steps']} | {metrics['n_sessions']} |")
    lines = notes([m for _, m in runs])
    if ceiling & {label for label, _ in runs}:
        lines.append("Ceiling rows know the generator's hidden session state (the latent draws no observation "
                     "shows): an upper bound for the store, not a competitor.")
    if paired:
        by_label = dict(runs)
        per_run = isinstance(baseline, Mapping)
        first = "run | minus" if per_run else f"minus {_escape(str(baseline or 'baseline'))}"
        rows += ["", f"| {first} | " + " | ".join(h for h, _ in PAIRED_COLUMNS) + " |",
                 "|---|" + ("---|" if per_run else "") + "---:|" * len(PAIRED_COLUMNS)]
        for label, diffs in paired.items():
            metrics = by_label.get(label, {})
            resamples = _resamples(metrics) if metrics else None
            cells = ["n/a" if name not in diffs or (name == "grounding_rate" and not _grounding_checked(metrics))
                     else _cell(diffs[name], resamples, paired=True) for _, name in PAIRED_COLUMNS]
            name = f"{_escape(label)} | {_escape(baseline[label])}" if per_run else _escape(label)  # type: ignore[index]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append(_paired_note(None if per_run else str(baseline) if baseline else None)
                     .replace("this run", "each run").replace("the baseline", "its baseline"))
    return "\n".join(rows) + "\n\n" + "\n".join(lines)


def require_matplotlib() -> None:
    """Refuse, before any work, a run whose plots cannot be drawn (matplotlib is the compare extra).

    Raises:
        ImportError: naming the extra to install.
    """
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError("the comparison's plots need matplotlib: pip install 'customer-r1[compare]'")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Write the figure atomically (a temporary file renamed into place) and close it."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


def _basis(n_steps: int, n_sessions: int, *, width: int = 100) -> str:
    """What a figure rests on, and the small-sample warning (wrapped to ``width``) when there is one."""
    import textwrap

    text = f"{n_steps} steps, {n_sessions} sessions"
    warning = small_sample_warning(n_sessions)
    return text + ("\n" + textwrap.fill(f"WARNING: {warning}", width) if warning else "")


def plot_distributions(runs: Sequence[tuple[str, Sequence[StepRecord]]], lookup: ClickTypeLookup,
                       path: str | Path) -> Path:
    """Bar charts of action-type and click-type shares: the humans' (the reference) against each run's agent.

    The human bars come from the first run (every run replays the same steps) and are drawn as
    the reference: grey, hatched, first in each group, with a tick across the whole group. The
    title says how many steps and sessions the shares rest on. Written with the Agg backend,
    atomically.
    """
    import numpy as np

    plt = _pyplot()
    path = Path(path)
    if not runs:
        raise ValueError("plot_distributions needs at least one run")
    dists = [(label, distributions(records, lookup)) for label, records in runs]
    first = runs[0][1]
    n_sessions = len({r.session_id for r in first})
    series = [("human (reference)", dists[0][1]["action_type"]["human"], dists[0][1]["click_type"]["human"])]
    series += [(label, d["action_type"]["agent"], d["click_type"]["agent"]) for label, d in dists]
    panels = (("action type", (*ACTION_TYPES, INVALID), 1), ("click type", CLICK_TYPES, 2))
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(CLICK_TYPES)), 8.6), constrained_layout=True)
    width = 0.8 / len(series)
    for ax, (title, categories, which) in zip(axes, panels):
        x = np.arange(len(categories))
        for k, entry in enumerate(series):
            counts: Counter = entry[which]
            total = sum(counts.values()) or 1
            shares = [counts.get(c, 0) / total for c in categories]
            offset = x + k * width - 0.4 + width / 2
            if k == 0:
                ax.bar(offset, shares, width, label=f"{entry[0]}, n={sum(counts.values())}", color="0.75",
                       edgecolor="black", hatch="//", linewidth=0.8, zorder=2)
                ax.hlines(shares, x - 0.4, x + 0.4, colors="black", linestyles="dotted", linewidth=1, zorder=3)
            else:
                ax.bar(offset, shares, width, label=entry[0], zorder=2)
        ax.set_xticks(x, categories, rotation=30 if which == 2 else 0, ha="right" if which == 2 else "center")
        ax.set_ylabel("share")
        ax.set_title(f"{title} distribution: human reference (hatched, dotted line) vs agents")
        ax.legend(fontsize="small")
    fig.suptitle(f"Behaviour distributions on {_basis(len(first), n_sessions)}", fontsize="medium")
    return _save(fig, path)


def plot_exact_match(runs: Sequence[tuple[str, Mapping[str, Any]]], path: str | Path, *,
                     baseline: str | None = None) -> Path:
    """Exact match per run with its 95% session-bootstrap interval, one horizontal bar each.

    Each bar is annotated with its value and interval; the baseline run's value is a dashed
    line. The title says how many steps and sessions the numbers rest on (the fewest of the
    runs) and carries the small-sample warning. Written with the Agg backend, atomically.

    Args:
        runs: ``(label, metrics)`` per run (``customer_env.metrics.evaluate``), top to bottom.
        path: The PNG to write.
        baseline: The label of the baseline run (marked), if any.
    """
    plt = _pyplot()
    path = Path(path)
    if not runs:
        raise ValueError("plot_exact_match needs at least one run")
    labels = [label for label, _ in runs]
    entries = [m["headline"]["exact_match"] for _, m in runs]
    values = [100 * e["value"] for e in entries]
    has_interval = [e.get("low") is not None and e.get("high") is not None and _resamples(m) != 0
                    for e, (_, m) in zip(entries, runs)]
    lows = [100 * (e["value"] - e["low"]) if ok else 0.0 for e, ok in zip(entries, has_interval)]
    highs = [100 * (e["high"] - e["value"]) if ok else 0.0 for e, ok in zip(entries, has_interval)]
    y = list(range(len(runs)))[::-1]
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.55 * len(runs)), constrained_layout=True)
    colors = ["tab:orange" if label == baseline else "tab:blue" for label in labels]
    ax.barh(y, values, color=colors, height=0.6, zorder=2)
    ax.errorbar(values, y, xerr=[lows, highs], fmt="none", ecolor="black", capsize=4, zorder=3)
    top = max([100 * e["high"] for e, ok in zip(entries, has_interval) if ok] + values + [1.0])
    for yi, e, ok, v in zip(y, entries, has_interval, values):
        text = f"{v:.1f}% [{100 * e['low']:.1f}, {100 * e['high']:.1f}]" if ok else f"{v:.1f}% (no interval)"
        ax.text(v + 100 * (e["high"] - e["value"] if ok else 0) + top * 0.02, yi, text, va="center", fontsize="small")
    if baseline in labels:
        ax.axvline(values[labels.index(baseline)], color="tab:orange", linestyle="--", linewidth=1,
                   label=f"baseline: {baseline}")
        ax.legend(fontsize="small", loc="lower right")
    ax.set_yticks(y, labels)
    ax.set_xlim(0, min(100.0, top * 1.45) if top < 60 else 100.0)
    ax.set_xlabel("exact match (%), 95% session-bootstrap interval")
    ax.grid(axis="x", linestyle=":", zorder=0)
    n_steps = min(int(m["n_steps"]) for _, m in runs)
    n_sessions = min(int(m["n_sessions"]) for _, m in runs)
    ax.set_title(f"Next-action exact match per agent on {_basis(n_steps, n_sessions, width=80)}", fontsize="medium")
    return _save(fig, path)
