"""GRPO group generation: our prefix-shared rollout path against TRL's default ``generate`` path.

A GRPO group is one long prompt sampled ``G`` times. Both paths get the same randomly initialised
Qwen2.5-shaped model (configuration only, no weights downloaded), the same prompt and the same
generation config as TRL's ``GRPOTrainer`` builds it without vLLM (sampling at temperature 1.0,
top_p 1.0, top_k 0, no compile):

* **TRL default**: the prompt repeated ``G`` times, left-padded, one ``model.generate`` call with a
  dynamic cache (``GRPOTrainer._generate_single_turn``'s transformers path), cut after EOS;
* **ours**: :class:`training.fast_generation.GroupedPrefixGenerator` (one prefill per group, a
  static cache, a compiled decode step on CUDA).

Printed per path: seconds per group (median of ``--repeats`` after ``--warmup`` runs, paths
interleaved), the prefill (a run with one new token) and the decode cost per step derived from
it, peak GPU memory, and the speed-up. An analytic hardware floor (one prefill, then every
decode step reading the weights and the shared prefix's keys and values once, at the GPU's peak
FLOP rate and memory bandwidth) puts the figures in scale. Sampling is checked twice with the
same seed for both paths: on the timed runs, and in float32 on a shorter prompt with compilation
off, where the tokens must agree (exactly on CPU).

Usage::

    python benchmarks/grpo_rollout.py                             # H100: Qwen2.5-1.5B shape, 16k prompt, G=8
    python benchmarks/grpo_rollout.py --shape 7b --out runs/grpo_rollout_7b.json
    python benchmarks/grpo_rollout.py --device cpu --quick        # tiny model on CPU (the smoke test)

Example:
    >>> token_agreement([[1, 2, 3], [4, 5]], [[1, 2, 9], [4, 5]])
    (1, 2, 0.8)
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine, markdown_table, median, report, verdict
from customer_env.command_line import CommandLineParser, non_negative_int, positive_int

SHAPE_NAMES = {"0.5b": "qwen2.5-0.5b", "1.5b": "qwen2.5-1.5b", "7b": "qwen2.5-7b", "tiny": "tiny"}
#: Seconds per group the fast path should reach for the 1.5B shape on one H100.
TARGET_SECONDS_1_5B = 2.0
#: H100 SXM: dense bf16 tensor-core peak and HBM3 bandwidth (the analytic floor's defaults).
H100_TFLOPS, H100_TBPS = 989.0, 3.35
EOS_ID, PAD_ID = 0, 1


def token_agreement(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> tuple[int, int, float]:
    """``(identical rows, rows, fraction of positions with the same token)`` of two samplings."""
    same_rows = sum(list(x) == list(y) for x, y in zip(a, b))
    positions = sum(max(len(x), len(y)) for x, y in zip(a, b))
    same = sum(p == q for x, y in zip(a, b) for p, q in zip(x, y))
    return same_rows, len(a), same / positions if positions else 1.0


@contextlib.contextmanager
def default_dtype(dtype: Any) -> Iterator[None]:
    """Build modules directly in ``dtype`` (no float32 copy of a 7B model on the way)."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_model(shape: str, device: str, dtype: Any, max_positions: int, seed: int) -> Any:
    """A randomly initialised Qwen2 causal LM of a published Qwen2.5 shape (no weights read)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from training.profile_grpo_step import SHAPES

    config = Qwen2Config(**SHAPES[shape], max_position_embeddings=max(32768, max_positions), rope_theta=1e6,
                         eos_token_id=EOS_ID, pad_token_id=PAD_ID, bos_token_id=None)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    with torch.device(device), default_dtype(dtype):
        model = Qwen2ForCausalLM(config)
    return model.eval()


def trl_generation_config(new_tokens: int) -> Any:
    """The ``GenerationConfig`` TRL's ``GRPOTrainer`` builds for its transformers path (defaults)."""
    from transformers import GenerationConfig

    return GenerationConfig(max_new_tokens=new_tokens, do_sample=True, pad_token_id=PAD_ID, bos_token_id=None,
                            eos_token_id=[EOS_ID], temperature=1.0, top_p=1.0, top_k=0, min_p=None,
                            repetition_penalty=1.0, cache_implementation=None, disable_compile=True)


