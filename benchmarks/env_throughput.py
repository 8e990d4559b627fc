"""Steps per second of OPeRA-v0 on full-size pages, against a raw lxml parse and a BeautifulSoup
rendering of the same pages.

Every step of the environment renders one new page (the page before the next action) at the
default token budget, with the session's past pages in the history, and scores the action. The
two baselines see the same pages, one parse or one rendering per step:

* **lxml parse**: ``lxml.etree.fromstring`` with the HTML parser settings the renderer uses
  (recover, huge tree, comments and processing instructions dropped): the least any renderer
  that reads the page has to pay;
* **BeautifulSoup rendering**: the same compression written the straightforward way earlier
  reimplementations write it: parse with BeautifulSoup (``lxml`` and ``html.parser`` tree
  builders), drop scripts and styles, find every element with a non-empty ``name`` and keep its
  tag, name and a short label (``get_text`` cut to 80 characters).

Timing: the environment (fresh store and environment each pass, so page reads and compression
are included), the lxml parse and BeautifulSoup (over an even sample of the pages,
``--bs4-pages``) run interleaved ``--repeats`` times and the fastest pass of each counts. All three
are single-threaded, so the default clock is the process's CPU time (``--clock cpu``): on a
machine shared with other work, elapsed time mostly measures the wait for a core.
Targets: a step costs at most 3x the lxml parse of its page, and at least 10x less than the
BeautifulSoup rendering.

Usage::

    python benchmarks/env_throughput.py                          # 6 users / 30 sessions, page_scale 1.0
    python benchmarks/env_throughput.py --store DIR --profile 20 --out runs/env_throughput.json
    python benchmarks/env_throughput.py --quick                  # seconds: checks that it runs

Example:
    >>> bs4_outline('<div name="a">Hi <b name="a.b">there</b></div>', "lxml")
    '<div name="a">Hi there</div>\\n<b name="a.b">there</b>'
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import add_common_options, bench_store, even_sample, machine, markdown_table
from benchmarks._common import CLOCKS, report, timed, verdict
from customer_env.command_line import CommandLineParser, non_negative_int, positive_int

#: The completion every step sends (its cost is the same whatever the action).
ACTION_TEXT = '{"rationale": "Nothing here for me.", "action": {"type": "terminate"}}'
TARGET_MAX_LXML_RATIO = 3.0
TARGET_MIN_BS4_RATIO = 10.0
LABEL_CHARS = 80
BS4_BUILDERS = ("lxml", "html.parser")
FULL = {"users": 6, "sessions": 30, "page_scale": 1.0}
QUICK = {"users": 2, "sessions": 3, "page_scale": 0.05}


def bs4_outline(html: str, parser: str = "lxml", label_chars: int = LABEL_CHARS) -> str:
    """Every named element of the page with a short label, written with BeautifulSoup alone."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, parser)
    for tag in soup.find_all(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = []
    for element in soup.find_all(attrs={"name": True}):
        name = element.get("name") or ""
        if not name.strip():
            continue
        label = " ".join(element.get_text(" ", strip=True).split())
        if len(label) > label_chars:
            label = label[: label_chars - 1] + "…"
        lines.append(f'<{element.name} name="{name}">{label}</{element.name}>')
    return "\n".join(lines)


def _bs4_names(html: str, parser: str) -> set[str]:
    from bs4 import BeautifulSoup

    return {el["name"] for el in BeautifulSoup(html, parser).find_all(attrs={"name": True}) if el["name"].strip()}


def _lxml_parser() -> Any:
    from lxml import etree

    return etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True,
                            huge_tree=True)


def run_env(store_dir: Path, split: str, session_ids: Sequence[str], budget: int) -> int:
    """Replay every session once (reset, then step until the episode ends); returns the steps."""
    from customer_env.data import open_store
    from customer_env.env import OperaEnv

    env = OperaEnv(store=open_store(str(store_dir), split=split), sessions=list(session_ids),
                   max_prompt_tokens=budget)
    steps = 0
    for session_id in session_ids:
        env.reset(options={"session_id": session_id})
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(ACTION_TEXT)
            done = terminated or truncated
            steps += 1
    env.close()
    return steps


def parse_all(pages: Sequence[str]) -> int:
    """Parse every page with lxml (the renderer's parser settings); returns the pages parsed."""
    from lxml import etree

    parser = _lxml_parser()
    for page in pages:
        etree.fromstring(page, parser)
    return len(pages)


