"""Prompt budgets: what fits in 8k, 16k, 32k and 65k tokens, ours against the naive way.

For every click, input and terminate step of the sampled sessions, the prompt is built twice at
each budget, with the same token estimator (the renderer's default, ``CharRatioCounter``):

* **ours**: :func:`customer_env.prompt.render_observation` (compressed pages, every past action
  kept, past pages dropped oldest first, the current page shortened label by label);
* **naive**, as earlier reimplementations built it: raw pages, the oldest history steps (action
  and page) dropped first, then the current page cut from its end to fit.

Reported per budget and method: the median and largest prompt, how often the prompt is within the
budget, gold-element reachability (the gold name of a click or input step appears as a
``name="..."`` attribute in the rendered current page: otherwise no policy can answer) and the
past pages kept. Target: at 16k tokens ours reaches at least 99.5% of the gold elements, where
the naive way falls short even at 65k.

Usage::

    python benchmarks/prompt_budget.py                       # the default store, every session
    python benchmarks/prompt_budget.py --sessions 100 --out runs/prompt_budget.json
    python benchmarks/prompt_budget.py --store DIR --split test
    python benchmarks/prompt_budget.py --quick               # seconds: checks that it runs

Example:
    >>> name_on_page("search_result.product_title", '<a name="search_result.product_title">x</a>')
    True
    >>> name_on_page("reviews", '<a name="reviews.all">x</a>')
    False
"""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import add_common_options, bench_store, even_sample, machine, markdown_table
from benchmarks._common import median, report, verdict
from customer_env.command_line import CommandLineParser, positive_int

BUDGETS = (8192, 16384, 32768, 65536)
TARGET_BUDGET = 16384
TARGET_REACH = 0.995
QUICK = {"users": 2, "sessions": 3, "page_scale": 0.05}


def name_on_page(name: str, page_text: str) -> bool:
    """Whether ``name`` is an element's ``name`` attribute in the page text (either quote, raw or
    HTML-escaped), so a prefix of a longer name does not count."""
    return name_offset(name, page_text) >= 0


def name_offset(name: str, page_text: str) -> int:
    """Character offset of the first ``name="..."`` attribute holding ``name`` (-1: absent)."""
    forms = {name, html.escape(name, quote=True), name.replace('"', "&quot;")}
    found = [page_text.find(f"name={q}{form}{q}") for form in forms for q in ('"', "'")]
    return min((offset for offset in found if offset >= 0), default=-1)


@dataclass
class Tally:
    """What one method produced at one budget, over all steps."""

    tokens: list[int] = field(default_factory=list)
    within: int = 0
    targets: int = 0
    reachable: int = 0
    pages_kept: int = 0
    pages_available: int = 0

    def add(self, tokens: int, budget: int, gold: str | None, page_text: str, kept: int, available: int) -> None:
        self.tokens.append(tokens)
        self.within += tokens <= budget
        self.pages_kept += kept
        self.pages_available += available
        if gold:
            self.targets += 1
            self.reachable += name_on_page(gold, page_text)

    @property
    def reach(self) -> float:
        return self.reachable / self.targets if self.targets else 1.0

    def summary(self) -> dict[str, Any]:
        steps = len(self.tokens)
        return {"steps": steps, "median_tokens": median(self.tokens), "max_tokens": max(self.tokens, default=0),
                "within_budget": self.within / steps if steps else 1.0, "gold_targets": self.targets,
                "gold_reachable": self.reachable, "reachability": self.reach,
                "mean_pages_kept": self.pages_kept / steps if steps else 0.0,
                "mean_pages_available": self.pages_available / steps if steps else 0.0}


def step_line(index: int, action: Any, rationale: str | None) -> str:
    """A past step as one history line (the renderer's format: ``Step N: {json} | Rationale: ...``)."""
    from customer_env.prompt import action_json

    line = f"Step {index + 1}: {action_json(action)}"
    if rationale and rationale.strip():
        line += " | Rationale: " + " ".join(rationale.split())
    return line


