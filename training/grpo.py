"""Customer-R1 GRPO with TRL's ``GRPOTrainer``: sample a group of answers per step, reward each.

For every recorded step the policy samples ``--num_generations`` completions from the
environment's own prompt; each is scored by exactly the environment's reward
(``training.grpo_rewards``: the function ``env.step`` uses, in TRL's calling convention, over the
exported gold columns), and GRPO pushes the policy towards the better ones of its group. By
default training starts from an SFT run (``--model_name_or_path``, default ``runs/sft``: the
Customer-R1 recipe); ``--rl_only`` starts from a base model instead (default the tiny model; the
reward's ``rl_only`` variant: a wrong click earns 0).

Logged besides TRL's own metrics: the reward's components, its exact-match and parse-failure
rates (``customer_r1/...``), and the exact-match rate per gold action type
(``accuracy/click``, ``accuracy/input``, ``accuracy/terminate``). The output directory holds
the model (or adapter) with its tokenizer and a model card, ``checkpoint-N`` directories and,
written last, ``training_summary.json`` (with the conditions evaluation reproduces).
``agents.make("customer_r1", checkpoint=OUTPUT_DIR)`` loads it (or the hub id after
``--push_to_hub``).

Options are TRL's (``GRPOConfig``, ``ModelConfig``: ``python training/grpo.py --help`` lists
them all, vLLM's included) plus the project's (``training.options.ProjectOptions``);
``--config run.yaml`` sets any of them in TRL's layout (flags win).

Usage:
    python training/grpo.py --model_name_or_path runs/sft            # tiny model, embedded store
    python training/grpo.py --rl_only --model_name_or_path Qwen/Qwen2.5-1.5B-Instruct --use_peft
    python training/grpo.py --fast_generation                        # one prefill per group
    python training/grpo.py --use_vllm --vllm_mode server --vllm_server_base_url http://gpu1:8000

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
    * LoRA with ``--use_peft`` and a 16k-token prompt budget (see ``training/sft.py``).
    * Group generation: ``--fast_generation`` prefills each prompt once per group and decodes
      with a static, compiled KV cache (``training/fast_generation.py``); same sampling. It and
      ``--use_vllm`` are alternatives (refused together).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from trl import GRPOConfig

from training.model_setup import precision_defaults
from training.options import (DEFAULT_MAX_COMPLETION_LENGTH, ProjectOptions, build_training_args, parse_training_args,
                              resolve_resume)
from training.step_data import StepData

#: Where training/sft.py writes by default: GRPO's starting point when none is given.
DEFAULT_SFT_RUN = "runs/sft"
#: The project's defaults for TRL's options (a YAML file and flags override them).
DEFAULTS: dict[str, Any] = {
    "output_dir": "runs/customer_r1",
    "max_completion_length": DEFAULT_MAX_COMPLETION_LENGTH, "num_generations": 8,
    "temperature": 0.8, "top_p": 1.0, "top_k": 0, "beta": 0.001,
    "learning_rate": 1e-6, "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 0.03,
    "num_train_epochs": 2.0, "max_steps": -1,
    "per_device_train_batch_size": 8, "gradient_accumulation_steps": 8, "num_iterations": 1,
    "loss_type": "dapo", "scale_rewards": "group",
    "logging_steps": 10, "save_strategy": "steps", "save_steps": 100, "save_total_limit": 2,
    "seed": 0, "report_to": "none", "dataloader_num_workers": 0,
    # Every parameter takes part in every forward pass: no extra autograd traversal under DDP.
    "ddp_find_unused_parameters": False,
    # The reward functions read the gold columns: the trainer must keep them.
    "remove_unused_columns": False,
}


def options(**values: Any) -> tuple[ProjectOptions, GRPOConfig, Any]:
    """The options of a run from option names and values (as a YAML config sets them), on the
    script's defaults: what :func:`parse_args` gives for the same flags."""
    return build_training_args(GRPOConfig, {**DEFAULTS, **precision_defaults(), **values})


def parse_args(argv: Sequence[str] | None = None, *,
               check_inputs: bool = False) -> tuple[ProjectOptions, GRPOConfig, Any]:
    """``(ProjectOptions, GRPOConfig, ModelConfig)`` from the command line and ``--config``; with
    ``check_inputs`` (the command line) also refuses inputs that are not there, in one line."""
    return parse_training_args(GRPOConfig, argv, defaults={**DEFAULTS, **precision_defaults()},
                               prog="training/grpo.py", check_inputs=check_inputs, check=check_start)


def sft_start(model_args: Any) -> tuple[str, Any]:
    """The finished SFT run Customer-R1 starts from (``--model_name_or_path``, default ``runs/sft``)
    and its ``CheckpointInfo``.

    Raises:
        FileNotFoundError: when it is missing or unfinished (train it, or pass ``--rl_only``).
    """
    from agents.checkpoint import SUMMARY_FILE, inspect_checkpoint

    start = model_args.model_name_or_path or DEFAULT_SFT_RUN
    try:
        checkpoint = inspect_checkpoint(start, revision=model_args.model_revision)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc}: train the SFT run first (training/sft.py), or pass --rl_only to "
                                "start from a base model") from None
    if checkpoint.summary is None:
        raise FileNotFoundError(f"no finished SFT run at {start!r} (it has no {SUMMARY_FILE}): run "
                                "training/sft.py first, or pass --rl_only to start from a base model")
    return start, checkpoint


