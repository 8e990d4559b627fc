"""Training Customer-R1 policies: SFT and GRPO with TRL, the tiny default model, the CPU pipeline.

Modules (each readable on its own; nothing heavy is imported here):

* :mod:`training.sft` and :mod:`training.grpo`: the two training scripts (``python
  training/sft.py --help``), TRL-style: ``main(project, training_args, model_args) -> Path``;
* :mod:`training.options`: their command line (TRL's ``TrlParser``; ``ProjectOptions``, the
  project's options, shared by both);
* :mod:`training.grpo_rewards`: the environment's reward in TRL's calling convention;
* :mod:`training.step_data`: the environment's exported step dataset, checked against the budget
  and cached by its fingerprint;
* :mod:`training.model_setup`: precision defaults, the base model, tokenizer fingerprints;
* :mod:`training.run_summary`: ``training_summary.json``, with the conditions a run trained under;
* :mod:`training.evaluate_pipeline`: the pipeline's agents against the baselines;
* :mod:`training.tiny_model`: the tiny default model and tokenizer, built locally;
* :mod:`training.pipeline`: ``ensure_checkpoint(kind)``, the cached embedded default pipeline;
* :mod:`training.fast_generation`: one prefill per GRPO group, static compiled KV cache;
* :mod:`training.profile_grpo_step`: memory and speed of one GRPO step of a Qwen2.5-shaped model.

See ``docs/TRAINING.md`` for the recipes (CPU default, one GPU, several GPUs).

Example:
    >>> from training.pipeline import ensure_checkpoint
    >>> path = ensure_checkpoint("customer_r1")  # doctest: +SKIP
"""