def naive_prompt(persona: str, history: Sequence[tuple[str, str]], page: str, url: str, budget: int,
                 counter: Any) -> tuple[dict[str, str], int, int]:
    """The naive prompt: raw pages, oldest history steps dropped first, then the page cut from its end.

    Args:
        persona: Persona text.
        history: ``(step line, raw page)`` of every past step, oldest first.
        page: The current raw page.
        url: The current URL.
        budget: Token budget of the whole prompt (same template margin as the renderer's).
        counter: The token estimator.

    Returns:
        ``(observation, prompt tokens, history steps kept)``.
    """
    from customer_env.prompt import build_messages
    from customer_env.prompt.render import DEFAULT_TEMPLATE_MARGIN

    def assemble(kept: Sequence[tuple[str, str]], page_text: str) -> dict[str, str]:
        history_text = "\n".join(f"Page before step {i + 1}:\n{raw}\n{line}" for i, (line, raw) in kept)
        return {"persona": persona, "history": history_text, "url": url, "page": page_text}

    def total(observation: dict[str, str]) -> int:
        return sum(counter.count(m["content"]) for m in build_messages(observation)) + DEFAULT_TEMPLATE_MARGIN

    indexed = list(enumerate(history))
    room = budget - total(assemble([], page))
    kept: list[tuple[int, tuple[str, str]]] = []
    for i, (line, raw) in reversed(indexed):  # keeping the newest that fit = dropping the oldest
        cost = counter.count(f"\nPage before step {i + 1}:\n{raw}\n{line}")
        if cost > room:
            break
        kept.insert(0, (i, (line, raw)))
        room -= cost
    observation = assemble(kept, page)
    tokens = total(observation)
    while tokens > budget and kept:  # estimates are not exactly additive at the joins
        kept.pop(0)
        observation = assemble(kept, page)
        tokens = total(observation)
    cut = page
    while tokens > budget and cut:
        over_chars = int((tokens - budget) * getattr(counter, "chars_per_token", 1.0)) + 1
        cut = cut[: max(0, len(cut) - over_chars)]
        observation = assemble(kept, cut)
        tokens = total(observation)
    return observation, tokens, len(kept)


def measure(store: Any, session_ids: Sequence[str], budgets: Sequence[int], progress: bool = True
            ) -> tuple[dict[tuple[int, str], Tally], dict[str, int], list[int]]:
    """Render every scored step of the sessions at every budget, both ways."""
    from tqdm.auto import tqdm

    from customer_env.env import is_scored
    from customer_env.prompt import HistoryItem, compress_page, default_counter, render_observation

    counter = default_counter()
    tallies = {(budget, method): Tally() for budget in budgets for method in ("ours", "naive")}
    counts = {"steps": 0, "gold_targets": 0, "gold_on_raw_page": 0}
    offsets: list[int] = []
    for sid in tqdm(session_ids, desc="sessions", unit="session", disable=not progress):
        session = store.session(sid)
        persona = store.users[session.user_id].persona.to_text()
        raw = store.pages(sid)
        compressed = [compress_page(page) for page in raw]
        items = [HistoryItem(action=s.action, rationale=s.rationale, url=s.url or "", compressed=c)
                 for s, c in zip(session.steps, compressed)]
        lines = [step_line(i, item.action, item.rationale) for i, item in enumerate(items)]
        for i, step in enumerate(session.steps):
            if not is_scored(step):
                continue
            gold = step.action.name if step.action.type in ("click", "input") else None
            counts["steps"] += 1
            if gold:
                counts["gold_targets"] += 1
                offset = name_offset(gold, raw[i])
                counts["gold_on_raw_page"] += offset >= 0
                if offset >= 0:
                    offsets.append(offset)
            naive_history = list(zip(lines[:i], raw[:i]))
            for budget in budgets:
                ours = render_observation(persona, items[:i], compressed[i], url=step.url or "",
                                          max_tokens=budget, counter=counter)
                tallies[(budget, "ours")].add(ours.prompt_tokens, budget, gold, ours.observation["page"],
                                              ours.report.history_pages_kept,
                                              ours.report.history_pages_available)
                observation, tokens, kept = naive_prompt(persona, naive_history, raw[i], step.url or "",
                                                         budget, counter)
                tallies[(budget, "naive")].add(tokens, budget, gold, observation["page"], kept, i)
    return tallies, counts, offsets


