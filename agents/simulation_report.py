"""The comparison of a simulated customer with the reference shoppers, as a table and a plot.

Reads what :func:`agents.simulate.compare_with_reference` returns (or its ``comparison.json``):
:func:`comparison_table` writes a Markdown table (every statistic with its 95% bootstrap
interval, then one row per persona), :func:`summary_row` one line per agent for a table across
agents, :func:`plot_comparison` a figure (the action-type and click-type distributions side by
side, and the persona effects with their intervals), written atomically.

Across agents (each folder written by ``examples/simulate.py --out``)::

    python -m agents.simulation_report runs/sim-random runs/sim-frequency runs/sim-r1 runs/sim-ref

Example:
    >>> print(comparison_table(read_comparison("runs/sim")))  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.report import _pyplot, _save
from customer_env.shop.session_metrics import EFFECTS

EFFECT_LABELS = {
    "price_conscious_sort_or_filter_by_price": "price-conscious sort/filter by price",
    "brand_loyal_filter_by_brand": "brand-loyal filter by brand",
    "review_readers_read_reviews": "review readers read reviews",
}


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def reference_label(payload: Mapping[str, Any]) -> str:
    """What the agent was compared with, in words (the reference shoppers, or the recorded sessions).

    Example:
        >>> reference_label({"against": "recorded"})
        "the store's recorded sessions"
    """
    return "the store's recorded sessions" if payload.get("against") == "recorded" else "the reference shoppers"


def cell(entry: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``value [low, high]`` of one statistic (``undefined`` parts as –).

    Example:
        >>> cell({"value": 0.1234, "low": 0.1, "high": 0.2})
        '0.123 [0.100, 0.200]'
    """
    if not entry:
        return "–"
    if entry.get("low") is None:
        return _num(entry.get("value"), digits)
    return f"{_num(entry['value'], digits)} [{_num(entry['low'], digits)}, {_num(entry['high'], digits)}]"


def comparison_table(payload: Mapping[str, Any]) -> str:
    """The comparison of one agent with the reference shoppers, in Markdown."""
    comparison = payload["comparison"]
    overall = comparison["overall"]
    name = payload.get("agent_name", "agent")
    lines = [f"Free-run comparison: `{name}` vs {reference_label(payload)} of the same personas "
             f"({overall['sessions']['run']} and {overall['sessions']['reference']} episodes, "
             f"{overall['steps']['run']} and {overall['steps']['reference']} steps; 95% session-bootstrap intervals)",
             "", "| statistic | agent | reference | agent − reference |", "|---|---|---|---|",
             f"| action-type JSD | {cell(overall['action_type_jsd'], 4)} | | |",
             f"| click-type JSD | {cell(overall['click_type_jsd'], 4)} | | |"]
    for stat, label in (("length", "session length"), ("purchase_rate", "purchase rate")):
        block = overall[stat]
        lines.append(f"| {label} | {cell(block['run'])} | {cell(block['reference'])} | {cell(block['difference'])} |")
    for effect, _, _ in EFFECTS:
        block = overall["effects"][effect]
        label = EFFECT_LABELS[effect]
        for part, what in (("concerned", "rate, personas concerned"), ("others", "rate, other personas"),
                           ("effect", "effect (concerned − others)")):
            entry = block[part]
            lines.append(f"| {label}: {what} | {cell(entry['run'])} | {cell(entry['reference'])} | "
                         f"{cell(entry['difference'])} |")
    per = comparison.get("per_persona", {})
    if per:
        lines += ["", "Per persona (agent vs reference; intervals rest on few episodes each):", "",
                  "| persona | episodes | type JSD | click-type JSD | length | purchase rate | price sort/filter | "
                  "brand filter | reads reviews |", "|---|---|---|---|---|---|---|---|---|"]
        for persona, stats in per.items():
            rates = " | ".join(f"{_num(stats['effects'][e]['rate']['run']['value'], 2)} / "
                               f"{_num(stats['effects'][e]['rate']['reference']['value'], 2)}" for e, _, _ in EFFECTS)
            lines.append(f"| {persona[:8]} | {stats['sessions']['run']} | {cell(stats['action_type_jsd'], 3)} | "
                         f"{cell(stats['click_type_jsd'], 3)} | {_num(stats['length']['run']['value'], 1)} / "
                         f"{_num(stats['length']['reference']['value'], 1)} | "
                         f"{_num(stats['purchase_rate']['run']['value'], 2)} / "
                         f"{_num(stats['purchase_rate']['reference']['value'], 2)} | {rates} |")
    return "\n".join(lines)


