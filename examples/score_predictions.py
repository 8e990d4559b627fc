"""Score a JSONL of wire-format predictions (keyed by session_id, step_index) with the rollout metrics.

Example:
    python examples/score_predictions.py preds.jsonl --split test --out runs/external.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from agents.predictions import score_predictions
from agents.report import metrics_table
from agents.run_files import RunFileError
from customer_env.cache import atomic_write_text
from customer_env.command_line import CommandLineParser, existing_file, non_negative_int
from customer_env.data.spec import add_store_arguments, store_spec_from_args

SHOWN = 10  # problems listed by name; all are counted


def main(argv: Sequence[str] | None = None) -> int:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("predictions", type=existing_file, help="JSONL file")
    add_store_arguments(p, split="test")
    p.add_argument("--only-predicted-sessions", action="store_true",
                   help="score only sessions with at least one prediction (else missing steps count as failures)")
    p.add_argument("--no-check-names", action="store_true",
                   help="do not read pages: grounding (names on the page) is not measured; no other number changes")
    p.add_argument("--bootstrap", type=non_negative_int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="write the metrics and the bookkeeping to this JSON file")
    args = p.parse_args(argv)
    try:
        report = score_predictions(args.predictions, data=store_spec_from_args(p, args),
                                   only_predicted_sessions=args.only_predicted_sessions,
                                   check_names=not args.no_check_names, n_bootstrap=args.bootstrap, seed=args.seed)
    except RunFileError as exc:
        print(f"score_predictions: error: {exc}", file=sys.stderr)
        return 2
    problems = [
        [f"malformed line {n}: {reason}" for n, reason in report.malformed],
        [f"duplicate line {n}: {sid} step {i} (the first one is scored)" for n, (sid, i) in report.duplicates],
        [f"missing: {sid} step {i} (scored as a format failure)" for sid, i in report.missing],
        [f"extra: {sid} step {i} (not a step of the split; ignored)" for sid, i in report.extra],
    ]
    for lines in problems:
        text = "\n".join(lines[:SHOWN]) + (f"\n... and {len(lines) - SHOWN} more" if len(lines) > SHOWN else "")
        # Ids come from the file: print them even when they hold characters the terminal cannot show.
        print(text.encode("utf-8", "backslashreplace").decode("utf-8"), end="\n" if lines else "")
    print("counts: " + ", ".join(f"{k} {v}" for k, v in report.counts.items()))
    print(report.summary())
    print(metrics_table(report.metrics))
    if args.out:
        payload = {"predictions": str(args.predictions), "counts": report.counts, "summary": report.summary(),
                   "metrics": report.metrics, "malformed": report.malformed, "missing": report.missing,
                   "extra": report.extra, "provenance": report.provenance}
        atomic_write_text(args.out, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