def profile_env(store_dir: Path, split: str, session_ids: Sequence[str], budget: int, top: int) -> str:
    """One environment pass under cProfile; the ``top`` functions by cumulative time, as text."""
    profiler = cProfile.Profile()
    profiler.enable()
    run_env(store_dir, split, session_ids, budget)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top)
    stream.write("\n")
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    return stream.getvalue()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table and return the results."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser)
    parser.add_argument("--split", default="train", choices=("train", "test"))
    parser.add_argument("--sessions", type=positive_int, default=None, help="replay this many sessions (even sample)")
    parser.add_argument("--budget", type=positive_int, default=None, help="prompt token budget (default: the env's)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="interleaved passes; the fastest counts")
    parser.add_argument("--bs4-pages", type=non_negative_int, default=60, help="pages rendered with BeautifulSoup (0: all)")
    parser.add_argument("--bs4-parsers", default="lxml,html.parser",
                        help="BeautifulSoup tree builders to time, comma-separated; the target is judged "
                             "against the fastest")
    parser.add_argument("--clock", default="cpu", choices=CLOCKS,
                        help="cpu: process CPU time (steady on a shared machine); wall: elapsed time")
    parser.add_argument("--profile", type=non_negative_int, default=0, metavar="N",
                        help="also profile one environment pass and print its top N functions")
    args = parser.parse_args(argv)
    builders = [b.strip() for b in args.bs4_parsers.split(",") if b.strip()]
    if not builders or set(builders) - set(BS4_BUILDERS):
        parser.error(f"--bs4-parsers must name some of {BS4_BUILDERS}, got {args.bs4_parsers!r}")
    from customer_env.data import open_store
    from customer_env.env import DEFAULT_MAX_PROMPT_TOKENS

    budget = args.budget or DEFAULT_MAX_PROMPT_TOKENS
    sizes = QUICK if args.quick else FULL
    repeats = 1 if args.quick else max(1, args.repeats)
    store_dir = Path(args.store) if args.store else bench_store(args.store_root, test_fraction=0.0, **sizes)
    store = open_store(str(store_dir), split=args.split)
    session_ids = even_sample(store.session_ids, 2 if args.quick else args.sessions)
    pages = [page for sid in session_ids for page in store.pages(sid)]
    del store
    if not pages:
        raise SystemExit(f"no pages in {store_dir} ({args.split}): nothing to measure")

    sample = even_sample(pages, 3 if args.quick else (args.bs4_pages or None))
    env_runs: list[float] = []
    lxml_runs: list[float] = []
    bs4_runs: dict[str, list[float]] = {builder: [] for builder in builders}
    for _ in range(repeats):  # interleaved, so every path sees the same load on a shared machine
        steps, seconds = timed(lambda: run_env(store_dir, args.split, session_ids, budget), args.clock)
        env_runs.append(seconds)
        _, seconds = timed(lambda: parse_all(pages), args.clock)
        lxml_runs.append(seconds)
        for builder in builders:
            _, seconds = timed(lambda: [bs4_outline(page, builder) for page in sample], args.clock)
            bs4_runs[builder].append(seconds)
    if steps != len(pages):
        raise RuntimeError(f"the environment took {steps} steps over {len(pages)} pages: they should match")
    bs4_ms = {builder: 1000 * min(runs) / len(sample) for builder, runs in bs4_runs.items()}
    agree = _names_agree(sample[:10], builders[0])

    env_ms = 1000 * min(env_runs) / steps
    lxml_ms = 1000 * min(lxml_runs) / len(pages)
    lxml_ratio, bs4_ratio = env_ms / lxml_ms, min(bs4_ms.values()) / env_ms
    lengths = sorted(len(p) for p in pages)
    rows = [
        ["OPeRA-v0 step (reset + step, render + reward)", steps, round(env_ms, 2), round(1000 / env_ms, 1), "1.00"],
        ["lxml parse of the step's page", len(pages), round(lxml_ms, 2), round(1000 / lxml_ms, 1),
         f"{lxml_ratio:.2f}x (env / lxml)"],
    ]
    rows += [[f"BeautifulSoup rendering ({builder})", len(sample), round(ms, 2), round(1000 / ms, 2),
              f"{ms / env_ms:.1f}x (bs4 / env)"] for builder, ms in bs4_ms.items()]
    met = {"env_within_3x_lxml": lxml_ratio <= TARGET_MAX_LXML_RATIO,
           "env_10x_faster_than_bs4": bs4_ratio >= TARGET_MIN_BS4_RATIO}
    results: dict[str, Any] = {
        "benchmark": "env_throughput", "quick": args.quick, "machine": machine(), "store": str(store_dir),
        "split": args.split, "sessions": len(session_ids), "steps": steps, "budget_tokens": budget,
        "page_chars_median": lengths[len(lengths) // 2], "page_chars_max": lengths[-1],
        "env_ms_per_step": env_ms, "env_steps_per_s": 1000 / env_ms, "lxml_ms_per_page": lxml_ms,
        "bs4_ms_per_page": bs4_ms, "bs4_pages": len(sample),
        "env_over_lxml": lxml_ratio, "bs4_over_env": bs4_ratio, "repeats": repeats, "clock": args.clock,
        "env_pass_s": env_runs, "lxml_pass_s": lxml_runs, "bs4_pass_s": bs4_runs, "bs4_names_agree": agree,
        "targets_met": met,
    }
    notes = [
        f"{len(session_ids)} sessions, {steps} steps, budget {budget} tokens; page length median "
        f"{lengths[len(lengths) // 2]:,} chars, max {lengths[-1]:,}; fastest of {repeats} interleaved passes, "
        f"{args.clock} time.",
        f"BeautifulSoup and the renderer find the same names on {agree[0]}/{agree[1]} checked pages.",
        f"Targets: env <= {TARGET_MAX_LXML_RATIO:g}x lxml: {verdict(met['env_within_3x_lxml'], args.quick)} "
        f"({lxml_ratio:.2f}x); fastest bs4 >= {TARGET_MIN_BS4_RATIO:g}x env: "
        f"{verdict(met['env_10x_faster_than_bs4'], args.quick)} ({bs4_ratio:.1f}x).",
    ]
    if args.profile:
        results["profile"] = profile_env(store_dir, args.split, session_ids, budget, args.profile)
        notes.append("Profile of one environment pass:\n```\n" + results["profile"].strip() + "\n```")
    header = ["path", "pages", "ms / step", "steps / s", "ratio"]
    title = "OPeRA-v0 throughput" + (" (quick run: small pages)" if args.quick else " on full-size pages")
    report(title, markdown_table(header, rows), results, args.out, notes)
    return results


def _names_agree(pages: Sequence[str], parser: str) -> tuple[int, int]:
    """On how many pages BeautifulSoup and the renderer find the same set of names."""
    from customer_env.prompt import compress_page

    same = sum(set(compress_page(page).names) == _bs4_names(page, parser) for page in pages)
    return same, len(pages)


if __name__ == "__main__":
    main()
