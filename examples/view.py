"""Write one self-contained HTML page of one rollout run's trajectories, or of two runs side by side.

A run directory is what ``examples/rollout.py --out DIR`` writes (``samples.jsonl``,
``results.json``); in a ``examples/compare.py`` output folder each agent has one. The page needs
no server and no network: open it from disk.

Example:
    python examples/rollout.py --agent frequency --sessions 10 --out runs/frequency
    python examples/rollout.py --agent random --sessions 10 --out runs/random
    python examples/view.py runs/frequency                   # -> runs/frequency/view.html
    python examples/view.py runs/frequency runs/random --out runs/frequency_vs_random.html
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.viewer import DEFAULT_MAX_TEXT_CHARS, ViewerError, build_view, load_run, write_view
from customer_env.command_line import CommandLineParser


def build_parser() -> argparse.ArgumentParser:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="one or two run directories")
    p.add_argument("--out", type=Path, help="the HTML file (default: view.html, or view_vs_<RUN_DIR2>.html, "
                                             "in the first run directory)")
    p.add_argument("--label", action="append", default=[], help="a run's name on the page (once per run)")
    p.add_argument("--title", help="the page title (default: the runs' names)")
    p.add_argument("--max-text-chars", type=int, default=DEFAULT_MAX_TEXT_CHARS,
                   help="characters kept of each long text: prompt, page, completion (0: all)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip and count malformed or repeated sample lines instead of failing")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.runs) > 2:
        parser.error(f"one or two run directories, got {len(args.runs)}")
    if args.label and len(args.label) != len(args.runs):
        parser.error(f"--label: give one per run ({len(args.runs)}), got {len(args.label)}")
    if args.max_text_chars < 0:
        parser.error("--max-text-chars: must be 0 (keep all) or more")
    labels = args.label or [None] * len(args.runs)
    out = args.out or args.runs[0] / ("view.html" if len(args.runs) == 1
                                      else f"view_vs_{args.runs[1].resolve().name}.html")
    try:
        runs = [load_run(path, label=label, skip_bad=args.skip_bad) for path, label in zip(args.runs, labels)]
        view = build_view(runs, max_text_chars=args.max_text_chars)
        written = write_view(view, out, title=args.title)
    except (ViewerError, ImportError) as exc:
        print(f"view: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"view: error: {out}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    for run, header in zip(runs, view.runs):
        print(f"{header.label}: {len(run.samples)} steps from {run.path}")
        for note in header.notes:
            print(f"  note: {note}")
    if len(runs) == 2:
        print(f"aligned {len(view.steps)} steps: {view.only_in[0]} only in {view.runs[0].label}, "
              f"{view.only_in[1]} only in {view.runs[1].label}"
              + (f", {view.gold_differs} with different human actions" if view.gold_differs else ""))
    print(f"wrote {written} ({written.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
