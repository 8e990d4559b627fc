"""Prefix-shared group generation samples exactly what the plain ``generate`` path samples, and with
row seeds samples each row independently of its batch (the property two processes rely on)."""

from __future__ import annotations


import pytest
import torch

from training.fast_generation import (GroupedPrefixGenerator, RowSeededSampler, cut_after_eos, find_groups,
                                      prompt_key, sample_seeds)
from training.tiny_model import TinyModelSpec, build_tiny_model

TEXTS = [f'<a name="item_{i % 23}.title">Thing {i}</a> {{"action": {{"type": "click"}}}}' for i in range(300)]


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = TinyModelSpec(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256)
    path = build_tiny_model(tmp_path_factory.mktemp("fg") / "m", texts=TEXTS, spec=spec)
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _rows(vocab: int, lengths: tuple[int, ...], group: int) -> list[list[int]]:
    generator = torch.Generator().manual_seed(0)
    prompts = [torch.randint(3, vocab, (n,), generator=generator).tolist() for n in lengths]
    return [p for p in prompts for _ in range(group)]


def _plain(model, rows: list[list[int]], config) -> list[list[int]]:
    """What TRL's own transformers path does: left-pad the whole batch, generate, cut at EOS."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), config.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row)
        mask[i, width - len(row):] = 1
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    eos = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
    return [cut_after_eos(row, eos) for row in out[:, width:]]


def _config(tokenizer, **sampling):
    from transformers import GenerationConfig

    # Extra EOS ids make some rows stop early, so finished-row padding is exercised too.
    return GenerationConfig(max_new_tokens=12, pad_token_id=tokenizer.pad_token_id,
                            eos_token_id=[tokenizer.eos_token_id, *range(40, 60)], disable_compile=True, **sampling)


def test_find_groups() -> None:
    assert find_groups([[1], [1], [2], [1]]) == [(0, 2), (2, 3), (3, 4)]
    assert find_groups([]) == []


def test_same_seed_same_tokens_as_plain_generate(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows = _rows(model.config.vocab_size, (30, 1, 57), group=4)  # a one-token prompt needs no prefill
    config = _config(tokenizer, do_sample=True, temperature=0.9, top_k=50, top_p=0.95)
    torch.manual_seed(7)
    plain = _plain(model, rows, config)
    generator = GroupedPrefixGenerator(cache_bucket=32)
    for _ in range(2):  # the second call reuses the pooled static cache
        torch.manual_seed(7)
        assert generator.generate(model, rows, config) == plain
    assert len(generator._caches) == 1
    assert any(len(c) < 12 for c in plain) and any(len(c) == 12 for c in plain)


def test_chunked_rows_match_greedy_decoding(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows = _rows(model.config.vocab_size, (9, 20, 14), group=2)
    config = _config(tokenizer, do_sample=False)
    assert GroupedPrefixGenerator(max_rows=3).generate(model, rows, config) == _plain(model, rows, config)


def test_rejects_empty_prompt_and_missing_pad(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    with pytest.raises(ValueError, match="empty prompt"):
        GroupedPrefixGenerator().generate(model, [[]], _config(tokenizer))
    config = _config(tokenizer)
    config.pad_token_id = None
    with pytest.raises(ValueError, match="pad_token_id"):
        GroupedPrefixGenerator().generate(model, [[5, 6]], config)


def test_seeded_rows_do_not_depend_on_the_rows_batched_with_them(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows = _rows(model.config.vocab_size, (30, 8, 57), group=3)
    seeds = list(range(100, 100 + len(rows)))
    config = _config(tokenizer, do_sample=True, temperature=0.9, top_k=50, top_p=0.95)
    generator = GroupedPrefixGenerator(cache_bucket=32)
    whole = generator.generate(model, rows, config, row_seeds=seeds)
    torch.manual_seed(1)  # the global stream plays no part
    assert generator.generate(model, rows, config, row_seeds=seeds) == whole
    # Split as two processes would split it, with the second group straddling the cut.
    split = generator.generate(model, rows[:4], config, row_seeds=seeds[:4]) + \
        generator.generate(model, rows[4:], config, row_seeds=seeds[4:])
    assert split == whole
    assert GroupedPrefixGenerator(max_rows=3).generate(model, rows, config, row_seeds=seeds) == whole
    # A row's own seed is what it depends on: reseeding one row changes that row only.
    reseeded = generator.generate(model, rows, config, row_seeds=[seeds[0] + 1000, *seeds[1:]])
    assert reseeded[1:] == whole[1:] and reseeded[0] != whole[0]
    assert len({tuple(c) for c in whole[:3]}) > 1  # rows of one group sample differently


def test_seeded_sampling_draws_from_the_warped_distribution() -> None:
    from transformers import GenerationConfig

    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    temperature, top_k, draws = 0.7, 4, 20000
    sampler = RowSeededSampler(range(draws), GenerationConfig(do_sample=True, temperature=temperature, top_k=top_k),
                               "cpu")
    tokens = sampler(torch.zeros(draws, 1, dtype=torch.long), logits.repeat(draws, 1)).argmax(dim=-1)
    counts = torch.bincount(tokens, minlength=len(logits)).double() / draws
    expected = torch.softmax(logits[:top_k] / temperature, dim=0).double()
    assert counts[top_k:].sum() == 0  # top-k removed the rest
    tolerance = 5 * (expected * (1 - expected) / draws).sqrt()  # five binomial standard errors
    assert ((counts[:top_k] - expected).abs() <= tolerance).all(), (counts, expected)


def test_sample_seeds_are_the_same_however_the_batch_is_split() -> None:
    keys = [prompt_key(ids) for ids in ([1, 2], [1, 2], [3], [3], [1, 2], [1, 2])]  # a prompt may come twice
    one = sample_seeds([keys], 0, seed=0, round_key="train:0:0")
    assert len(set(one)) == len(one)  # every row its own stream, duplicates included
    for cut in (2, 3, 5):  # even splits, a group straddling the cut
        parts = [keys[:cut], keys[cut:]]
        split = [sample_seeds(parts, rank, seed=0, round_key="train:0:0") for rank in (0, 1)]
        assert split[0] + split[1] == one
    assert sample_seeds([keys], 0, seed=0, round_key="train:1:0") != one  # the next round draws afresh
    assert sample_seeds([keys], 0, seed=1, round_key="train:0:0") != one


def test_seeded_sampling_refuses_what_it_does_not_implement() -> None:
    from transformers import GenerationConfig

    with pytest.raises(ValueError, match="typical_p"):
        RowSeededSampler([0], GenerationConfig(do_sample=True, typical_p=0.9), "cpu")
