"""Compare agents on the same OPeRA sessions: a Markdown table and a distribution plot.

Example:
    python examples/compare.py --agents random,frequency,persona_frequency
    python examples/compare.py --agents frequency,persona_frequency --ablations --sessions 20 --out runs/cmp
    python examples/compare.py --agents frequency,customer_r1 --sessions 10   # at customer_r1's training scale

Checkpoint agents are evaluated under the conditions they were trained on, as
``examples/rollout.py`` evaluates them, so both print the same numbers for the same sessions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.compare import compare
from agents.rollout import RolloutConfig
from customer_env.data.spec import add_store_arguments, store_spec_from_args


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", required=True, help="comma-separated agent names")
    p.add_argument("--ablations", action="store_true", help="also run persona modes none and shuffled")
    p.add_argument("--sessions", type=int, help="how many sessions (default: all of the split)")
    add_store_arguments(p, split="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output directory")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    config = RolloutConfig(data=store_spec_from_args(p, args), sessions=args.sessions, seed=args.seed,
                           n_bootstrap=args.bootstrap)
    result = compare(names, config, ablations=args.ablations, out_dir=args.out)
    for note in result.notes:
        print(f"[compare] {note}")
    print(result.table)
    print(f"\nwrote {args.out / 'comparison.md'} and {result.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
