"""Compare agents on the same OPeRA sessions: a Markdown table and a distribution plot.

Example:
    python examples/compare.py --agents random,frequency,persona_frequency
    python examples/compare.py --agents frequency,persona_frequency --ablations --sessions 20 --out runs/cmp
    python examples/compare.py --agents random,frequency --out runs/cmp --resume    # continue an interrupted one
    python examples/compare.py --agents random,frequency --shard 2/2 --out runs/cmp2  # python -m agents.merge
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.compare import compare
from agents.rollout import RolloutConfig
from agents.run_files import RunFileError
from agents.run_options import add_run_arguments, check_run_arguments
from agents.sharding import ShardError


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
    add_run_arguments(p)
    args = p.parse_args(argv)
    check_run_arguments(p, args, comparison=True)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    config = RolloutConfig(split=args.split, source=args.source, page_scale=args.page_scale,
                           sessions=args.sessions, seed=args.seed,
                           n_bootstrap=args.bootstrap, shard=args.shard, log_prompts=args.log_prompts)
    try:
        result = compare(names, config, ablations=args.ablations, out_dir=args.out, resume=args.resume,
                         overwrite=args.overwrite, request_cache=args.cache)
    except (RunFileError, ShardError) as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"compare: interrupted; finished runs and scored steps are in {args.out}; the same command with "
              "--resume continues", file=sys.stderr)
        return 130
    print(result.table)
    print(f"\nwrote {args.out / 'comparison.md'} and {result.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
