"""Run one agent through OPeRA sessions, print what it did, write samples and results.

Example:
    python examples/rollout.py --agent frequency --sessions 10 --out runs/frequency
    python examples/rollout.py --agent prompting --model path/to/model --split test --quiet
    python examples/rollout.py --agent customer_r1            # trains the tiny default on first use
    python examples/rollout.py --agent sft --checkpoint org/my-sft-run --source hub --revision main
    python examples/rollout.py --agent frequency --out runs/f --resume      # continue an interrupted run
    python examples/rollout.py --agent frequency --shard 1/4 --out runs/f1  # one of 4 shards (agents.merge)

With ``--out`` the samples are written as each step is scored; an interrupted run continues
with the same command and ``--resume``, and ends with the results of an uninterrupted one.

A checkpoint agent is evaluated under the conditions its ``training_summary.json`` records (the
page scale it was trained at, its prompt budget), unless the flags choose otherwise; what was
adopted is printed first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

import agents
from agents.agent_spec import AgentSpecError, check_options
from agents.report import metrics_table
from agents.rollout import (RolloutConfig, make_agent, make_env, open_stores, plan_evaluation, run_rollout,
                            step_line)
from agents.run_files import RunFileError
from agents.run_options import add_run_arguments, attach_cache, check_run_arguments, report_run
from agents.sharding import ShardError
from customer_env.command_line import CommandLineParser, non_negative_int, one_line, positive_int
from customer_env.data.spec import add_store_arguments, store_spec_from_args


def parse_agent_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs, values as text (``agents.agent_spec.check_options`` types them).

    Raises:
        AgentSpecError: for a pair that is not ``KEY=VALUE``.
    """
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AgentSpecError(f"--agent-arg expects KEY=VALUE, got {pair!r}")
        kwargs[key] = value
    return kwargs


def build_parser() -> argparse.ArgumentParser:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("--agent", required=True, help=f"one of {', '.join(agents.available())}")
    p.add_argument("--checkpoint", help="model or adapter: a directory or a pushed run's hub id (sft, customer_r1)")
    p.add_argument("--model", help="model id or path (prompting), or the served model name (openai backend)")
    p.add_argument("--agent-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra agent argument, e.g. backend=openai, base_url=..., batch_size=8")
    p.add_argument("--persona", help="a user id: replay only that user's sessions")
    p.add_argument("--persona-mode", default="real", choices=("real", "none", "shuffled"))
    p.add_argument("--sessions", type=positive_int, help="how many sessions (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="directory for samples.jsonl and results.json")
    add_store_arguments(p, split="test")
    p.add_argument("--max-prompt-tokens", type=positive_int, help="prompt budget (default: the checkpoint's, else the env's)")
    p.add_argument("--on-mismatch", default="teacher_forced", choices=("teacher_forced", "continue", "terminate"))
    p.add_argument("--batch-size", type=positive_int, default=8, help="sessions advanced together")
    p.add_argument("--bootstrap", type=non_negative_int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--quiet", action="store_true", help="do not print every step")
    add_run_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    config = RolloutConfig(data=store_spec_from_args(parser, args), sessions=args.sessions, persona=args.persona,
                           persona_mode=args.persona_mode, on_mismatch=args.on_mismatch,
                           max_prompt_tokens=args.max_prompt_tokens, seed=args.seed,
                           batch_size=args.batch_size, n_bootstrap=args.bootstrap, shard=args.shard,
                           log_prompts=args.log_prompts)
    try:  # the agent, its options and its checkpoint, checked before any store or model loads
        kwargs = parse_agent_args(args.agent_arg)
        if args.checkpoint:
            kwargs["checkpoint"] = args.checkpoint
        if args.model:
            kwargs["model"] = args.model
        kwargs = check_options(args.agent, kwargs)
        # A checkpoint agent is evaluated the way its training summary says it was trained.
        plan = plan_evaluation(config, {args.agent: (args.agent, kwargs)})
    except AgentSpecError as exc:
        print(f"rollout.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"[rollout] {note}")
    store, train_store = open_stores(plan.config)
    try:  # the persona and sessions the flags select, before the agent (maybe a model) is built
        make_env(plan.config, store, plan.config.sessions).close()
    except ValueError as exc:
        print(f"rollout.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    agent = make_agent(args.agent, plan.config, train_store=train_store, **plan.agent_kwargs[args.agent])
    attach_cache(agent, args.cache, args.agent)
    try:
        result = run_rollout(agent, plan.config, store=store, train_store=train_store,
                             on_step=None if args.quiet else lambda s: tqdm.write(step_line(s)), desc=args.agent,
                             out_dir=args.out, resume=args.resume, overwrite=args.overwrite, agent_name=args.agent,
                             extra_info={"conditions": {"notes": plan.notes}})
    except (RunFileError, ShardError) as exc:
        print(f"rollout.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.out:
            print(f"rollout.py: interrupted; the scored steps are in {args.out}; the same command with --resume "
                  "continues", file=sys.stderr)
        return 130
    print(metrics_table(result.metrics))
    report_run(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