def check_start(project: ProjectOptions, training_args: GRPOConfig, model_args: Any) -> None:
    """At parse time: the SFT run to start from is there and finished (unless ``--rl_only``)."""
    if not project.rl_only:
        sft_start(model_args)


def main(project: ProjectOptions, training_args: GRPOConfig, model_args: Any, *,
         train_data: StepData | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run GRPO and return the output directory (model, tokenizer, model card, summary).

    Args:
        project, training_args, model_args: The parsed options (:func:`parse_args`).
        train_data: Already exported training data; default: exported here (or read from its
            cache) from ``project``.
        callbacks: Extra ``transformers.TrainerCallback`` objects.

    Raises:
        FileNotFoundError: when the SFT run to start from is missing or unfinished (train it, or
            pass ``--rl_only``).
    """
    from trl import GRPOTrainer, get_peft_config

    from agents.checkpoint import inspect_checkpoint, load_model, load_tokenizer
    from training.grpo_rewards import reward_config, reward_functions
    from training.launch import check_launch
    from training.model_setup import is_tiny_model, resolve_base_model, score_only_labelled_positions_on_cpu
    from training.run_summary import run_summary, save_run, training_conditions
    from training.step_data import format_report, load_run_data

    check_launch(training_args)  # several processes that did not connect, or FSDP on CPUs: refused now
    started = time.perf_counter()
    out = Path(training_args.output_dir)
    score_only_labelled_positions_on_cpu()  # same loss, far less CPU time (see training/model_setup.py)

    # 1. The starting policy: an SFT run (Customer-R1), or a base model (--rl_only).
    if project.rl_only:
        with training_args.main_process_first(desc="building the tiny model"):  # once, however many processes
            start, is_tiny = resolve_base_model(model_args.model_name_or_path)
        checkpoint = inspect_checkpoint(start, revision=model_args.model_revision)
    else:
        start, checkpoint = sft_start(model_args)
        is_tiny = is_tiny_model(start)
    tokenizer = load_tokenizer(checkpoint, padding_side="left")  # GRPO generates: pad on the left
    model = load_model(checkpoint, for_training=True, dtype=model_args.dtype,
                       attn_implementation=model_args.attn_implementation)

    # 2. Data: prompts and gold columns (the reward functions read them); built once, cached.
    train_data, eval_data = load_run_data(tokenizer, project, training_args, train_data)
    if training_args.should_log:
        print(f"[grpo] data: {format_report(train_data.report)}", flush=True)
    reward_funcs, training_args.reward_weights = reward_functions(
        project.reward_preset, rl_only=project.rl_only, scale=project.reward_scale,
        format_weight=project.format_weight)

    # 2b. --multi_step: each row starts an episode the policy plays through tools, rewarded by the
    #     environment (training/multi_step.py); the same rows, another unit of training.
    environment_factory = None
    if project.multi_step:
        from training import multi_step

        tokenizer = multi_step.tool_calling_tokenizer(tokenizer)
        environment_factory = multi_step.environment_factory(
            multi_step.stores_of(project.store_spec(), train_data, eval_data),
            max_prompt_tokens=project.max_prompt_tokens, tokenizer=tokenizer, persona_mode=project.persona_mode,
            reward=project.reward_preset, reward_config=reward_config(
                project.reward_preset, rl_only=project.rl_only, scale=project.reward_scale,
                format_weight=project.format_weight))
        train_data = multi_step.episode_data(train_data)
        eval_data = multi_step.episode_data(eval_data) if eval_data is not None else None
        reward_funcs, training_args.reward_weights = multi_step.episode_rewards()
        callbacks = [*callbacks, multi_step.no_tool_call_warning()]

    # 3. Trainer.
    rollout_func = None
    if project.fast_generation:
        from training.fast_generation import make_rollout_func

        rollout_func = make_rollout_func()
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=train_data.dataset,
        eval_dataset=eval_data.dataset if eval_data is not None else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args) if not hasattr(model, "peft_config") else None,
        callbacks=list(callbacks),
        rollout_func=rollout_func,
        environment_factory=environment_factory,
    )

    # 4. Train, resuming from the latest (or a given) checkpoint when asked.
    resume = resolve_resume(training_args)
    result = trainer.train(resume_from_checkpoint=resume)

    # 5. Save the model (or adapter), its tokenizer and a model card, then the summary (last),
    #    then push when asked (the summary travels with the model).
    conditions = training_conditions("customer_r1", project, training_args, model_args, tokenizer=tokenizer,
                                     tokenizer_source=checkpoint.tokenizer_source,
                                     store_fingerprint=train_data.report.get("store_fingerprint"))
    save_run(trainer, out, tokenizer, embedded=project.store_spec().is_embedded,
             summary=lambda: run_summary(conditions, trainer, result, train_data, resume=resume, started=started,
                                         start=start, tiny_model=is_tiny,
                                         lora=hasattr(trainer.model, "peft_config"), bf16=training_args.bf16))
    if training_args.should_log:
        print(f"[grpo] done: {trainer.state.global_step} steps, model in {out}", flush=True)
    return out


if __name__ == "__main__":
    main(*parse_args(check_inputs=True))
