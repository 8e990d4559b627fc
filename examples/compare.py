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
from typing import Any, Sequence

from agents.compare import compare
from agents.registry import parse_agent_args
from agents.rollout import RolloutConfig
from customer_env.data.spec import add_store_arguments, store_spec_from_args


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", required=True, help="comma-separated agent names")
    p.add_argument("--checkpoint", action="append", default=[], metavar="AGENT=PATH",
                   help="a checkpoint agent's model: a directory or hub id, e.g. customer_r1=runs/customer_r1 "
                        "(default: the embedded pipeline's)")
    p.add_argument("--agent-arg", action="append", default=[], metavar="AGENT:KEY=VALUE",
                   help="an extra argument of one agent, e.g. customer_r1:max_new_tokens=64 (JSON values)")
    p.add_argument("--ablations", action="store_true", help="also run persona modes none and shuffled")
    p.add_argument("--sessions", type=int, help="how many sessions (default: all of the split)")
    add_store_arguments(p, split="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output directory")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    kwargs: dict[str, dict[str, Any]] = {name: {} for name in names}
    for pair in args.checkpoint:
        name, _, path = pair.partition("=")
        if name not in kwargs or not path:
            p.error(f"--checkpoint expects AGENT=PATH for an agent of --agents, got {pair!r}")
        kwargs[name]["checkpoint"] = path
    for item in args.agent_arg:
        name, _, pair = item.partition(":")
        if name not in kwargs or "=" not in pair:
            p.error(f"--agent-arg expects AGENT:KEY=VALUE for an agent of --agents, got {item!r}")
        kwargs[name].update(parse_agent_args([pair]))
    config = RolloutConfig(data=store_spec_from_args(p, args), sessions=args.sessions, seed=args.seed,
                           n_bootstrap=args.bootstrap)
    result = compare(names, config, ablations=args.ablations, out_dir=args.out, agent_kwargs=kwargs)
    for note in result.notes:
        print(f"[compare] {note}")
    print(result.table)
    print(f"\nwrote {args.out / 'comparison.md'} and {result.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
