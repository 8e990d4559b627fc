"""``training_summary.json``: what a finished run records next to its model, written last.

The summary is how a checkpoint describes itself: its ``conditions``
(``agents.checkpoint.TrainingConditions``: the data and page scale, the prompt and completion
budgets, the tokenizer, the recipe) are what ``agents.checkpoint.resolve_checkpoint`` reads to
evaluate it the way it was trained; the rest is the run's bookkeeping (data kept and skipped,
steps, final metrics, provenance). A run is complete when the file exists (it is written
atomically, after the model, the tokenizer and the model card).

Example:
    >>> final_log([{"loss": 2.0, "step": 1}, {"loss": 1.0, "step": 2}])
    {'loss': 1.0, 'step': 2}
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from agents.checkpoint import SUMMARY_FILE, TrainingConditions
from customer_env.cache import atomic_write_text
from customer_env.provenance import provenance
from training.launch import launch_record
from training.model_setup import tokenizer_fingerprint
from training.options import ProjectOptions, options_dict


def training_conditions(kind: str, project: ProjectOptions, training: Any, model: Any, *,
                        tokenizer: Any, tokenizer_source: str, store_fingerprint: str | None = None) -> TrainingConditions:
    """The conditions a run trains under (what evaluation must reproduce)."""
    return TrainingConditions(kind=kind, data=project.store_spec(), max_prompt_tokens=project.max_prompt_tokens,
                              max_completion_length=int(training.max_completion_length),
                              persona_mode=project.persona_mode, tokenizer=tokenizer_source,
                              tokenizer_fingerprint=tokenizer_fingerprint(tokenizer),
                              store_fingerprint=store_fingerprint,
                              recipe=options_dict(project, training, model))


def run_summary(conditions: TrainingConditions, trainer: Any, result: Any, train_data: Any, *,
                resume: Any, started: float, **fields: Any) -> dict[str, Any]:
    """What both trainers record about a finished run; ``fields`` adds the trainer's own entries."""
    return {
        "kind": conditions.kind,
        "conditions": conditions.to_dict(),
        **fields,
        "dataset_fingerprint": train_data.fingerprint,
        "data": train_data.report,
        "global_step": trainer.state.global_step,
        "launch": launch_record(trainer),
        "resumed_from": str(resume) if resume else None,
        "train_metrics": result.metrics,
        "final_log": final_log(trainer.state.log_history),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "provenance": provenance(fingerprints={"dataset": train_data.fingerprint,
                                               "store": train_data.report.get("store_fingerprint"),
                                               "tokenizer": conditions.tokenizer_fingerprint}),
    }


#: The model card's tags of both trainers (the trainer adds its own: trl, sft or grpo).
TAGS = ["customer-r1", "opera", "shopping-simulation"]


def save_run(trainer: Any, out: Path, tokenizer: Any, *, embedded: bool,
             summary: Callable[[], dict[str, Any]]) -> None:
    """Save a finished run: the model, then its tokenizer, model card and summary, then push.

    Every process takes part in ``save_model`` (a sharded model, FSDP or ZeRO-3, is gathered for
    it); the rest is written once, by the main process, with ``training_summary.json`` last (a
    checkpoint holding one is finished). ``summary`` is called only there. A push, when asked,
    carries the summary with the model.

    Args:
        trainer: The TRL trainer that trained the run.
        out: Its output directory.
        tokenizer: The tokenizer to save beside the model.
        embedded: Trained on the embedded synthetic store (the card names no dataset, and says so
            in a tag), else on OPeRA.
        summary: Builds the run's summary (:func:`run_summary`).
    """
    args = trainer.args
    dataset_name = None if embedded else "NEU-HAI/OPeRA"
    trainer.save_model(str(out))
    if args.should_save:
        tokenizer.save_pretrained(str(out))
        trainer.create_model_card(model_name=args.hub_model_id or Path(args.run_name or out).name,
                                  dataset_name=dataset_name,
                                  tags=TAGS + (["opera-synthetic"] if embedded else []))
        write_summary(out, summary())
    if args.push_to_hub:
        trainer.push_to_hub(dataset_name=dataset_name)


def write_summary(out_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``training_summary.json`` into ``out_dir`` atomically and return its path."""
    path = Path(out_dir) / SUMMARY_FILE
    atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return path


def final_log(log_history: list[dict[str, Any]]) -> dict[str, Any]:
    """The last logged value of every metric of a trainer's ``state.log_history``."""
    merged: dict[str, Any] = {}
    for entry in log_history:
        merged.update(entry)
    return merged


__all__ = ["SUMMARY_FILE", "training_conditions", "run_summary", "write_summary", "final_log"]
