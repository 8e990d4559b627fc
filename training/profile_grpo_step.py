"""Measure one GRPO step of a Qwen2.5-shaped model: peak GPU memory, seconds per step, tokens/s.

No weights are downloaded: the model is built from a Qwen2.5 configuration (0.5B, 1.5B or 7B
shape) with random weights, and the tokenizer is a synthetic word-level one over the model's
vocabulary, so a prompt of N words is exactly N tokens. It runs TRL's real ``GRPOTrainer`` (the
same code path as ``training/grpo.py``) on ``--prompts`` distinct random prompts x
``--num_generations`` completions per step, with a random reward, and reports the measured
steps after ``--warmup_steps`` (compilation, allocator growth). A random model almost never
samples end-of-sequence, so every completion runs the full ``--completion_tokens``: the worst case.

Usage (one H100; the default is the brief's 8 prompts x 8 generations, 16k prompts, 256 tokens):
    python training/profile_grpo_step.py --shape qwen2.5-1.5b --out runs/profile_1.5b.json
    python training/profile_grpo_step.py --shape qwen2.5-1.5b --fast_generation --out runs/profile_1.5b_fast.json
    python training/profile_grpo_step.py --shape qwen2.5-7b --per_device_train_batch_size 2 \\
        --fast_generation --max_generation_rows 16
    python training/profile_grpo_step.py --shape tiny --prompt_tokens 64 --completion_tokens 8   # CPU smoke

An out-of-memory error is caught and reported as the result (``"oom": true``), not raised.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from customer_env.provenance import provenance
from training.model_setup import resolve_bf16

#: Published Qwen2.5 shapes (config.json of the -Instruct checkpoints), plus a CPU-sized one.
SHAPES: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=512, tie_word_embeddings=True),
}


@dataclass
class ProfileOptions:
    """Options of the profile (each is a ``--flag``).

    Attributes:
        shape: ``qwen2.5-0.5b``, ``qwen2.5-1.5b``, ``qwen2.5-7b`` or ``tiny``.
        prompts: Distinct prompts per step.
        num_generations: Completions per prompt (the group size).
        prompt_tokens: Tokens per prompt.
        completion_tokens: Tokens per completion (``max_completion_length``).
        warmup_steps: Steps run before measuring.
        steps: Steps measured.
        per_device_train_batch_size: Completions per forward/backward micro-batch.
        lora: Train a LoRA adapter (r 16, all linear layers) instead of all weights.
        gradient_checkpointing: Recompute activations in the backward pass.
        bf16: None: on with a bf16-capable GPU.
        attn_implementation: ``sdpa`` or ``flash_attention_2`` (if installed).
        beta: KL coefficient (>0 adds a reference forward pass).
        fast_generation: Use ``training/fast_generation.py`` (one prefill per group).
        max_generation_rows: With ``fast_generation``, rows decoded per ``generate`` call.
        seed: Seed of the weights, prompts and rewards.
        out: Write the result JSON here.
    """

    shape: str = field(default="qwen2.5-1.5b", metadata={"choices": sorted(SHAPES)})
    prompts: int = 8
    num_generations: int = 8
    prompt_tokens: int = 16384
    completion_tokens: int = 256
    warmup_steps: int = 1
    steps: int = 2
    per_device_train_batch_size: int = 8
    lora: bool = True
    gradient_checkpointing: bool = True
    bf16: bool | None = None
    attn_implementation: str = "sdpa"
    beta: float = 0.0
    fast_generation: bool = False
    max_generation_rows: int | None = None
    seed: int = 0
    out: str | None = None


def word_tokenizer(vocab_size: int) -> Any:
    """A word-level tokenizer with ``vocab_size`` entries: ``<eos>``, ``<pad>``, then ``w2``, ``w3``, ..."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": 0, "<pad>": 1, **{f"w{i}": i for i in range(2, vocab_size)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>", pad_token="<pad>", padding_side="left")


def random_prompts(count: int, length: int, vocab_size: int, seed: int) -> list[str]:
    """``count`` prompts of exactly ``length`` random word tokens."""
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(2, vocab_size)}" for _ in range(length)) for _ in range(count)]


