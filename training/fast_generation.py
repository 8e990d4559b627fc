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

Wired into TRL through ``GRPOTrainer(rollout_func=make_rollout_func())`` (``--fast-generation``
in ``training/grpo.py``). TRL 1.16 calls ``rollout_func(prompts, trainer)`` with the per-process
slice of the generation batch, in which each prompt already appears ``num_generations`` times in a
row; it expects one completion per entry. Consecutive identical prompts form a group here.

Example:
    >>> gen = GroupedPrefixGenerator()
    >>> # completions = gen.generate(model, [ids_a] * 8 + [ids_b] * 8, generation_config)
"""

from __future__ import annotations

import copy
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

    def generate(self, model: Any, prompt_ids: Sequence[Sequence[int]], generation_config: Any) -> list[list[int]]:
        """Sample one completion per row of ``prompt_ids``.

        Args:
            model: A causal LM (``transformers`` or a peft wrapper), already unwrapped from any
                distributed wrapper.
            prompt_ids: Token ids per row; identical consecutive rows form a group.
            generation_config: A ``GenerationConfig`` with ``max_new_tokens``, ``pad_token_id``,
                ``eos_token_id`` and the sampling settings (TRL's ``trainer.generation_config``).

        Returns:
            The completion token ids of each row, cut after the first end-of-sequence token.
        """
        if not prompt_ids:
            return []
        if any(len(ids) == 0 for ids in prompt_ids):
            raise ValueError("an empty prompt cannot be generated from: every row needs at least one token")
        out: list[list[int]] = []
        for chunk in self._chunks(find_groups(prompt_ids)):
            rows = [prompt_ids[i] for start, end in chunk for i in range(start, end)]
            out.extend(self._generate_chunk(model, rows, [(s - chunk[0][0], e - chunk[0][0]) for s, e in chunk], generation_config))
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
    def _generate_chunk(self, model: Any, rows: list[Sequence[int]], groups: list[tuple[int, int]], generation_config: Any) -> list[list[int]]:
        from transformers import DynamicCache

        config = copy.deepcopy(generation_config)
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
            input_ids=input_ids, attention_mask=attention_mask, cache=cache, generation_config=config
        )
        return [cut_after_eos(row, eos_ids) for row in sequences[:, width:].cpu()]


def make_rollout_func(generator: GroupedPrefixGenerator | None = None) -> Callable[[list, Any], dict[str, Any]]:
    """A TRL ``rollout_func`` that samples GRPO groups with :class:`GroupedPrefixGenerator`.

    Prompts are rendered with the trainer's tokenizer and chat template exactly as TRL renders them
    for its own ``generate`` path; the completions are scored by the trainer's reward functions and
    their log-probabilities recomputed by the trainer (``logprobs`` is None, as in TRL's own
    transformers path).

    Args:
        generator: The generator to use (default: a new one with CUDA-only compilation).

    Returns:
        ``rollout_func(prompts, trainer) -> {"prompt_ids", "completion_ids", "logprobs"}``.
    """
    from trl.models.utils import unwrap_model_for_generation

    generator = generator or GroupedPrefixGenerator()

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
        with unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            generation_kwargs=trainer.generation_kwargs,
            gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
        ) as model:
            completion_ids = generator.generate(model, prompt_ids, trainer.generation_config)
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout_func
