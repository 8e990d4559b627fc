"""Supervised fine-tuning (SFT) of a Customer-R1 policy with TRL's ``SFTTrainer``.

The policy learns to write, for each recorded step, the wire JSON the shopper's action maps to:
``{"rationale": "...", "action": {...}}`` given the environment's own prompt (persona, session so
far, current page) rendered by ``customer_env.prompt`` and exported by ``customer_env.export``.
The loss is on the completion only. A run writes the model (or LoRA adapter), its tokenizer and a
model card to ``--output_dir``, ``checkpoint-N`` directories while training, and
``training_summary.json`` last: a run is complete when that file exists, and its ``conditions``
tell evaluation how the model was trained. ``agents.make("sft", checkpoint=OUTPUT_DIR)`` loads it
(or ``checkpoint=HUB_ID`` after ``--push_to_hub``).

Options are TRL's (``SFTConfig``, ``ModelConfig``: ``python training/sft.py --help``) plus the
project's (``training.options.ProjectOptions``: the data, the prompt budget, the step export);
``--config run.yaml`` sets any of them in TRL's layout (flags win).

Usage:
    python training/sft.py                                   # tiny default model, embedded store
    python training/sft.py --model_name_or_path Qwen/Qwen2.5-7B-Instruct --source hub --use_peft
    python training/sft.py --config training/configs/sft_qwen2.5-7b.yaml --max_steps 500
    python training/sft.py --output_dir runs/sft --resume_from_checkpoint latest   # after an interruption

Where we differ from the paper (Customer-R1, arXiv 2510.07230), and why:
    * Rationale targets: OPeRA has human rationales for ~3.5% of steps. The paper's steps without
      one get a model-written rationale; we default to the export's short template rationale
      (``--rationale_fill``), so training needs no teacher model. The ``rationale_source``
      column records which is which; a template rationale is never scored as a human one.
    * Context: the paper trains with ~65k-token prompts; our default budget is 16k (fits one
      H100 with LoRA and gradient checkpointing). Prompts are fitted by the environment's
      renderer (oldest pages dropped first), never cut by the trainer; rows that cannot fit are
      counted and skipped (``--on_unfit error`` stops instead).
    * LoRA with ``--use_peft`` (the 7B recipe sets it; the paper fine-tunes all weights of
      Qwen2.5-7B). The tiny default model is fully fine-tuned.
    * Schedule: the paper runs 2000 steps at batch 64 (lr 1e-5, 150 warm-up steps, cosine).
      Defaults here are those, with batch 64 = per-device batch x gradient accumulation x GPUs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from training.model_setup import precision_defaults
from training.options import (DEFAULT_MAX_COMPLETION_LENGTH, ProjectOptions, StepSFTConfig, build_training_args,
                              parse_training_args, resolve_resume)
from training.step_data import StepData

#: The project's defaults for TRL's options (the paper's schedule; a YAML file and flags override them).
DEFAULTS: dict[str, Any] = {
    "output_dir": "runs/sft",
    "learning_rate": 1e-5, "lr_scheduler_type": "cosine", "warmup_steps": 150,
    "num_train_epochs": 1.0, "max_steps": 2000,
    "per_device_train_batch_size": 1, "gradient_accumulation_steps": 64,
    "logging_steps": 10, "save_strategy": "steps", "save_steps": 200, "save_total_limit": 2,
    "seed": 0, "report_to": "none", "dataloader_num_workers": 0,
    # Every parameter takes part in every forward pass: no extra autograd traversal under DDP.
    "ddp_find_unused_parameters": False,
    # Every row is measured against the budget before training: nothing is ever cut or packed.
    "max_length": None, "packing": False, "completion_only_loss": True,
    "max_completion_length": DEFAULT_MAX_COMPLETION_LENGTH,
}


def options(**values: Any) -> tuple[ProjectOptions, StepSFTConfig, Any]:
    """The options of a run from option names and values (as a YAML config sets them), on the
    script's defaults: what :func:`parse_args` gives for the same flags."""
    return build_training_args(StepSFTConfig, {**DEFAULTS, **precision_defaults(), **values})


