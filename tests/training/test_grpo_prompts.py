"""GRPO prompt selection: keep the steps whose groups will disagree."""

from __future__ import annotations

import math

import pytest

from tests.training.conftest import SMOKE_PROMPT_TOKENS
from training.grpo_prompts import gold_completion_probabilities, mixed_group_chance, select_mixed_prompts


def test_mixed_group_chance():
    assert mixed_group_chance(0.0, 8) == 0.0 and mixed_group_chance(1.0, 8) == 0.0
    assert mixed_group_chance(0.5, 2) == pytest.approx(0.5)  # HT or TH of four outcomes
    assert mixed_group_chance(0.5, 8) > mixed_group_chance(0.1, 8) > mixed_group_chance(0.01, 8)
    assert mixed_group_chance(1.5, 4) == 0.0  # clipped to a probability


@pytest.fixture(scope="module")
def step_data(tiny_model_dir, small_store):
    from agents.checkpoint import load_tokenizer
    from training.step_data import load_step_data

    tokenizer = load_tokenizer(str(tiny_model_dir), padding_side="left")
    return tokenizer, load_step_data(tokenizer, small_store, max_prompt_tokens=SMOKE_PROMPT_TOKENS,
                                     max_examples=10)


def test_gold_probability_is_the_teacher_forced_sequence_probability(tiny_model_dir, step_data):
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer, data = step_data
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    rows = data.dataset.select(range(3))
    got = gold_completion_probabilities(model, tokenizer, rows["prompt"], rows["completion"], batch_size=2,
                                        progress=False)
    for row, p in zip(rows, got):  # one row at a time, no padding, through the model's own loss
        prompt_ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"]
        full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True,
                                             return_dict=True)["input_ids"]
        ids = torch.tensor([full])
        labels = ids.clone()
        labels[0, :len(prompt_ids)] = -100
        with torch.no_grad():
            loss = model(input_ids=ids, labels=labels).loss.item()
        assert p == pytest.approx(math.exp(-loss * (len(full) - len(prompt_ids))), rel=1e-3)
    hotter = gold_completion_probabilities(model, tokenizer, rows["prompt"][:1], rows["completion"][:1],
                                           temperature=2.0, progress=False)
    assert not math.isclose(hotter[0], got[0], rel_tol=1e-3)


def test_select_keeps_the_most_mixed_rows_in_order(tiny_model_dir, step_data, monkeypatch):
    from transformers import AutoModelForCausalLM

    tokenizer, data = step_data
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    fixed = [0.999, 0.5, 0.0001, 0.3, 0.9, 0.6, 0.05, 1.0, 0.45, 0.7]
    monkeypatch.setattr("training.grpo_prompts.gold_completion_probabilities", lambda *a, **k: fixed)
    selected, report = select_mixed_prompts(model, tokenizer, data, keep=3, group_size=4, temperature=1.0)
    kept = [data.dataset[i]["step_index"] for i in (1, 5, 8)]  # p closest to 0.5 under G = 4
    assert selected.dataset["step_index"] == kept and report["kept"] == 3 and report["candidates"] == 10
    assert report["mixed_chance_kept"] > report["mixed_chance_all"]
    assert selected.report["grpo_prompt_selection"] == report
