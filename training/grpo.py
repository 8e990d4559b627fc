"""Customer-R1 GRPO with TRL's ``GRPOTrainer``: sample a group of answers per step, reward each.

For every recorded step the policy samples ``--num_generations`` completions from the
environment's own prompt; each is scored by exactly the environment's reward
(``customer_env.rewards.make_trl_reward_funcs``: the same function ``env.step`` uses, over the
exported gold columns), and GRPO pushes the policy towards the better ones of its group. By
default training starts from an SFT checkpoint (the Customer-R1 recipe); ``--rl_only`` starts
from the base model instead (and the reward's ``rl_only`` variant: a wrong click earns 0).

Logged besides TRL's own metrics: the reward's components, its exact-match and parse-failure
rates (``customer_r1/...``), and the exact-match rate per gold action type
(``accuracy/click``, ``accuracy/input``, ``accuracy/terminate``). The output directory holds
the model (or adapter) with its tokenizer, ``checkpoint-N`` directories and, written last,
``training_summary.json``. ``agents.make("customer_r1", checkpoint=OUTPUT_DIR)`` loads it.

Usage:
    python training/grpo.py --sft_checkpoint runs/sft               # tiny model, embedded store
    python training/grpo.py --rl_only --model Qwen/Qwen2.5-1.5B-Instruct --bf16 true
    python training/grpo.py --sft_checkpoint runs/sft --fast_generation   # one prefill per group
    python training/grpo.py --use_vllm --vllm_mode colocate                # when vLLM is installed

Where we differ from the paper (Customer-R1, arXiv 2510.07230), and why:
    * Reward: the paper's difficulty weights (input 2000, click 1000, product_option 10,
      review/search 1, terminate 1, wrong click -1) plus a binary format reward whose size is
      unpublished (we use 1.0; a wrong non-click earns 0). ``--reward_scale log|max`` rescales
      the action weights; ``--reward_preset exact|shop_r1`` swaps the reward.
    * Advantages are normalised per group (``--scale_rewards group``, TRL's default, as in
      GRPO); the token loss is TRL's default ``dapo`` aggregation (no length bias), not the
      original per-sequence mean (``--loss_type grpo``).
    * KL: ``--beta`` (default 0.001, Shop-R1's value; the paper does not publish one). With a
      LoRA adapter continued from SFT, TRL's reference policy is the adapter switched off, i.e.
      the base model rather than the SFT model.
    * LoRA by default on real models and a 16k-token prompt budget (see ``training/sft.py``).
    * Group generation: ``--fast_generation`` prefills each prompt once per group and decodes
      with a static, compiled KV cache (``training/fast_generation.py``); same sampling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from training.config import (
    cuda_available,
    is_tiny_model,
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
from training.grpo_rewards import reward_functions
from training.step_data import StepData, format_report, load_step_data


@dataclass
class GRPOOptions:
    """Options of a GRPO run (each is a ``--flag``; ``--config FILE`` sets any of them).

    Attributes:
        sft_checkpoint: The SFT run to start from (model directory or LoRA adapter directory).
        rl_only: Start from ``model`` (the base) instead of an SFT checkpoint.
        model: Base model id or directory for ``rl_only``; default: the tiny model.
        output_dir: Where checkpoints, the final model and the summary go.
        source, variant, page_scale, max_prompt_tokens, persona_mode, max_examples, on_unfit:
            The data, as for SFT (see ``training/sft.py``).
        max_completion_length: Longest sampled completion, in tokens.
        num_generations: Group size G (completions sampled per prompt).
        generation_batch_size: Completions sampled per generation round (a multiple of G);
            None: per-device batch x gradient accumulation.
        temperature, top_p, top_k: Sampling.
        beta: KL coefficient (0 loads no reference model).
        learning_rate, lr_scheduler_type, warmup_steps, num_train_epochs, max_steps: Schedule.
        per_device_train_batch_size, gradient_accumulation_steps: Completions per optimizer step.
        num_iterations: Optimisation passes per generation round (mu in GRPO).
        loss_type: TRL loss aggregation (``dapo``, ``grpo``, ``dr_grpo``, ``bnpo``, ...).
        scale_rewards: ``group``, ``batch`` or ``none`` (advantage normalisation).
        reward_preset: ``customer_r1``, ``exact`` or ``shop_r1``.
        reward_scale: Customer-R1 action-weight scaling: ``none``, ``log`` or ``max``.
        format_weight: Customer-R1 format reward (None: the reward module's default).
        lora, lora_r, lora_alpha, lora_dropout, lora_target_modules: As for SFT.
        gradient_checkpointing, bf16, attn_implementation: As for SFT.
        fast_generation: Sample groups with one prefill per group and a static compiled cache.
        use_vllm, vllm_mode: TRL's vLLM generation (needs ``vllm``): ``colocate`` or ``server``.
        logging_steps, save_steps, save_total_limit, resume, resume_from, seed, report_to: As for SFT.
    """

    sft_checkpoint: str | None = "runs/sft"
    rl_only: bool = False
    model: str | None = None
    output_dir: str = "runs/customer_r1"
    source: str | None = None
    variant: str = "filtered"
    page_scale: float | None = None
    max_prompt_tokens: int = 16384
    persona_mode: str = "real"
    max_examples: int | None = None
    on_unfit: str = "skip"
    max_completion_length: int = 256
    num_generations: int = 8
    generation_batch_size: int | None = None
    temperature: float = 0.8
    top_p: float = 1.0
    top_k: int = 0
    beta: float = 0.001
    learning_rate: float = 1e-6
    lr_scheduler_type: str = "constant_with_warmup"
    warmup_steps: float = 0.03
    num_train_epochs: float = 2.0
    max_steps: int = -1
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 8
    num_iterations: int = 1
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    reward_preset: str = "customer_r1"
    reward_scale: str = "none"
    format_weight: float | None = None
    lora: bool | None = None
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = "all-linear"
    gradient_checkpointing: bool | None = None
    bf16: bool | None = None
    attn_implementation: str | None = None
    fast_generation: bool = False
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    logging_steps: int = 10
    save_steps: int = 100
    save_total_limit: int | None = 2
    resume: bool = False
    resume_from: str | None = None
    seed: int = 0
    report_to: str = "none"


def main(config: GRPOOptions, *, train_data: StepData | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run GRPO and return the output directory (the model, its tokenizer and the summary).

    Args:
        config: The run's options.
        train_data: Already exported training data; default: exported here from ``config``.
        callbacks: Extra ``transformers.TrainerCallback`` objects.

    Raises:
        FileNotFoundError: when the SFT checkpoint is missing (train it, or pass ``--rl_only``).
    """
    from trl import GRPOConfig, GRPOTrainer

    started = time.perf_counter()
    out = Path(config.output_dir)
    bf16 = resolve_bf16(config.bf16)
    score_only_labelled_positions_on_cpu()  # same loss, far less CPU time (see training/config.py)
    use_gpu_defaults = bf16 or cuda_available()

    # 1. The starting policy: the SFT checkpoint (Customer-R1), or the base model (--rl_only).
    if config.rl_only:
        start, is_tiny = resolve_base_model(config.model)
    else:
        if not config.sft_checkpoint or not (Path(config.sft_checkpoint) / "training_summary.json").exists():
            raise FileNotFoundError(
                f"no finished SFT run at {config.sft_checkpoint!r} (it has no training_summary.json): "
                "run training/sft.py first, or pass --rl_only to start from the base model"
            )
        start = config.sft_checkpoint
        is_tiny = is_tiny_model(start)
    tokenizer = load_tokenizer(start, padding_side="left")  # GRPO generates: pad on the left
    model = load_causal_lm(start, bf16=bf16, attn_implementation=config.attn_implementation)
    use_lora = (not is_tiny) if config.lora is None else config.lora

    # 2. Data: prompts and gold columns; the reward functions read the gold columns.
    if train_data is None:
        train_data = load_step_data(
            tokenizer,
            source=config.source,
            variant=config.variant,
            split="train",
            page_scale=config.page_scale,
            max_prompt_tokens=config.max_prompt_tokens,
            max_completion_tokens=config.max_completion_length,
            persona_mode=config.persona_mode,
            max_examples=config.max_examples,
            on_unfit=config.on_unfit,
            seed=config.seed,
        )
    print(f"[grpo] data: {format_report(train_data.report)}", flush=True)
    reward_funcs, reward_weights = reward_functions(
        config.reward_preset, rl_only=config.rl_only, scale=config.reward_scale, format_weight=config.format_weight
    )

    # 3. Trainer.
    args = GRPOConfig(
        output_dir=str(out),
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_generations=config.num_generations,
        generation_batch_size=config.generation_batch_size,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        beta=config.beta,
        num_iterations=config.num_iterations,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        reward_weights=reward_weights,
        gradient_checkpointing=use_gpu_defaults if config.gradient_checkpointing is None else config.gradient_checkpointing,
        bf16=bf16,
        fp16=False,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        report_to=config.report_to,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    rollout_func = None
    if config.fast_generation:
        from training.fast_generation import make_rollout_func

        rollout_func = make_rollout_func()
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_data.dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
        if use_lora and not hasattr(model, "peft_config")
        else None,
        callbacks=list(callbacks),
        rollout_func=rollout_func,
    )

    # 4. Train, resuming from the latest (or a given) checkpoint when asked.
    resume: bool | str | None = config.resume_from or (True if config.resume else None)
    result = trainer.train(resume_from_checkpoint=resume)

    # 5. Save the model (or adapter) with its tokenizer, then the summary (written last).
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    write_summary(out, run_summary("customer_r1", config, trainer, result, train_data, resume=resume, started=started,
                                   start=start, tiny_model=is_tiny, lora=use_lora, bf16=bf16))
    print(f"[grpo] done: {trainer.state.global_step} steps, model in {out}", flush=True)
    return out


if __name__ == "__main__":
    main(parse_config(GRPOOptions))
