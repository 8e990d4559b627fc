"""Evaluate the embedded pipeline: SFT and Customer-R1 against the model-free baselines and the ceiling.

Rolls every agent out on the embedded store's test split (teacher-forced, as the environment
scores it) with ``agents.rollout``:

* the model-free baselines ``frequency``, ``persona_frequency``, ``markov`` and
  ``persona_markov`` (the best of them is *the best model-free baseline*);
* the pipeline's ``sft`` and ``customer_r1`` checkpoints, and Customer-R1 under the persona
  ablations (``none``, ``shuffled``: another user's persona);
* the ceiling, when the ``oracle`` agents are installed: the store's own generator forked from
  each step's true hidden state (``oracle``), and the same with another user's persona
  (``oracle_shuffled_persona``). They use hidden state no agent has (the latent draws of the
  session), so they bound what any agent can reach; they are never a competitor. On data the
  generator did not write (the oracle refuses it) they are left out, with a note saying why.

For every agent: next-action exact match and the mean Customer-R1 reward, each with a session
bootstrap 95% interval; exact match per gold action type; the number of distinct answers
(distinct valid predicted actions: a model that collapsed onto a few constant answers shows
it); and the share of the best-baseline-to-oracle gap it closes. The claims rest on the
*paired* bootstrap intervals of the differences (the same resampled sessions for both agents).

Usage:
    python -m training.evaluate_pipeline --out runs/pipeline_eval     # writes runs/pipeline_eval/evaluation.json

``evaluation.json``: ``{"agents": {NAME: {"exact_match": {"value", "low", "high"}, "reward":
{...}, "distinct_answers": N, "by_type": {...}, "gap_closed": x, "format_validity": x}},
"paired": [{"a", "b", "diff", "low", "high"}], "ceiling": {"oracle": {...},
"oracle_shuffled_persona": {...}}, "best_baseline": NAME, "wall_s": {...}, "provenance": {...}}``,
values as fractions. The checkpoints are trained first if missing
(``training.pipeline.ensure_checkpoint``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from agents.registry import CEILING_MARK, HIDDEN_STATE_AGENTS
from customer_env.command_line import CommandLineParser, non_negative_int, positive_int
from customer_env.metrics import paired_difference

#: The model-free baselines; the best of them is the bar SFT has to clear.
BASELINES = ("frequency", "persona_frequency", "markov", "persona_markov")
#: (label, agent, persona mode) of every competitor's rollout, in report order.
RUNS = (
    *((name, name, "real") for name in BASELINES),
    ("sft", "sft", "real"),
    ("customer_r1", "customer_r1", "real"),
    ("customer_r1 (no persona)", "customer_r1", "none"),
    ("customer_r1 (shuffled persona)", "customer_r1", "shuffled"),
)
#: The ceiling rows (agents with the store's hidden state: ``agents.registry.HIDDEN_STATE_AGENTS``).
CEILING = tuple((name, name, "real") for name in sorted(HIDDEN_STATE_AGENTS))
#: (a, b) pairs whose paired difference a - b is reported; "best baseline" is resolved at run time.
COMPARISONS = (
    ("sft", "best baseline"),
    ("customer_r1", "sft"),
    ("customer_r1", "customer_r1 (shuffled persona)"),
    ("customer_r1", "customer_r1 (no persona)"),
    ("customer_r1", "best baseline"),
    ("markov", "frequency"),
)


def session_bootstrap(per_session: Mapping[str, Sequence[float]], *, n_bootstrap: int = 1000,
                      seed: int = 0) -> dict[str, float]:
    """Mean over steps with a session-bootstrap 95% interval (sessions resampled with replacement).

    The same resampling as ``customer_env.metrics.headline`` uses for exact match, for the one
    per-step number the metrics module does not report: the mean reward.
    """
    sessions = sorted(per_session)
    sums = np.array([[float(np.sum(per_session[s])), len(per_session[s])] for s in sessions], dtype=float)
    value = sums[:, 0].sum() / sums[:, 1].sum()
    if n_bootstrap <= 0:
        return {"value": float(value), "low": float(value), "high": float(value)}
    rng = np.random.default_rng(seed)
    draws = sums[rng.integers(0, len(sessions), size=(n_bootstrap, len(sessions)))].sum(axis=1)
    means = draws[:, 0] / draws[:, 1]
    return {"value": float(value), "low": float(np.quantile(means, 0.025)), "high": float(np.quantile(means, 0.975))}


def summarise_run(samples: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], *, n_bootstrap: int,
                  seed: int = 0) -> dict[str, Any]:
    """The evaluation-file entry of one rollout (see the module docstring)."""
    correct: dict[str, list[bool]] = {}
    reward: dict[str, list[float]] = {}
    answers = set()
    for sample in samples:
        correct.setdefault(sample["session_id"], []).append(bool(sample["correct"]))
        reward.setdefault(sample["session_id"], []).append(float(sample["reward"]))
        predicted = sample.get("predicted")
        if predicted:
            answers.add(json.dumps({k: predicted.get(k) for k in ("type", "name", "text")}, sort_keys=True))
    return {
        "exact_match": {k: metrics["headline"]["exact_match"][k] for k in ("value", "low", "high")},
        "reward": session_bootstrap(reward, n_bootstrap=n_bootstrap, seed=seed),
        "distinct_answers": len(answers),
        "by_type": dict(metrics["exact_match_by_action_type"]),
        "by_click_type": dict(metrics.get("exact_match_by_click_type", {})),
        "format_validity": metrics["headline"]["format_validity"]["value"],
        "steps": len(samples),
        "sessions": len(correct),
    }


def gap_closed(value: float, baseline: float, ceiling: float | None) -> float | None:
    """``(value - baseline) / (ceiling - baseline)``: the share of the baseline-to-ceiling gap closed."""
    if ceiling is None or ceiling <= baseline:
        return None
    return (value - baseline) / (ceiling - baseline)


def main(argv: Sequence[str] | None = None, *, config: Any = None) -> dict[str, Any]:
    """Run the rollouts, print the tables, and return (and with ``--out``, write) the results."""
    from dataclasses import replace

    import agents
    from agents.rollout import RolloutConfig, click_type_lookup, make_agent, open_stores, plan_evaluation, run_rollout
    from customer_env.cache import atomic_write_text
    from customer_env.data.spec import add_store_arguments, store_spec_from_args
    from customer_env.provenance import provenance
    from training.pipeline import PipelineConfig, ensure_checkpoint, pipeline_dir

    parser = CommandLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write DIR/evaluation.json")
    parser.add_argument("--bootstrap", type=non_negative_int, default=1000)
    parser.add_argument("--sessions", type=positive_int, default=None,
                        help="evaluate this many test sessions (default: all)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the oracle rows")
    add_store_arguments(parser, split="test")  # the page scale defaults to the checkpoints' own
    args = parser.parse_args(argv)
    data = store_spec_from_args(parser, args)  # a bad --source fails now, not after training the pipeline
    config = config or PipelineConfig()

    started = time.perf_counter()
    checkpoints = {kind: str(ensure_checkpoint(kind, config=config)) for kind in ("sft", "customer_r1")}
    wall: dict[str, float] = {"checkpoints": round(time.perf_counter() - started, 1)}
    summary_file = pipeline_dir(config) / "pipeline_summary.json"
    if summary_file.exists():
        wall.update({f"train_{k}": v for k, v in json.loads(summary_file.read_text()).get("stage_seconds", {}).items()})
    available = set(agents.available())
    ceiling_runs = () if args.no_ceiling else tuple(run for run in CEILING if run[1] in available)
    runs = (*RUNS, *ceiling_runs)
    plan = plan_evaluation(RolloutConfig(data=data, sessions=args.sessions, n_bootstrap=args.bootstrap,
                                         batch_size=16),
                           {name: (name, {"checkpoint": checkpoints[name]} if name in checkpoints else {})
                            for _, name, _ in runs})
    for note in plan.notes:
        print(f"[evaluate] {note}")
    stores = open_stores(plan.config)

    results: dict[str, Any] = {"agents": {}, "paired": [], "ceiling": {}, "wall_s": wall,
                               "notes": list(plan.notes)}
    records: dict[str, Any] = {}
    for label, name, persona_mode in runs:
        run_config = replace(plan.config, persona_mode=persona_mode)
        try:
            agent = make_agent(name, run_config, train_store=stores[1], **plan.agent_kwargs[name])
        except ValueError as exc:
            if (label, name, persona_mode) not in ceiling_runs:
                raise
            # The oracle forks this project's generator: data it did not write has no ceiling.
            results["notes"].append(f"no ceiling row {label}: {exc}")
            print(f"[evaluate] no ceiling row {label}: {exc}", flush=True)
            continue
        began = time.perf_counter()
        result = run_rollout(agent, run_config, store=stores[0], train_store=stores[1], progress=True, desc=label)
        wall[label] = round(time.perf_counter() - began, 1)
        entry = summarise_run(result.samples, result.metrics, n_bootstrap=args.bootstrap)
        entry["persona_mode"] = persona_mode
        entry["prompts_over_budget"] = result.info["rollout"]["prompts_over_budget"]
        if (label, name, persona_mode) in ceiling_runs:
            entry["uses_hidden_state"] = True  # the generator's latent state: no agent has it
            results["ceiling"][label] = entry
        else:
            results["agents"][label] = entry
        records[label] = result.records()
        del agent

    best = max(BASELINES, key=lambda b: results["agents"][b]["exact_match"]["value"])
    results["best_baseline"] = best
    oracle = results["ceiling"].get("oracle", {}).get("exact_match", {}).get("value")
    floor = results["agents"][best]["exact_match"]["value"]
    for entry in results["agents"].values():
        entry["gap_closed"] = gap_closed(entry["exact_match"]["value"], floor, oracle)
    lookup = click_type_lookup(stores[1], stores[0])
    pairs = [(a, best if b == "best baseline" else b, b == "best baseline") for a, b in COMPARISONS]
    if "oracle" in records and "oracle_shuffled_persona" in records:
        pairs.append(("oracle", "oracle_shuffled_persona", False))
    for a, b, is_best in pairs:
        diff = paired_difference(records[a], records[b], lookup, n_bootstrap=args.bootstrap,
                                 metrics=("exact_match",))["exact_match"]
        results["paired"].append({"a": a, "b": b, "diff": diff["value"], "low": diff["low"], "high": diff["high"],
                                  **({"role": "best baseline"} if is_best else {})})
    wall["total"] = round(time.perf_counter() - started, 1)
    results["provenance"] = {
        **provenance(stores={"evaluated": stores[0], "train": stores[1]}, checkpoints=checkpoints),
        "recipe_key": pipeline_dir(config).name, "data": plan.config.data.to_dict(),
        "max_prompt_tokens": config.max_prompt_tokens, "bootstrap": args.bootstrap,
        "load_average": _load_average(), "ceiling_available": bool(results["ceiling"]),
    }
    print(format_tables(results))
    if args.out:
        atomic_write_text(args.out / "evaluation.json", json.dumps(results, indent=2, default=str) + "\n")
        print(f"[customer-r1] wrote {args.out / 'evaluation.json'}")
    return results


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in __import__("os").getloadavg()]
    except OSError:  # pragma: no cover - platforms without getloadavg
        return None


def format_tables(results: Mapping[str, Any]) -> str:
    """The results as Markdown: one row per agent (ceiling rows marked), then the paired differences."""
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    types = ("click", "input", "terminate")
    lines = ["| agent | exact match % | 95% CI | mean reward | distinct answers | "
             + " | ".join(f"{t} %" for t in types) + " | gap closed |",
             "|---|---:|---|---:|---:|" + "---:|" * len(types) + "---:|"]
    rows = [(label, entry, False) for label, entry in results["agents"].items()]
    rows += [(label, entry, True) for label, entry in results.get("ceiling", {}).items()]
    for label, entry, hidden in rows:
        em, reward = entry["exact_match"], entry["reward"]
        by_type = " | ".join(pct(entry["by_type"][t]) if t in entry["by_type"] else "-" for t in types)
        gap = entry.get("gap_closed")
        name = f"{label} ({CEILING_MARK})" if hidden else label
        lines.append(f"| {name} | {pct(em['value'])} | [{pct(em['low'])}, {pct(em['high'])}] | "
                     f"{reward['value']:.1f} | {entry['distinct_answers']} | {by_type} | "
                     f"{'-' if gap is None else pct(gap) + '%'} |")
    lines += ["", f"best model-free baseline: {results['best_baseline']}", "",
              "| paired difference (exact match) | points | 95% CI |", "|---|---:|---|"]
    for diff in results["paired"]:
        lines.append(f"| {diff['a']} - {diff['b']} | {100 * diff['diff']:+.1f} | "
                     f"[{100 * diff['low']:+.1f}, {100 * diff['high']:+.1f}] |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
