"""Let an agent shop freely in OPeRA-Shop-v0 and compare it with the reference shoppers of the same personas.

Example:
    python examples/simulate.py --agent random --personas 10 --episodes 2 --out runs/sim-random
    python examples/simulate.py --agent customer_r1 --personas 10 --episodes 2 --out runs/sim-r1
    python examples/simulate.py --agent reference_shopper --personas 10 --out runs/sim-ref  # the noise floor
    python examples/simulate.py --agent reference_shopper --against recorded --out runs/sim-rec  # vs the recordings
    python examples/simulate.py --agent frequency --out runs/sim-f --resume                # continue a run
    python examples/simulate.py --agent customer_r1:checkpoint=path/to/run --personas 5 --out runs/sim-ck

Writes ``OUT/<agent>/`` and ``OUT/reference/`` (run directories in the rollout format: view them
with ``examples/view.py``), ``OUT/comparison.json``, ``OUT/comparison.md`` (the table, also
printed) and ``OUT/comparison.png`` (the plot).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import agents
from agents.agent_spec import AgentSpecError, check_options, parse_agent_spec
from agents.report import require_matplotlib
from agents.run_files import RunFileError, check_out_dir
from agents.simulate import (AGAINST, SimulationConfig, build_world, compare_with_reference, plan_simulation,
                             run_dir_name, select_personas)
from agents.simulation_report import comparison_table, plot_comparison
from customer_env.cache import atomic_write_text
from customer_env.command_line import CommandLineParser, existing_directory, non_negative_int, one_line, positive_int


def build_parser() -> argparse.ArgumentParser:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("--agent", required=True,
                   help=f"NAME or NAME:KEY=VALUE,... with NAME one of {', '.join(agents.available())}")
    p.add_argument("--personas", type=positive_int, default=10, help="the first N users of the store (default 10)")
    p.add_argument("--episodes", type=positive_int, default=2, help="episodes per persona (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="folder for the two runs and the comparison")
    p.add_argument("--against", choices=AGAINST, default="reference_shopper",
                   help="compare with the reference shopper on the same episodes (default) or with the store's "
                        "recorded sessions of the same personas")
    p.add_argument("--resume", action="store_true", help="keep the finished episodes in --out and play the rest")
    p.add_argument("--overwrite", action="store_true", help="replace the runs in --out")
    p.add_argument("--checkpoint", help="model or adapter directory (sft, customer_r1)")
    p.add_argument("--agent-arg", action="append", default=[], metavar="KEY=VALUE", help="extra agent argument")
    p.add_argument("--source", type=existing_directory, help="a synthetic store directory (default: the embedded store)")
    p.add_argument("--page-scale", type=_page_scale, help="page length relative to real pages (default 1)")
    p.add_argument("--max-prompt-tokens", type=positive_int)
    p.add_argument("--max-steps", type=positive_int, default=SimulationConfig.max_steps, help="steps before an episode is cut")
    p.add_argument("--reward", choices=("likelihood", "outcome"), help="the shop's reward (default none)")
    p.add_argument("--no-reference-law", action="store_true",
                   help="do not compute the reference shopper's law at each step (no gold, no likelihood; faster)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="episodes advanced together")
    p.add_argument("--bootstrap", type=non_negative_int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--log-prompts", action="store_true", help="log each step's observation in its sample")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _page_scale(text: str) -> float:
    """``--page-scale``: a number >= 0 (checked at parse time)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # the agent, its options, checkpoint, personas and output folders, before any episode is played
        require_matplotlib()  # the plot comes last: say what is missing first
        spec = parse_agent_spec(args.agent)  # NAME or NAME:KEY=VALUE,... (as compare takes them)
        options = dict(spec.options)
        for pair in args.agent_arg:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise AgentSpecError(f"--agent-arg expects KEY=VALUE, got {pair!r}")
            options[key] = value
        if args.checkpoint:
            options["checkpoint"] = args.checkpoint
        options = check_options(spec.name, options)  # typed and checked before anything loads
        config = SimulationConfig(personas=args.personas, episodes=args.episodes, seed=args.seed,
                                  source=str(args.source) if args.source else None, page_scale=args.page_scale,
                                  max_prompt_tokens=args.max_prompt_tokens, max_steps=args.max_steps,
                                  reward=args.reward, reference_law=not args.no_reference_law,
                                  batch_size=args.batch_size, n_bootstrap=args.bootstrap, log_prompts=args.log_prompts)
        # A checkpoint agent shops on pages of the scale it was trained on (rollout's resolver).
        config, options, notes = plan_simulation(config, spec.name, options)
        select_personas(build_world(config), config.personas)
        runs = [args.out / run_dir_name(spec.name)]
        if args.against == "reference_shopper":
            runs.append(args.out / "reference")
        for run_dir in runs:
            check_out_dir(run_dir, resume=args.resume, overwrite=args.overwrite)
    except (AgentSpecError, RunFileError, ValueError, ImportError) as exc:
        print(f"simulate.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"[simulate] {note}")
    try:
        payload = compare_with_reference(spec.name, config, out_dir=args.out, agent_kwargs=options,
                                         resume=args.resume, overwrite=args.overwrite, progress=not args.quiet,
                                         against=args.against)
    except RunFileError as exc:
        print(f"simulate.py: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"simulate.py: interrupted; finished episodes are in {args.out}; the same command with --resume "
              "continues", file=sys.stderr)
        return 130
    table = comparison_table(payload)
    atomic_write_text(args.out / "comparison.md", table + "\n")
    plot = plot_comparison(payload, args.out / "comparison.png")
    print(table)
    print(f"\nwrote {args.out / 'comparison.json'}, {args.out / 'comparison.md'}, {plot}; "
          f"view a run with: python examples/view.py {args.out / run_dir_name(spec.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
