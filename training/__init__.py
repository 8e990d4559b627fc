"""Training Customer-R1 policies: SFT and GRPO with TRL, the tiny default model, the CPU pipeline.

Modules (each readable on its own; nothing heavy is imported here):

* :mod:`training.sft` and :mod:`training.grpo`: the two training scripts (``python
  training/sft.py --help``), each with one options dataclass and a ``main(options) -> Path``;
* :mod:`training.step_data`: the environment's exported step dataset, checked against the budget;
* :mod:`training.config`: option parsing (flags and ``--config`` files), model loading, summaries;
* :mod:`training.tiny_model`: the tiny default model and tokenizer, built locally;
* :mod:`training.pipeline`: ``ensure_checkpoint(kind)``, the cached embedded default pipeline;
* :mod:`training.fast_generation`: one prefill per GRPO group, static compiled KV cache;
* :mod:`training.profile_grpo_step`: memory and speed of one GRPO step of a Qwen2.5-shaped model.

See ``docs/TRAINING.md`` for the recipes (CPU default, one GPU, several GPUs).

Example:
    >>> from training.pipeline import ensure_checkpoint
    >>> path = ensure_checkpoint("customer_r1")  # doctest: +SKIP
"""