def main(options: ProfileOptions) -> dict[str, Any]:
    """Run the profile and return (and print, and optionally write) its result."""
    import torch
    from datasets import Dataset
    from transformers import Qwen2Config, Qwen2ForCausalLM, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    if options.shape not in SHAPES:
        raise ValueError(f"unknown shape {options.shape!r}; choose one of {sorted(SHAPES)}")
    bf16 = resolve_bf16(options.bf16)
    cuda = torch.cuda.is_available()
    shape = SHAPES[options.shape]
    config = Qwen2Config(**shape, max_position_embeddings=max(32768, options.prompt_tokens + options.completion_tokens),
                         rope_theta=1e6, eos_token_id=0, pad_token_id=1, bos_token_id=None)
    config._attn_implementation = options.attn_implementation
    torch.manual_seed(options.seed)
    with torch.device("cuda" if cuda else "cpu"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16 if bf16 else torch.float32)
    tokenizer = word_tokenizer(shape["vocab_size"])
    total_steps = options.warmup_steps + options.steps
    dataset = Dataset.from_dict(
        {"prompt": random_prompts(options.prompts * total_steps, options.prompt_tokens, shape["vocab_size"], options.seed)}
    )
    reward_rng = random.Random(options.seed)

    def random_reward(completions: list[Any], **_: Any) -> list[float]:
        return [reward_rng.gauss(0.0, 1.0) for _ in completions]

    completions_per_step = options.prompts * options.num_generations
    if completions_per_step % options.per_device_train_batch_size:
        raise ValueError("prompts x num_generations must be a multiple of per_device_train_batch_size")
    args = GRPOConfig(
        output_dir="/tmp/customer_r1_profile",
        per_device_train_batch_size=options.per_device_train_batch_size,
        gradient_accumulation_steps=completions_per_step // options.per_device_train_batch_size,
        num_generations=options.num_generations,
        max_completion_length=options.completion_tokens,
        max_steps=total_steps,
        learning_rate=1e-6,
        beta=options.beta,
        bf16=bf16,
        gradient_checkpointing=options.gradient_checkpointing,
        shuffle_dataset=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=options.seed,
    )
    peft_config = None
    if options.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                 task_type="CAUSAL_LM")
    rollout_func = None
    if options.fast_generation:
        from training.fast_generation import GroupedPrefixGenerator, make_rollout_func

        rollout_func = make_rollout_func(GroupedPrefixGenerator(max_rows=options.max_generation_rows))

    timings: list[float] = []
    peaks: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            self.start = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
                peaks.append(torch.cuda.max_memory_allocated() / 2**30)
            timings.append(time.perf_counter() - self.start)

    result: dict[str, Any] = {"options": asdict(options), "device": _device_name(), "bf16": bf16,
                              "parameters": sum(p.numel() for p in model.parameters()), "oom": False}
    try:
        trainer = GRPOTrainer(model=model, reward_funcs=random_reward, args=args, train_dataset=dataset,
                              processing_class=tokenizer, peft_config=peft_config, callbacks=[StepTimer()],
                              rollout_func=rollout_func)
        trainer.train()
    except torch.OutOfMemoryError as error:  # the answer for this shape and setting, not a crash
        result.update(oom=True, error=str(error).splitlines()[0])
    measured = timings[options.warmup_steps:]
    if measured:
        seconds = sum(measured) / len(measured)
        tokens = completions_per_step * (options.prompt_tokens + options.completion_tokens)
        result.update(
            seconds_per_step=round(seconds, 3),
            tokens_per_second=round(tokens / seconds, 1),
            completion_tokens_per_second=round(completions_per_step * options.completion_tokens / seconds, 1),
            step_seconds=[round(t, 3) for t in timings],
            peak_memory_gib=round(max(peaks[options.warmup_steps:]), 2) if peaks else None,
        )
    result["provenance"] = provenance()
    print(json.dumps(result, indent=2))
    if options.out:
        from customer_env.cache import atomic_write_text

        atomic_write_text(Path(options.out), json.dumps(result, indent=2) + "\n")
    return result


def _device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def parse_args(argv: Sequence[str] | None = None) -> ProfileOptions:
    """The options from the command line and ``--config FILE.yaml`` (errors: one line, exit status 2)."""
    from training.options import TrainingParser

    return TrainingParser(ProfileOptions, prog="training/profile_grpo_step.py").parse_args_and_config(argv)[0]


if __name__ == "__main__":
    main(parse_args())