def trl_default_generate(model: Any, rows: Sequence[Sequence[int]], config: Any) -> list[list[int]]:
    """TRL's default path: left-pad the repeated prompts, one ``generate`` call, cut after EOS."""
    import torch

    from training.fast_generation import cut_after_eos

    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for i, row in enumerate(rows):
        input_ids[i, width - len(row):] = torch.tensor(list(row))
        attention_mask[i, width - len(row):] = 1
    with torch.no_grad():
        out = model.generate(input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device),
                             generation_config=config)
    return [cut_after_eos(row, config.eos_token_id) for row in out[:, width:].cpu()]


def timed_run(path: Any, model: Any, rows: Sequence[Sequence[int]], config: Any, seed: int
              ) -> tuple[list[list[int]], float, float]:
    """``(completions, seconds, peak GPU GiB)`` of one group, seeded; GPU work is synchronised."""
    import torch

    cuda = model.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(seed)
    started = time.perf_counter()
    completions = path(model, rows, config)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
    return completions, seconds, peak


def analytic_floor(model: Any, prompt_tokens: int, new_tokens: int, tflops: float, tbps: float) -> float:
    """Seconds for one prefill at peak FLOP rate plus decode steps that each read the weights and
    the shared prefix's keys and values once, at peak bandwidth (bf16)."""
    config = model.config
    params = sum(p.numel() for p in model.parameters())
    embedding = config.vocab_size * config.hidden_size
    body = params - embedding * (1 if config.tie_word_embeddings else 2)
    head_dim = config.hidden_size // config.num_attention_heads
    layers = config.num_hidden_layers
    prefill = 2 * body * prompt_tokens + 2 * layers * prompt_tokens**2 * config.hidden_size  # causal QK^T + AV
    kv_bytes = 2 * layers * config.num_key_value_heads * head_dim * 2 * prompt_tokens
    weight_bytes = 2 * (params - (0 if config.tie_word_embeddings else embedding))  # input embedding rows: ~0
    return prefill / (tflops * 1e12) + new_tokens * (weight_bytes + kv_bytes) / (tbps * 1e12)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table and return the results."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="1.5b", choices=sorted(SHAPE_NAMES))
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    parser.add_argument("--prompt-tokens", type=positive_int, default=16384)
    parser.add_argument("--group", type=positive_int, default=8, help="completions per prompt (G)")
    parser.add_argument("--new-tokens", type=positive_int, default=256)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--warmup", type=non_negative_int, default=1, help="untimed runs per path first (compilation)")
    parser.add_argument("--no-prefill-split", action="store_true", help="skip the one-token runs")
    parser.add_argument("--check-prompt-tokens", type=positive_int, default=512)
    parser.add_argument("--check-new-tokens", type=positive_int, default=32)
    parser.add_argument("--peak-tflops", type=float, default=H100_TFLOPS)
    parser.add_argument("--hbm-tbps", type=float, default=H100_TBPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="tiny model, 64-token prompt, G=4, 8 tokens: checks that it runs (use with --device cpu)")
    parser.add_argument("--out", default=None, help="also write the results as JSON to this file (atomically)")
    args = parser.parse_args(argv)
    import torch

    from training.fast_generation import GroupedPrefixGenerator

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.quick:
        args.shape, args.prompt_tokens, args.group, args.new_tokens = "tiny", 64, 4, 8
        args.repeats, args.warmup, args.check_prompt_tokens, args.check_new_tokens = 1, 0, 48, 8
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    shape = SHAPE_NAMES[args.shape]
    model = build_model(shape, device, dtype, args.prompt_tokens + args.new_tokens, args.seed)
    vocab = model.config.vocab_size
    prompt = torch.randint(2, vocab, (args.prompt_tokens,), generator=torch.Generator().manual_seed(args.seed)).tolist()
    rows = [prompt] * args.group
    config = trl_generation_config(args.new_tokens)
    generator = GroupedPrefixGenerator()
    paths = {"TRL default generate": trl_default_generate, "ours (fast_generation)": generator.generate}

    for _ in range(args.warmup):
        for path in paths.values():
            timed_run(path, model, rows, config, args.seed)
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    peaks: dict[str, float] = {name: 0.0 for name in paths}
    samples: dict[str, list[list[int]]] = {}
    for repeat in range(args.repeats):
        for name, path in paths.items():
            completions, elapsed, peak = timed_run(path, model, rows, config, args.seed + repeat)
            seconds[name].append(elapsed)
            peaks[name] = max(peaks[name], peak)
            if repeat == 0:
                samples[name] = completions
    prefill: dict[str, float | None] = {name: None for name in paths}
    if not args.no_prefill_split and args.new_tokens > 1:
        one = trl_generation_config(1)
        for name, path in paths.items():
            prefill[name] = median([timed_run(path, model, rows, one, args.seed)[1] for _ in range(args.repeats)])
    plain_name, fast_name = list(paths)
    timed_agreement = token_agreement(samples[plain_name], samples[fast_name])

    del generator, paths  # frees the pooled static cache before the float32 check
    model = model.float()
    check_prompt = prompt[: args.check_prompt_tokens]
    check_rows = [check_prompt] * args.group
    check_config = trl_generation_config(args.check_new_tokens)
    plain = timed_run(trl_default_generate, model, check_rows, check_config, args.seed)[0]
    fast = timed_run(GroupedPrefixGenerator(compile=False).generate, model, check_rows, check_config, args.seed)[0]
    check_agreement = token_agreement(plain, fast)

    per_group = {name: median(values) for name, values in seconds.items()}
    speedup = per_group[plain_name] / per_group[fast_name]
    floor = analytic_floor(model, args.prompt_tokens, args.new_tokens, args.peak_tflops, args.hbm_tbps)
    rows_out = []
    for name in seconds:
        decode_ms = (None if prefill[name] is None else
                     1000 * (per_group[name] - prefill[name]) / (args.new_tokens - 1))
        rows_out.append([name, round(per_group[name], 3),
                         "-" if prefill[name] is None else round(prefill[name], 3),
                         "-" if decode_ms is None else round(decode_ms, 2),
                         round(peaks[name], 2) if peaks[name] else "-",
                         f"{per_group[plain_name] / per_group[name]:.2f}x"])
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else None
    if gpu is not None:  # the floor assumes GPU peak rates: meaningless for a CPU run
        rows_out.append([f"analytic floor ({args.peak_tflops:g} TFLOP/s, {args.hbm_tbps:g} TB/s)", round(floor, 3),
                         "-", "-", "-", f"{per_group[plain_name] / floor:.1f}x"])
    evaluate_target = gpu is not None and args.shape == "1.5b" and not args.quick
    met = {"fast_within_2s_1.5b": per_group[fast_name] <= TARGET_SECONDS_1_5B if evaluate_target else None,
           "float32_tokens_identical": check_agreement[0] == check_agreement[1]}
    results = {
        "benchmark": "grpo_rollout", "quick": args.quick, "machine": machine(), "gpu": gpu, "device": device,
        "shape": shape, "parameters": sum(p.numel() for p in model.parameters()), "dtype": str(dtype),
        "prompt_tokens": args.prompt_tokens, "group": args.group, "new_tokens": args.new_tokens,
        "repeats": args.repeats, "warmup": args.warmup, "seconds": seconds, "seconds_per_group": per_group,
        "prefill_seconds": prefill, "peak_gpu_gib": peaks, "speedup": speedup, "analytic_floor_s": floor,
        "timed_run_agreement": dict(zip(("rows_identical", "rows", "token_fraction"), timed_agreement)),
        "float32_check_agreement": dict(zip(("rows_identical", "rows", "token_fraction"), check_agreement)),
        "targets_met": met, "versions": {"torch": torch.__version__, **_versions()},
    }
    target_text = verdict(met["fast_within_2s_1.5b"], args.quick)
    if met["fast_within_2s_1.5b"] is None and not args.quick:
        target_text += " (the target is for the 1.5B shape on a GPU)"
    notes = [
        f"{shape}, {dtype}, {device}{f' ({gpu})' if gpu else ''}: prompt {args.prompt_tokens} tokens, G={args.group}, "
        f"{args.new_tokens} sampled tokens; median of {args.repeats} after {args.warmup} warm-up run(s) per path.",
        f"Speed-up over TRL's default path: {speedup:.2f}x. "
        f"Fast path <= {TARGET_SECONDS_1_5B:g} s/group: {target_text}.",
        f"Same seed, timed runs ({dtype}): {timed_agreement[0]}/{timed_agreement[1]} rows identical, "
        f"{100 * timed_agreement[2]:.1f}% of tokens. float32 check ({args.check_prompt_tokens}-token prompt, "
        f"{args.check_new_tokens} tokens, no compile): {check_agreement[0]}/{check_agreement[1]} rows identical, "
        f"{100 * check_agreement[2]:.1f}% of tokens.",
    ]
    header = ["path", "s / group", "prefill s", "decode ms / step", "peak GPU GiB", "speed-up vs TRL"]
    report("GRPO group generation", markdown_table(header, rows_out), results, args.out, notes)
    return results


def _versions() -> dict[str, str]:
    import transformers
    import trl

    return {"transformers": transformers.__version__, "trl": trl.__version__}


if __name__ == "__main__":
    main()