def summary_header() -> str:
    """The header of :func:`summary_row`'s table."""
    return ("| agent | action-type JSD | click-type JSD | session length (ref) | purchase rate (ref) | "
            "price effect | brand effect | review effect |\n|---|---|---|---|---|---|---|---|")


def summary_row(payload: Mapping[str, Any]) -> str:
    """One agent's line of a table across agents (every number with its interval)."""
    o = payload["comparison"]["overall"]
    effects = " | ".join(f"{cell(o['effects'][e]['effect']['run'], 2)} (ref {_num(o['effects'][e]['effect']['reference']['value'], 2)})"
                         for e, _, _ in EFFECTS)
    name = str(payload.get("agent_name")) + (" (vs recorded)" if payload.get("against") == "recorded" else "")
    return (f"| {name} | {cell(o['action_type_jsd'], 4)} | {cell(o['click_type_jsd'], 4)} | "
            f"{cell(o['length']['run'], 1)} ({_num(o['length']['reference']['value'], 1)}) | "
            f"{cell(o['purchase_rate']['run'], 2)} ({_num(o['purchase_rate']['reference']['value'], 2)}) | {effects} |")


def plot_comparison(payload: Mapping[str, Any], path: str | Path) -> Path:
    """The distributions (agent vs reference) and the persona effects with intervals, as a PNG."""
    plt = _pyplot()
    overall = payload["comparison"]["overall"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5), gridspec_kw={"width_ratios": [1, 3, 2]})
    for ax, kind, jsd in ((axes[0], "action_type", "action_type_jsd"), (axes[1], "click_type", "click_type_jsd")):
        dist = overall["distributions"][kind]
        keys = [k for k in dist["run"] if dist["run"][k] > 0 or dist["reference"][k] > 0]
        xs = range(len(keys))
        ax.bar([x - 0.2 for x in xs], [dist["run"][k] for k in keys], 0.4, label=payload.get("agent_name", "agent"))
        ax.bar([x + 0.2 for x in xs], [dist["reference"][k] for k in keys], 0.4, label=reference_label(payload))
        ax.set_xticks(list(xs), keys, rotation=45, ha="right")
        ax.set_ylabel("share")
        ax.set_title(f"{kind.replace('_', ' ')} (JSD {cell(overall[jsd], 3)})", fontsize=9)
        ax.legend(fontsize=8)
    ax = axes[2]
    effects = [e for e, _, _ in EFFECTS]
    for offset, side, label in ((-0.2, "run", payload.get("agent_name", "agent")), (0.2, "reference", "reference")):
        values, errors = [], [[], []]
        for effect in effects:
            entry = overall["effects"][effect]["effect"][side]
            value = entry.get("value") or 0.0
            values.append(value)
            errors[0].append(value - entry["low"] if entry.get("low") is not None else 0.0)
            errors[1].append(entry["high"] - value if entry.get("high") is not None else 0.0)
        ax.bar([i + offset for i in range(len(effects))], values, 0.4, yerr=errors, capsize=3, label=label)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(effects)), [EFFECT_LABELS[e] for e in effects], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("rate, personas concerned − others (95% CI)")
    ax.set_title("persona effects", fontsize=9)
    ax.legend(fontsize=8)
    fig.suptitle(f"{payload.get('agent_name')} vs {reference_label(payload)}: {overall['sessions']['run']} episodes", fontsize=10)
    fig.tight_layout()
    return _save(fig, Path(path))


def summary_table(payloads: Sequence[Mapping[str, Any]]) -> str:
    """Several agents' comparisons, one line each."""
    return "\n".join([summary_header(), *(summary_row(p) for p in payloads)])


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`summary_table` of the comparison folders named on the command line."""
    from agents.run_files import RunFileError
    from agents.simulate import read_comparison
    from customer_env.command_line import CommandLineParser, existing_directory, one_line

    parser = CommandLineParser(prog="python -m agents.simulation_report",
                               description="One line per agent of several examples/simulate.py comparisons.")
    parser.add_argument("folders", nargs="+", type=existing_directory, help="--out folders of examples/simulate.py")
    args = parser.parse_args(argv)
    try:
        payloads = [read_comparison(folder) for folder in args.folders]
    except RunFileError as exc:
        print(f"{parser.prog}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    against = {p.get("against", "reference_shopper") for p in payloads}
    if len(against) > 1:
        print("simulation_report: note: these folders compare with different references "
              f"({', '.join(sorted(against))})", file=sys.stderr)
    print(summary_table(payloads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
