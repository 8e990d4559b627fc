"""Command line: generate a synthetic OPeRA store and print its summary and calibration.

Usage::

    python -m customer_env.synthetic --out DIR [--users 50] [--sessions 500] [--seed 0]
        [--page-scale 1.0] [--test-fraction 0.17] [--user-disjoint] [--full] [--quiet]
"""

from __future__ import annotations

import logging
import sys

from customer_env.command_line import CommandLineParser, one_line
from customer_env.synthetic.calibration import (
    calibration_table,
    format_calibration_table,
    out_of_tolerance,
)
from customer_env.synthetic.generate import generate_store
from customer_env.synthetic.plan import DEFAULT_TEST_FRACTION


def main(argv: list[str] | None = None) -> int:
    parser = CommandLineParser(
        prog="python -m customer_env.synthetic",
        description="Generate a synthetic OPeRA store in the dataset's layout.",
    )
    parser.add_argument("--out", required=True, help="destination directory (must not exist, or be empty)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--page-scale",
        type=float,
        default=1.0,
        help="filler multiplier: 1.0 = real page lengths, 0.05 = small pages",
    )
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION)
    parser.add_argument("--user-disjoint", action="store_true", help="split by user instead of by session")
    parser.add_argument("--full", action="store_true", help="also write the OPeRA_full variant")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = generate_store(
            args.out,
            users=args.users,
            sessions=args.sessions,
            seed=args.seed,
            page_scale=args.page_scale,
            test_fraction=args.test_fraction,
            user_disjoint=args.user_disjoint,
            full_variant=args.full,
            progress=not args.quiet,
        )
    except (FileExistsError, ValueError) as error:
        print(f"{parser.prog}: error: {one_line(error)}", file=sys.stderr)
        return 2
    print(summary.to_text())
    print()
    rows = calibration_table(args.out)
    print(format_calibration_table(rows))
    misses = out_of_tolerance({row.metric: row.generated for row in rows})
    print()
    verdict = "all within tolerance" if not misses else "MISSED: " + "; ".join(misses)
    print(f"published marginals: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
