"""Supervised fine-tuning (SFT) of a Customer-R1 policy with TRL's ``SFTTrainer``.

The policy learns to write, for each recorded step, the wire JSON the shopper's action maps to:
``{"rationale": "...", "action": {...}}`` given the environment's own prompt (persona, session so
far, current page) rendered by ``customer_env.prompt`` and exported by ``customer_env.export``.
The loss is on the completion only. A run writes the model (or LoRA adapter) and its tokenizer to
``--output_dir``, ``checkpoint-N`` directories while training, and ``training_summary.json`` last:
a run is complete when that file exists. ``agents.make("sft", checkpoint=OUTPUT_DIR)`` loads it.

Usage:
    python training/sft.py                                   # tiny default model, embedded store
    python training/sft.py --model Qwen/Qwen2.5-7B-Instruct --source hub --bf16 true
    python training/sft.py --config run.yaml --max_steps 2000
    python training/sft.py --output_dir runs/sft --resume    # continue after an interruption

Where we differ from the paper (Customer-R1, arXiv 2510.07230), and why:
    * Rationale targets: OPeRA has human rationales for ~3.5% of steps. The paper's steps without
      one get a model-written rationale; we default to the export's short template rationale
      (``--rationale_fill``), so training needs no teacher model. The ``rationale_source``
      column records which is which; a template rationale is never scored as a human one.
    * Context: the paper trains with ~65k-token prompts; our default budget is 16k (fits one
      H100 with LoRA and gradient checkpointing). Prompts are fitted by the environment's
      renderer (oldest pages dropped first), never cut by the trainer; rows that cannot fit are
      counted and skipped (``--on_unfit error`` stops instead).
    * LoRA by default on real models (the paper fine-tunes all weights of Qwen2.5-7B); full
      fine-tuning with ``--lora false``. The tiny default model is always fully fine-tuned.
    * Schedule: the paper runs 2000 steps at batch 64 (lr 1e-5, 150 warm-up steps, cosine).
      Defaults here are those, with batch 64 = per-device batch x gradient accumulation x GPUs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from training.config import (
    cuda_available,
    load_causal_lm,
    load_tokenizer,
    lora_config,
    parse_config,
    resolve_base_model,
    resolve_bf16,
    run_summary,
    score_only_labelled_positions_on_cpu,
    write_summary,
)
from training.step_data import StepData, format_report, load_step_data


@dataclass
class SFTOptions:
    """Options of an SFT run (each is a ``--flag``; ``--config FILE`` sets any of them).

    Attributes:
        model: Hugging Face model id or directory; default: the tiny model, built locally.
        output_dir: Where checkpoints, the final model and the summary go.
        source: Data: None/``embedded``, ``hub`` or a directory in the OPeRA hub layout.
        variant: ``filtered`` (the paper's setting) or ``full``.
        page_scale: Page scale of the embedded store (None: full-size pages).
        max_prompt_tokens: Prompt budget in the model's tokens.
        max_completion_tokens: Longest target completion allowed.
        persona_mode: ``real``; ``none`` or ``shuffled`` train the persona ablations.
        rationale_fill: How steps without a human rationale get their target rationale.
        max_examples: Train on a seeded sample of at most this many steps.
        on_unfit: ``skip`` (count and drop) or ``error`` for steps over the budget.
        completion_only_loss: Loss on the completion only (the SFT of the paper). False trains
            on every token (the prompts too): language-model pre-training on the environment's
            text, which the embedded pipeline uses to give its from-scratch tiny model what a
            pretrained model already knows.
        lora: Train a LoRA adapter; None: yes for a real model, no for the tiny default.
        lora_r, lora_alpha, lora_dropout, lora_target_modules: The adapter's shape.
        learning_rate, lr_scheduler_type, warmup_steps: The schedule (warm-up: steps or ratio).
        num_train_epochs, max_steps: Length (``max_steps`` > 0 wins).
        per_device_train_batch_size, gradient_accumulation_steps: Batch = their product x GPUs.
        gradient_checkpointing: None: on with a GPU, off on the CPU.
        bf16: None: on with a bf16-capable GPU; must be off on the CPU.
        attn_implementation: e.g. ``sdpa`` or ``flash_attention_2``; None: the model's default.
        logging_steps, save_steps, save_total_limit: Logging and checkpointing.
        resume: Continue from the latest ``checkpoint-N`` in ``output_dir``.
        resume_from: Continue from this checkpoint directory instead.
        seed: Seed of initialisation order, data order and sampling.
        report_to: ``none``, ``tensorboard``, ``wandb``, ...
    """

    model: str | None = None
    output_dir: str = "runs/sft"
    source: str | None = None
    variant: str = "filtered"
    page_scale: float | None = None
    max_prompt_tokens: int = 16384
    max_completion_tokens: int = 256
    persona_mode: str = "real"
    rationale_fill: str = "template"
    max_examples: int | None = None
    on_unfit: str = "skip"
    completion_only_loss: bool = True
    lora: bool | None = None
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = "all-linear"
    learning_rate: float = 1e-5
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 150
    num_train_epochs: float = 1.0
    max_steps: int = 2000
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 64
    gradient_checkpointing: bool | None = None
    bf16: bool | None = None
    attn_implementation: str | None = None
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int | None = 2
    resume: bool = False
    resume_from: str | None = None
    seed: int = 0
    report_to: str = "none"


def main(config: SFTOptions, *, train_data: StepData | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run SFT and return the output directory (the model, its tokenizer and the summary).

    Args:
        config: The run's options.
        train_data: Already exported training data (the pipeline shares one export between
            runs); default: exported here from ``config``.
        callbacks: Extra ``transformers.TrainerCallback`` objects.
    """
    from trl import SFTConfig, SFTTrainer

    started = time.perf_counter()
    out = Path(config.output_dir)
    bf16 = resolve_bf16(config.bf16)
    score_only_labelled_positions_on_cpu()  # same loss, far less CPU time (see training/config.py)
    base, is_tiny = resolve_base_model(config.model)
    use_lora = (not is_tiny) if config.lora is None else config.lora
    use_gpu_defaults = bf16 or cuda_available()

    # 1. Model and tokenizer. The tokenizer counts the prompt budget, so it comes first.
    tokenizer = load_tokenizer(base, padding_side="right")
    model = load_causal_lm(base, bf16=bf16, attn_implementation=config.attn_implementation)

    # 2. Data: the environment's own prompts and wire-JSON targets, filtered to the budget.
    if train_data is None:
        train_data = load_step_data(
            tokenizer,
            source=config.source,
            variant=config.variant,
            split="train",
            page_scale=config.page_scale,
            max_prompt_tokens=config.max_prompt_tokens,
            max_completion_tokens=config.max_completion_tokens,
            persona_mode=config.persona_mode,
            rationale_fill=config.rationale_fill,
            max_examples=config.max_examples,
            on_unfit=config.on_unfit,
            seed=config.seed,
        )
    print(f"[sft] data: {format_report(train_data.report)}", flush=True)
    # Pre-tokenized rows (training.loss_targets: labels on more than the completion) are used as
    # they are; conversational rows are templated and masked by the trainer (completion only).
    tokenized = "input_ids" in train_data.dataset.column_names
    dataset = train_data.dataset.select_columns(["input_ids", "labels"] if tokenized else ["prompt", "completion"])

    # 3. Trainer. No max_length cut: every row was measured against the budget above.
    args = SFTConfig(
        output_dir=str(out),
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        gradient_checkpointing=use_gpu_defaults if config.gradient_checkpointing is None else config.gradient_checkpointing,
        bf16=bf16,
        fp16=False,
        max_length=None,
        completion_only_loss=config.completion_only_loss,
        packing=False,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        report_to=config.report_to,
        dataset_num_proc=None,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
        if use_lora and not _is_peft(model)
        else None,
        callbacks=list(callbacks),
    )

    # 4. Train, resuming from the latest (or a given) checkpoint when asked.
    resume: bool | str | None = config.resume_from or (True if config.resume else None)
    result = trainer.train(resume_from_checkpoint=resume)

    # 5. Save the model (or adapter) with its tokenizer, then the summary (written last).
    trainer.save_model(str(out))
    tokenizer.padding_side = "left"  # what generation (agents, GRPO) needs from the saved tokenizer
    tokenizer.save_pretrained(str(out))
    write_summary(out, run_summary("sft", config, trainer, result, train_data, resume=resume, started=started,
                                   base_model=base, tiny_model=is_tiny, lora=use_lora, bf16=bf16))
    print(f"[sft] done: {trainer.state.global_step} steps, model in {out}", flush=True)
    return out


def _is_peft(model: Any) -> bool:
    return hasattr(model, "peft_config")


if __name__ == "__main__":
    main(parse_config(SFTOptions))
