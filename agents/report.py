"""Human-readable views of metrics: a Markdown table per run, one across runs, and a plot.

Example:
    >>> print(metrics_table(result.metrics))  # doctest: +SKIP
    | metric | value | 95% CI |
    ...
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from customer_env.constants import ACTION_TYPES, CLICK_TYPES
from customer_env.metrics import HEADLINE, INVALID, ClickTypeLookup, StepRecord, distributions

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


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _grounding_checked(metrics: Mapping[str, Any]) -> bool:
    # Results written before grounding was measured have no "grounding" section.
    return bool(metrics.get("grounding", {}).get("checked", 0))


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """A Markdown table of one run: headline numbers (percent) with their bootstrap intervals."""
    rows = ["| metric | value | 95% CI |", "|---|---:|---|"]
    for name in HEADLINE:
        entry = metrics["headline"].get(name)
        if entry is None or (name == "grounding_rate" and not _grounding_checked(metrics)):
            rows.append(f"| {name} | n/a | not measured |")
            continue
        rows.append(f"| {name} | {_pct(entry['value'])} | [{_pct(entry['low'])}, {_pct(entry['high'])}] |")
    for label, value in sorted(metrics["exact_match_by_action_type"].items()):
        rows.append(f"| exact_match[{label}] | {_pct(value)} | |")
    outcome = metrics.get("session_outcome", {})
    if "any_step_purchase" in outcome:
        rows.append(f"| purchase at any step F1 (not the paper's outcome) | "
                    f"{_pct(outcome['any_step_purchase']['purchase_f1'])} | |")
    rationale = metrics["rationale_similarity"]
    rows.append(f"| rationale ROUGE-L (n={rationale['n']}) | {_pct(rationale['rouge_l'])} | |")
    fid = metrics["fidelity"]
    rows.append(f"| action-type JSD / click-type JSD | {fid['action_type_jsd']:.3f} / {fid['click_type_jsd']:.3f} | |")
    rows.append(f"| session length human / agent | {fid['human_mean_session_length']:.2f} / "
                f"{fid['agent_mean_session_length']:.2f} | |")
    rows.append(f"| purchase rate human / agent | {_pct(fid['human_purchase_rate'])} / "
                f"{_pct(fid['agent_purchase_rate'])} | |")
    rows.append(f"| steps / sessions | {metrics['n_steps']} / {metrics['n_sessions']} | |")
    return "\n".join(rows)


def _get(metrics: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = metrics
    for key in path:
        value = value[key]
    return value


def comparison_table(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """One Markdown row per ``(label, metrics)``; rates in percent, JSDs in [0, 1] (lower is better)."""
    header = "| agent | " + " | ".join(h for h, _ in COMPARISON_COLUMNS) + " | steps |"
    rows = [header, "|---|" + "---:|" * (len(COMPARISON_COLUMNS) + 1)]
    for label, metrics in runs:
        cells = []
        for header_name, path in COMPARISON_COLUMNS:
            try:
                value = _get(metrics, path)
            except KeyError:  # results written before this metric existed
                cells.append("n/a")
                continue
            if header_name == "grounded" and not _grounding_checked(metrics):
                cells.append("n/a")
            else:
                cells.append(f"{value:.3f}" if "JSD" in header_name else _pct(value))
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {metrics['n_steps']} |")
    return "\n".join(rows)


def plot_distributions(runs: Sequence[tuple[str, Sequence[StepRecord]]], lookup: ClickTypeLookup,
                       path: str | Path) -> Path:
    """Bar charts of action-type and click-type shares: the humans' against each run's agent.

    The human bars come from the first run (every run replays the same steps). Written with the
    Agg backend, atomically (a temporary file renamed into place).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(path)
    if not runs:
        raise ValueError("plot_distributions needs at least one run")
    dists = [(label, distributions(records, lookup)) for label, records in runs]
    series = [("human", dists[0][1]["action_type"]["human"], dists[0][1]["click_type"]["human"])]
    series += [(label, d["action_type"]["agent"], d["click_type"]["agent"]) for label, d in dists]
    panels = (("action type", (*ACTION_TYPES, INVALID), 1), ("click type", CLICK_TYPES, 2))
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(CLICK_TYPES)), 8), constrained_layout=True)
    width = 0.8 / len(series)
    for ax, (title, categories, which) in zip(axes, panels):
        x = np.arange(len(categories))
        for k, entry in enumerate(series):
            counts: Counter = entry[which]
            total = sum(counts.values()) or 1
            ax.bar(x + k * width - 0.4 + width / 2, [counts.get(c, 0) / total for c in categories], width,
                   label=entry[0])
        ax.set_xticks(x, categories, rotation=30 if which == 2 else 0, ha="right" if which == 2 else "center")
        ax.set_ylabel("share")
        ax.set_title(f"{title} distribution: human vs agents")
        ax.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
