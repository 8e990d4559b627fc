"""Compare agents on the same OPeRA sessions: a Markdown table and a distribution plot.

Example:
    python examples/compare.py --agents random,frequency,persona_frequency
    python examples/compare.py --agents frequency,persona_frequency --ablations --sessions 20 --out runs/cmp
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.compare import compare
from agents.rollout import RolloutConfig


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", required=True, help="comma-separated agent names")
    p.add_argument("--ablations", action="store_true", help="also run persona modes none and shuffled")
    p.add_argument("--sessions", type=int, help="how many sessions (default: all of the split)")
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--source", help="embedded (default), hub, or a local copy of the dataset")
    p.add_argument("--page-scale", type=float,
                   help="embedded store only: page scale (the default tiny checkpoints were trained at 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output directory")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    config = RolloutConfig(split=args.split, source=args.source, page_scale=args.page_scale,
                           sessions=args.sessions, seed=args.seed,
                           n_bootstrap=args.bootstrap)
    result = compare(names, config, ablations=args.ablations, out_dir=args.out)
    print(result.table)
    print(f"\nwrote {args.out / 'comparison.md'} and {result.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