def budget_list(text: str) -> list[int]:
    """``--budgets``: comma-separated positive token budgets, sorted and without repeats."""
    try:
        budgets = sorted({int(b) for b in text.split(",") if b.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not budgets or budgets[0] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least one budget, each positive")
    return budgets


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table and return the results."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser)
    parser.add_argument("--split", default="both", choices=("train", "test", "both"))
    parser.add_argument("--sessions", type=positive_int, default=None,
                        help="render this many sessions per split (even, deterministic sample); default all")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), type=budget_list,
                        help="comma-separated token budgets")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from customer_env.data import open_store

    budgets = args.budgets
    if args.quick:
        source = args.store or str(bench_store(args.store_root, test_fraction=0.3, progress=False, **QUICK))
    else:
        source = args.store  # None: the embedded default store (generated into the cache on first use)
    splits = ("train", "test") if args.split == "both" else (args.split,)
    tallies: dict[tuple[int, str], Tally] = {}
    counts = {"steps": 0, "gold_targets": 0, "gold_on_raw_page": 0}
    sessions = 0
    offsets: list[int] = []
    description = []
    for split in splits:
        store = open_store(source, split=split)
        description.append(store.description)
        chosen = even_sample(store.session_ids, 2 if args.quick else args.sessions)
        sessions += len(chosen)
        split_tallies, split_counts, split_offsets = measure(store, chosen, budgets, progress=not args.no_progress)
        offsets += split_offsets
        for key, tally in split_tallies.items():
            merged = tallies.setdefault(key, Tally())
            for name in ("within", "targets", "reachable", "pages_kept", "pages_available"):
                setattr(merged, name, getattr(merged, name) + getattr(tally, name))
            merged.tokens += tally.tokens
        counts = {k: counts[k] + split_counts[k] for k in counts}

    rows, summaries = [], {}
    for budget in budgets:
        for method in ("ours", "naive"):
            s = tallies[(budget, method)].summary()
            summaries[f"{method}@{budget}"] = s
            rows.append([budget, method, round(s["median_tokens"]), s["max_tokens"],
                         f"{100 * s['within_budget']:.1f}%", f"{100 * s['reachability']:.2f}%",
                         f"{s['mean_pages_kept']:.1f} / {s['mean_pages_available']:.1f}"])
    ours_target = tallies[(TARGET_BUDGET, "ours")].reach if (TARGET_BUDGET, "ours") in tallies else None
    naive_max = tallies[(budgets[-1], "naive")].reach
    met = {"ours_16k_reach": ours_target is not None and ours_target >= TARGET_REACH,
           "naive_largest_budget_short": naive_max < TARGET_REACH}
    results = {
        "benchmark": "prompt_budget", "quick": args.quick, "machine": machine(), "stores": description,
        "sessions": sessions, **counts, "token_counter": "CharRatioCounter(chars_per_token=3.0)",
        "budgets": budgets, "results": summaries, "targets_met": met,
        "gold_offset_chars": _percentiles(offsets),
    }
    ceiling = counts["gold_on_raw_page"] / counts["gold_targets"] if counts["gold_targets"] else 1.0
    notes = [
        f"{sessions} sessions ({', '.join(splits)}), {counts['steps']} steps, {counts['gold_targets']} click/input "
        f"steps; the gold name is on the raw page for {100 * ceiling:.2f}% of them (the ceiling).",
        "Reachability: the gold name is in the rendered current page. Pages kept: past pages in the prompt "
        "/ past pages available, per step (ours keeps every past action; naive drops whole steps).",
        "Where the gold element starts in the raw page (characters): " + ", ".join(
            f"{k} {v:,}" for k, v in results["gold_offset_chars"].items()) + ".",
        f"Targets: ours at {TARGET_BUDGET} >= {100 * TARGET_REACH:g}%: "
        f"{verdict(met['ours_16k_reach'], args.quick)} ({100 * (ours_target or 0):.2f}%); naive at "
        f"{budgets[-1]} short of it: {verdict(met['naive_largest_budget_short'], args.quick)} "
        f"({100 * naive_max:.2f}%).",
    ]
    header = ["budget", "method", "median tokens", "max tokens", "within budget", "gold reachable", "pages kept"]
    report("Prompt budgets: ours vs naive", markdown_table(header, rows), results, args.out, notes)
    return results


def _percentiles(values: list[int]) -> dict[str, int]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(quantile: float) -> int:
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    return {"median": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": ordered[-1]}


if __name__ == "__main__":
    main()
