"""GRPO group generation with one prefill per group, a static KV cache and a compiled decode step.

In GRPO every prompt is sampled ``G`` times, and TRL's plain path sends the batch (each prompt
repeated ``G`` times, left-padded) through ``model.generate``: the prompt is prefilled ``G``
times. OPeRA prompts are long (16k+ tokens) and completions short (~100 tokens), so prefill
dominates. This module prefills each distinct prompt **once** (batch 1, no padding), copies its
keys and values into ``G`` rows of a ``transformers.StaticCache`` laid out exactly as the
left-padded batch would be, and hands that cache to ``model.generate``, which then runs only the
last prompt token and the decode steps. With a static cache on CUDA, ``generate`` compiles the
decode step (``torch.compile``, CUDA graphs); caches are pooled by shape so the graphs are reused.

Sampling is ``generate``'s own (same logits processors, same ``torch.multinomial`` calls), on the
same ``input_ids`` and ``attention_mask`` as the plain path: with the same seed it draws the same
tokens up to floating-point differences between a batch-1 and a batched prefill (exactly the same
on CPU in float32; see ``tests/training/test_fast_generation.py``).

With ``row_seeds`` each row instead samples from its own random stream (:class:`RowSeededSampler`:
the same warped distribution, drawn by the Gumbel-max trick from a generator seeded per row), so a
row's tokens depend on its seed and its prompt only, not on which other rows share its batch,
chunk or process.

Wired into TRL through ``GRPOTrainer(rollout_func=make_rollout_func())`` (``--fast_generation``
in ``training/grpo.py``). TRL 1.16 calls ``rollout_func(prompts, trainer)`` with the per-process
slice of the generation batch, in which each prompt already appears ``num_generations`` times in a
row (a group may straddle two processes); it expects one completion per entry. Consecutive
identical prompts form a group here. The rollout function seeds every row from the run's seed,
the step and the row's place among the rows of its prompt across all processes
(:func:`sample_seeds`), so a run samples the same completions on one process or several, and a
resumed run the same as an uninterrupted one.

Example:
    >>> gen = GroupedPrefixGenerator()
    >>> # completions = gen.generate(model, [ids_a] * 8 + [ids_b] * 8, generation_config)
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from typing import Any, Callable, Sequence

import torch

#: Cache lengths are rounded up to a multiple of this, so a few compiled shapes serve all batches.
DEFAULT_CACHE_BUCKET = 512


def find_groups(prompt_ids: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """Runs of consecutive identical prompts, as ``(start, end)`` row ranges.

    Example:
        >>> find_groups([[1, 2], [1, 2], [3], [3], [1, 2]])
        [(0, 2), (2, 4), (4, 5)]
    """
    groups: list[tuple[int, int]] = []
    start = 0
    for row in range(1, len(prompt_ids) + 1):
        if row == len(prompt_ids) or list(prompt_ids[row]) != list(prompt_ids[start]):
            groups.append((start, row))
            start = row
    return groups


def _kv_shape(config: Any) -> tuple[int, int]:
    text_config = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    heads = text_config.num_attention_heads
    kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
    return kv_heads, head_dim


def cut_after_eos(completion: torch.Tensor, eos_token_ids: Sequence[int]) -> list[int]:
    """The tokens of one generated row up to and including its first end-of-sequence token."""
    tokens = completion.tolist()
    for index, token in enumerate(tokens):
        if token in eos_token_ids:
            return tokens[: index + 1]
    return tokens


#: Sampling options of a ``GenerationConfig`` that :class:`RowSeededSampler` applies itself (in
#: ``generate``'s order) and the neutral value each takes in the greedy config it hands ``generate``.
_WARPING_OPTIONS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": None}
#: Warpers ``generate`` would apply that the seeded sampler does not implement (refused, never ignored).
_UNSUPPORTED_WARPERS = ("typical_p", "epsilon_cutoff", "eta_cutoff", "top_h")


class RowSeededSampler:
    """A logits processor that samples each row from its own seeded random stream.

    ``generate`` samples a whole batch with one ``torch.multinomial`` call on the global random
    stream, so a row's tokens depend on the rows batched with it. This processor applies the
    sampling warpers ``generate`` would apply (temperature, top-k, top-p, min-p: transformers'
    own classes, in ``generate``'s order), then adds Gumbel noise drawn from the row's own
    generator; ``generate`` run greedily then picks the argmax, which is a sample from the warped
    distribution (the Gumbel-max trick). A row's draws depend only on its seed and its logits.

    Args:
        seeds: One seed per row of the batch.
        generation_config: The sampling settings (``do_sample`` must be true).
        device: Where the batch lives.

    Raises:
        ValueError: a warper this sampler does not implement is set, or the seed count is wrong
            when called.

    Example:
        >>> from transformers import GenerationConfig
        >>> sampler = RowSeededSampler([1, 2], GenerationConfig(do_sample=True, temperature=0.8), "cpu")
        >>> sampler(torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 5)).shape
        torch.Size([2, 5])
    """

    def __init__(self, seeds: Sequence[int], generation_config: Any, device: Any):
        from transformers import (LogitsProcessorList, MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper,
                                  TopPLogitsWarper)

        unsupported = [name for name in _UNSUPPORTED_WARPERS if _is_active(name, getattr(generation_config, name, None))]
        if unsupported:
            raise ValueError(f"seeded sampling does not implement {', '.join(unsupported)}: unset it, or "
                             "generate without row seeds")
        config = generation_config
        self.warpers = LogitsProcessorList()
        if config.temperature is not None and config.temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k is not None and config.top_k != 0:
            self.warpers.append(TopKLogitsWarper(top_k=config.top_k))
        if config.top_p is not None and config.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=config.top_p))
        if config.min_p is not None:
            self.warpers.append(MinPLogitsWarper(min_p=config.min_p))
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if scores.shape[0] != len(self.generators):
            raise ValueError(f"{scores.shape[0]} rows to sample but {len(self.generators)} seeds")
        scores = self.warpers(input_ids, scores).float()
        uniform = torch.stack([torch.rand(scores.shape[-1], generator=g, device=scores.device) for g in self.generators])
        gumbel = -torch.log(-torch.log(uniform.clamp_min(torch.finfo(uniform.dtype).tiny)))
        return scores + gumbel  # tokens the warpers removed stay at -inf

    @staticmethod
    def greedy_config(generation_config: Any) -> Any:
        """A copy of the config that decodes greedily (the sampler has done the sampling)."""
        config = copy.deepcopy(generation_config)
        config.do_sample = False
        for name, neutral in _WARPING_OPTIONS.items():
            setattr(config, name, neutral)
        return config


def _is_active(name: str, value: Any) -> bool:
    if value is None:
        return False
    return value < 1.0 if name == "typical_p" else value != 0.0


def sample_seeds(keys_by_process: Sequence[Sequence[str]], process_index: int, *, seed: int, round_key: str) -> list[int]:
    """The sampling seed of every row of one process's slice of a generation batch.

    A row's seed hashes the run's ``seed``, the generation round and the row's identity: its
    prompt (``keys``, e.g. a hash of its token ids) and how many rows of the same prompt came
    before it in the whole batch (all processes, in process order). Splitting the batch
    differently over processes (one process, or a group straddling two) gives the same multiset
    of ``(prompt, seed)`` pairs, hence the same completions.

    Args:
        keys_by_process: Every process's row keys, in process order (what ``gather_object`` gives).
        process_index: Which process's slice to seed.
        seed: The run's seed.
        round_key: Names the generation round (mode, step, call), so rounds draw afresh.

    Example:
        >>> one = sample_seeds([["a", "a", "b", "b"]], 0, seed=0, round_key="train:0:0")
        >>> two = [sample_seeds([["a", "a", "b"], ["b"]], rank, seed=0, round_key="train:0:0") for rank in (0, 1)]
        >>> two[0] + two[1] == one
        True
    """
    seen: Counter[str] = Counter()
    seeds: list[int] = []
    for index, keys in enumerate(keys_by_process):
        for key in keys:
            occurrence = seen[key]
            seen[key] += 1
            if index == process_index:
                digest = hashlib.sha256(f"{seed}:{round_key}:{key}:{occurrence}".encode()).digest()
                seeds.append(int.from_bytes(digest[:8], "big") >> 1)  # a non-negative int64
    return seeds


def prompt_key(ids: Sequence[int]) -> str:
    """A short content hash of a prompt's token ids (a row's identity in :func:`sample_seeds`)."""
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


class GroupedPrefixGenerator:
    """Generates completions for groups of identical prompts with one prefill per group.

    Args:
        cache_bucket: Static cache lengths are rounded up to a multiple of this.
        compile: Compile the decode step (CUDA graphs). None: only on CUDA.
        max_rows: Most rows decoded in one ``generate`` call (bounds KV-cache memory); whole
            groups are kept together. None: the whole batch at once.
    """

    def __init__(self, *, cache_bucket: int = DEFAULT_CACHE_BUCKET, compile: bool | None = None, max_rows: int | None = None):
        self.cache_bucket = cache_bucket
        self.compile = compile
        self.max_rows = max_rows
        self._caches: dict[tuple, Any] = {}

    def generate(self, model: Any, prompt_ids: Sequence[Sequence[int]], generation_config: Any,
                 row_seeds: Sequence[int] | None = None) -> list[list[int]]:
        """Sample one completion per row of ``prompt_ids``.

        Args:
            model: A causal LM (``transformers`` or a peft wrapper), already unwrapped from any
                distributed wrapper.
            prompt_ids: Token ids per row; identical consecutive rows form a group.
            generation_config: A ``GenerationConfig`` with ``max_new_tokens``, ``pad_token_id``,
                ``eos_token_id`` and the sampling settings (TRL's ``trainer.generation_config``).
            row_seeds: One seed per row: each row samples from its own stream
                (:class:`RowSeededSampler`), independent of the batch. None: ``generate``'s own
                sampling on the global random stream (the plain path's tokens for the same seed).

        Returns:
            The completion token ids of each row, cut after the first end-of-sequence token.
        """
        if not prompt_ids:
            return []
        if any(len(ids) == 0 for ids in prompt_ids):
            raise ValueError("an empty prompt cannot be generated from: every row needs at least one token")
        if row_seeds is not None and len(row_seeds) != len(prompt_ids):
            raise ValueError(f"{len(prompt_ids)} rows but {len(row_seeds)} row seeds")
        out: list[list[int]] = []
        for chunk in self._chunks(find_groups(prompt_ids)):
            first, last = chunk[0][0], chunk[-1][1]
            rows = [prompt_ids[i] for i in range(first, last)]
            seeds = None if row_seeds is None else list(row_seeds[first:last])
            out.extend(self._generate_chunk(model, rows, [(s - first, e - first) for s, e in chunk], generation_config,
                                            seeds))
        return out

    def _chunks(self, groups: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
        if self.max_rows is None:
            return [groups]
        chunks: list[list[tuple[int, int]]] = [[]]
        for start, end in groups:
            rows_in_chunk = sum(e - s for s, e in chunks[-1])
            if chunks[-1] and rows_in_chunk + (end - start) > self.max_rows:
                chunks.append([])
            chunks[-1].append((start, end))
        return chunks

    def _static_cache(self, model: Any, batch: int, length: int, dtype: torch.dtype, device: torch.device) -> Any:
        from transformers import StaticCache

        key = (batch, length, dtype, str(device), id(model.config))
        cache = self._caches.get(key)
        if cache is None:
            kv_heads, head_dim = _kv_shape(model.config)
            cache = StaticCache(config=model.config, max_cache_len=length)
            cache.early_initialization(batch_size=batch, num_heads=kv_heads, head_dim=head_dim, dtype=dtype, device=device)
            self._caches[key] = cache
        else:
            cache.reset()
        return cache

    @torch.no_grad()
    def _generate_chunk(self, model: Any, rows: list[Sequence[int]], groups: list[tuple[int, int]], generation_config: Any,
                        row_seeds: list[int] | None = None) -> list[list[int]]:
        from transformers import DynamicCache, LogitsProcessorList

        config = copy.deepcopy(generation_config)
        processors = LogitsProcessorList()
        if row_seeds is not None and config.do_sample:
            processors.append(RowSeededSampler(row_seeds, config, model.device))
            config = RowSeededSampler.greedy_config(config)
        max_new = int(config.max_new_tokens)
        compile_decode = self.compile if self.compile is not None else model.device.type == "cuda"
        config.disable_compile = not compile_decode
        pad_id = config.pad_token_id
        eos = config.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        if pad_id is None:
            raise ValueError("generation_config.pad_token_id must be set (TRL sets it from the tokenizer)")

        width = max(len(r) for r in rows)
        cache_len = -(-(width + max_new) // self.cache_bucket) * self.cache_bucket
        device = model.device
        dtype = next(p for p in model.parameters() if p.is_floating_point()).dtype
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
        for i, ids in enumerate(rows):
            input_ids[i, width - len(ids) :] = torch.tensor(list(ids), dtype=torch.long, device=device)
            attention_mask[i, width - len(ids) :] = 1

        cache = self._static_cache(model, len(rows), cache_len, dtype, device)
        for start, end in groups:
            prefix = list(rows[start])[:-1]  # generate() itself runs the last prompt token
            if not prefix:
                continue
            prefill = DynamicCache(config=model.config)
            # Only the cache is used: keeping one logit row avoids a prompt-length x vocab tensor.
            model(input_ids=torch.tensor([prefix], device=device), cache=prefill, use_cache=True, logits_to_keep=1)
            first = width - len(prefix) - 1
            for static_layer, prefix_layer in zip(cache.layers, prefill.layers):
                static_layer.keys[start:end, :, first : width - 1] = prefix_layer.keys[0].to(dtype)
                static_layer.values[start:end, :, first : width - 1] = prefix_layer.values[0].to(dtype)
        for layer in cache.layers:
            layer.cumulative_length.fill_(width - 1)

        sequences = model.generate(
            input_ids=input_ids, attention_mask=attention_mask, cache=cache, generation_config=config,
            logits_processor=processors,
        )
        return [cut_after_eos(row, eos_ids) for row in sequences[:, width:].cpu()]


def make_rollout_func(generator: GroupedPrefixGenerator | None = None, *,
                      seeded: bool = True) -> Callable[[list, Any], dict[str, Any]]:
    """A TRL ``rollout_func`` that samples GRPO groups with :class:`GroupedPrefixGenerator`.

    Prompts are rendered with the trainer's tokenizer and chat template exactly as TRL renders them
    for its own ``generate`` path; the completions are scored by the trainer's reward functions and
    their log-probabilities recomputed by the trainer (``logprobs`` is None, as in TRL's own
    transformers path).

    With ``seeded`` (the default) every row samples from its own stream, seeded by
    :func:`sample_seeds` from ``--seed``, the mode and step of the generation round, and the row's
    prompt and place among that prompt's rows in the whole generation batch (the row keys of all
    processes are gathered for it, a few bytes per row). The completions are then the same
    whether the batch is generated on one process or split over several, and a resumed run
    samples what the uninterrupted run would have. Each row's seed and generating process are
    added to TRL's completion log (``sample_seed``, ``generation_process``: the table
    ``--log_completions`` prints and writes).

    Args:
        generator: The generator to use (default: a new one with CUDA-only compilation).
        seeded: Seed each row as above; False: ``generate``'s sampling on the process's global
            random stream (TRL's own behaviour: the tokens depend on the batch and the process).

    Returns:
        ``rollout_func(prompts, trainer) -> {"prompt_ids", "completion_ids", "logprobs"}``.
    """
    from accelerate.utils import gather_object
    from trl.models.utils import unwrap_model_for_generation

    generator = generator or GroupedPrefixGenerator()
    rounds: Counter[tuple[str, int]] = Counter()  # calls per (mode, step): several when steps_per_generation < accumulation

    def rollout_func(prompts: list, trainer: Any) -> dict[str, Any]:
        tokenizer = trainer.processing_class
        prompt_ids: list[list[int]] = []
        for prompt in prompts:
            if isinstance(prompt, str):
                prompt_ids.append(tokenizer(prompt, add_special_tokens=False)["input_ids"])
                continue
            rendered = tokenizer.apply_chat_template(
                conversation=[prompt],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                **(trainer.chat_template_kwargs or {}),
            )
            prompt_ids.append(list(rendered["input_ids"][0]))
        row_seeds = None
        if seeded:
            mode, step = ("train" if trainer.model.training else "eval"), trainer.state.global_step
            call = rounds[(mode, step)]
            rounds[(mode, step)] += 1
            process = trainer.accelerator.process_index
            keys_by_process = gather_object([[prompt_key(ids) for ids in prompt_ids]])  # every process calls this
            row_seeds = sample_seeds(keys_by_process, process, seed=trainer.args.seed, round_key=f"{mode}:{step}:{call}")
            log_column = getattr(trainer, "_log_completion_extra", None)  # TRL's completion-table columns
            if log_column is not None:
                log_column("sample_seed", row_seeds)
                log_column("generation_process", [process] * len(prompt_ids))
        with unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            generation_kwargs=trainer.generation_kwargs,
            gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
        ) as model:
            completion_ids = generator.generate(model, prompt_ids, trainer.generation_config, row_seeds=row_seeds)
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout_func
