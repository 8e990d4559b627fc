"""Compare agents on the same OPeRA sessions: tables with intervals and paired differences, and plots.

Example:
    python examples/compare.py --agents random,frequency,persona_frequency --baseline frequency
    python examples/compare.py --agents frequency --agent customer_r1:checkpoint=runs/x \\
        --agent customer_r1:checkpoint=runs/y,label=r1_y --baseline frequency --page-scale 0.1
    python examples/compare.py --agent prompting:backend=openai,model=m,base_url=http://127.0.0.1:8000/v1
    python examples/compare.py --agents frequency,persona_frequency --ablations --sessions 20 --out runs/cmp
    python examples/compare.py --agents random,frequency --out runs/cmp --resume    # continue an interrupted one
    python examples/compare.py --agents random,frequency --shard 2/2 --out runs/cmp2  # python -m agents.merge
    python examples/compare.py --agents frequency,customer_r1 --sessions 10   # at customer_r1's training scale
    python examples/compare.py --agents frequency,markov,persona_markov,oracle --baseline markov
        # oracle, oracle_shuffled_persona: ceiling rows (they use the generator's hidden state)

Agents are checked before any run: an unknown agent, an unknown option or a value of the wrong
type is one line on stderr and exit status 2. Checkpoint agents are evaluated under the
conditions they were trained on, as ``examples/rollout.py`` evaluates them, so both print the
same numbers for the same sessions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.agent_spec import AgentSpecError, split_names
from agents.compare import EXACT_MATCH_PLOT, TABLE_FILE, compare, plan_runs
from agents.rollout import RolloutConfig
from agents.run_files import RunFileError
from agents.run_options import add_run_arguments, check_run_arguments
from agents.sharding import ShardError
from customer_env.command_line import CommandLineParser, non_negative_int, one_line, positive_int
from customer_env.data.spec import add_store_arguments, store_spec_from_args


def build_parser() -> argparse.ArgumentParser:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", default="", help="comma-separated agent names")
    p.add_argument("--agent", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                   help="one agent with its options, e.g. customer_r1:checkpoint=runs/x or "
                        "prompting:backend=openai,model=m,base_url=URL; label=NAME names the run (repeatable)")
    p.add_argument("--baseline", metavar="NAME", help="a run label or agent name: paired differences against it")
    p.add_argument("--ablations", action="store_true", help="also run persona modes none and shuffled")
    p.add_argument("--sessions", type=positive_int, help="how many sessions (default: all of the split)")
    add_store_arguments(p, split="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=non_negative_int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output directory")
    add_run_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_run_arguments(parser, args, comparison=True)
    agents = [*split_names(args.agents), *args.agent]
    if not agents:
        parser.error("give agents with --agents a,b,c and/or --agent NAME:KEY=VALUE,...")
    try:  # every agent, option and the baseline, before the first rollout
        plan_runs(agents, ablations=args.ablations, baseline=args.baseline)
    except AgentSpecError as exc:
        print(f"compare.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    config = RolloutConfig(data=store_spec_from_args(parser, args), sessions=args.sessions, seed=args.seed,
                           n_bootstrap=args.bootstrap, shard=args.shard, log_prompts=args.log_prompts)
    try:  # an agent's checkpoint is resolved before any run (AgentSpecError when it cannot be used)
        result = compare(agents, config, ablations=args.ablations, out_dir=args.out, baseline=args.baseline,
                         resume=args.resume, overwrite=args.overwrite, request_cache=args.cache)
    except (AgentSpecError, RunFileError, ShardError) as exc:
        print(f"compare.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"compare.py: interrupted; finished runs and scored steps are in {args.out}; the same command "
              "with --resume continues", file=sys.stderr)
        return 130
    for note in result.notes:
        print(f"[compare] {note}")
    print(result.table)
    print(f"\nwrote {args.out / TABLE_FILE}, {result.plot} and {args.out / EXACT_MATCH_PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