def parse_args(argv: Sequence[str] | None = None, *,
               check_inputs: bool = False) -> tuple[ProjectOptions, StepSFTConfig, Any]:
    """``(ProjectOptions, StepSFTConfig, ModelConfig)`` from the command line and ``--config``; with
    ``check_inputs`` (the command line) also refuses inputs that are not there, in one line."""
    return parse_training_args(StepSFTConfig, argv, defaults={**DEFAULTS, **precision_defaults()},
                               prog="training/sft.py", check_inputs=check_inputs)


def main(project: ProjectOptions, training_args: StepSFTConfig, model_args: Any, *,
         train_data: StepData | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run SFT and return the output directory (model, tokenizer, model card, summary).

    Args:
        project, training_args, model_args: The parsed options (:func:`parse_args`).
        train_data: Already exported training data (the pipeline shares one export between
            runs); default: exported here (or read from its cache) from ``project``.
        callbacks: Extra ``transformers.TrainerCallback`` objects.
    """
    from trl import SFTTrainer, get_peft_config

    from agents.checkpoint import inspect_checkpoint, load_model, load_tokenizer
    from customer_env.export import CONVERSATION_COLUMNS
    from training.launch import check_launch
    from training.model_setup import resolve_base_model, score_only_labelled_positions_on_cpu
    from training.run_summary import run_summary, save_run, training_conditions
    from training.step_data import format_report, load_run_data

    check_launch(training_args)  # several processes that did not connect, or FSDP on CPUs: refused now
    started = time.perf_counter()
    out = Path(training_args.output_dir)
    score_only_labelled_positions_on_cpu()  # same loss, far less CPU time (see training/model_setup.py)
    with training_args.main_process_first(desc="building the tiny model"):  # once, however many processes
        base, is_tiny = resolve_base_model(model_args.model_name_or_path)

    # 1. Model and tokenizer (the one loader agents use too). The tokenizer counts the budget.
    checkpoint = inspect_checkpoint(base, revision=model_args.model_revision)
    tokenizer = load_tokenizer(checkpoint, padding_side="right")
    model = load_model(checkpoint, for_training=True, dtype=model_args.dtype,
                       attn_implementation=model_args.attn_implementation)

    # 2. Data: the environment's own prompts and wire-JSON targets, filtered to the budget; built
    #    once (by the main process when several are launched) and cached by its fingerprint.
    train_data, eval_data = load_run_data(tokenizer, project, training_args, train_data)
    if training_args.should_log:
        print(f"[sft] data: {format_report(train_data.report)}", flush=True)
    # Pre-tokenized rows (training.loss_targets, training.transcripts: labels on more than the
    # completion) are used as they are; conversational rows are templated and masked by TRL.
    tokenized = "input_ids" in train_data.dataset.column_names
    columns = ["input_ids", "labels"] if tokenized else list(CONVERSATION_COLUMNS)

    # 3. Trainer. No max_length cut: every row was measured against the budget above.
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=train_data.dataset.select_columns(columns),
        eval_dataset=eval_data.dataset.select_columns(list(CONVERSATION_COLUMNS)) if eval_data is not None else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args) if not hasattr(model, "peft_config") else None,
        callbacks=list(callbacks),
    )

    # 4. Train, resuming from the latest (or a given) checkpoint when asked.
    resume = resolve_resume(training_args)
    result = trainer.train(resume_from_checkpoint=resume)

    # 5. Save the model (or adapter), its tokenizer and a model card, then the summary (last),
    #    then push when asked (the summary travels with the model).
    tokenizer.padding_side = "left"  # what generation (agents, GRPO) needs from the saved tokenizer
    conditions = training_conditions("sft", project, training_args, model_args, tokenizer=tokenizer,
                                     tokenizer_source=checkpoint.tokenizer_source,
                                     store_fingerprint=train_data.report.get("store_fingerprint"))
    save_run(trainer, out, tokenizer, embedded=project.store_spec().is_embedded,
             summary=lambda: run_summary(conditions, trainer, result, train_data, resume=resume, started=started,
                                         base_model=base, tiny_model=is_tiny,
                                         lora=hasattr(trainer.model, "peft_config"), bf16=training_args.bf16))
    if training_args.should_log:
        print(f"[sft] done: {trainer.state.global_step} steps, model in {out}", flush=True)
    return out


if __name__ == "__main__":
    main(*parse_args(check_inputs=True))
