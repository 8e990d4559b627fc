"""Evaluate the embedded pipeline: SFT and Customer-R1 against the model-free baselines.

Rolls every agent out on the embedded store's test split (teacher-forced, as the environment
scores it) with ``agents.rollout``: ``frequency``, ``persona_frequency``, the pipeline's ``sft``
and ``customer_r1`` checkpoints, and Customer-R1 under the persona ablations (``none``,
``shuffled``). Reports next-action exact match with session-bootstrap 95% intervals, and the
*paired* bootstrap interval of each difference that the claims rest on (the same resampled
sessions for both agents, which is what a comparison on one test set needs).

Usage:
    python -m training.evaluate_pipeline --out runs/pipeline_eval.json

The checkpoints are trained first if missing (``training.pipeline.ensure_checkpoint``), and
evaluated under the conditions their summaries record (``agents.rollout.plan_evaluation``: the
page scale they were trained at, for every agent, and their prompt budget), as ``examples/rollout.py``
and ``examples/compare.py`` evaluate them.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from customer_env.command_line import CommandLineParser, non_negative_int
from customer_env.metrics import StepRecord, paired_difference

#: (label, agent, persona mode) of every rollout, in report order.
RUNS = (
    ("frequency", "frequency", "real"),
    ("persona_frequency", "persona_frequency", "real"),
    ("sft", "sft", "real"),
    ("customer_r1", "customer_r1", "real"),
    ("customer_r1 (no persona)", "customer_r1", "none"),
    ("customer_r1 (shuffled persona)", "customer_r1", "shuffled"),
)
#: (better, worse) pairs whose paired difference is reported.
COMPARISONS = (
    ("sft", "persona_frequency"),
    ("sft", "frequency"),
    ("customer_r1", "sft"),
    ("customer_r1", "customer_r1 (no persona)"),
    ("customer_r1", "customer_r1 (shuffled persona)"),
)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the rollouts, print the table, and return (optionally write) the results."""
    from agents.rollout import RolloutConfig, click_type_lookup, make_agent, open_stores, plan_evaluation, run_rollout
    from customer_env.cache import atomic_write_text
    from customer_env.data.spec import add_store_arguments, store_spec_from_args
    from customer_env.provenance import provenance
    from training.pipeline import ensure_checkpoint

    parser = CommandLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    parser.add_argument("--bootstrap", type=non_negative_int, default=1000)
    add_store_arguments(parser, split="test")  # the page scale defaults to the checkpoints' own
    args = parser.parse_args(argv)
    data = store_spec_from_args(parser, args)  # a bad --source fails now, not after training the pipeline

    checkpoints = {kind: str(ensure_checkpoint(kind)) for kind in ("sft", "customer_r1")}
    plan = plan_evaluation(RolloutConfig(data=data, n_bootstrap=args.bootstrap, batch_size=16),
                           {name: (name, {"checkpoint": checkpoints[name]} if name in checkpoints else {})
                            for _, name, _ in RUNS})
    for note in plan.notes:
        print(f"[evaluate] {note}")
    results: dict[str, Any] = {"checkpoints": checkpoints, "data": plan.config.data.to_dict(), "notes": plan.notes,
                               "runs": {}, "paired": {}}
    correct: dict[str, list[StepRecord]] = {}
    stores: Any = None
    for label, name, persona_mode in RUNS:
        config = replace(plan.config, persona_mode=persona_mode)
        stores = stores or open_stores(config)
        agent = make_agent(name, config, train_store=stores[1], **plan.agent_kwargs[name])
        started = time.perf_counter()
        result = run_rollout(agent, config, store=stores[0], train_store=stores[1], progress=False)
        headline = result.metrics["headline"]
        results["runs"][label] = {"exact_match": headline["exact_match"], "seconds": round(time.perf_counter() - started, 1),
                                  "by_type": result.metrics["exact_match_by_action_type"],
                                  "format_validity": headline["format_validity"]["value"],
                                  "prompts_over_budget": result.info["rollout"]["prompts_over_budget"]}
        correct[label] = result.records()
        del agent
    for better, worse in COMPARISONS:
        results["paired"][f"{better} - {worse}"] = paired_difference(
            correct[better], correct[worse], click_type_lookup(stores[1], stores[0]),
            n_bootstrap=args.bootstrap, metrics=("exact_match",))["exact_match"]
    results["provenance"] = provenance(stores={"evaluated": stores[0], "train": stores[1]}, checkpoints=checkpoints)
    print(format_table(results))
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    return results


def format_table(results: dict[str, Any]) -> str:
    """The results as Markdown: exact match per run, then the paired differences."""
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = ["| agent | exact match % | 95% CI | seconds |", "|---|---:|---|---:|"]
    for label, run in results["runs"].items():
        em = run["exact_match"]
        lines.append(f"| {label} | {pct(em['value'])} | [{pct(em['low'])}, {pct(em['high'])}] | {run['seconds']} |")
    lines += ["", "| paired difference | points | 95% CI |", "|---|---:|---|"]
    for label, diff in results["paired"].items():
        lines.append(f"| {label} | {pct(diff['value'])} | [{pct(diff['low'])}, {pct(diff['high'])}] |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
