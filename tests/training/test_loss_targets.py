"""SFT loss targets: the completion, plus the past actions listed in the prompt."""

from __future__ import annotations

import json

import pytest

from tests.training.conftest import SMOKE_PROMPT_TOKENS
from training.loss_targets import history_action_spans, tokenize_with_targets, with_history_targets


def test_history_action_spans_cover_each_past_action_json_only():
    user = ("## Persona\nI like tea. Step 1: {\"type\": \"input\"}\n\n## Session so far\n"
            "(The pages seen before steps 1-2 are omitted to fit the context; their actions are listed.)\n"
            'Step 1: {"type": "click", "name": "nav_bar.search_input"}\n'
            'Page before step 2 (URL: u):\n<a name="x"/>\n'
            'Step 2: {"type": "input", "name": "nav_bar.search_input", "text": "mug"} | Rationale: I want a mug.\n\n'
            "## Current page\nURL: u\nStep 3: {\"type\": \"terminate\"}")
    spans = history_action_spans(user)
    assert [json.loads(user[a:b]) for a, b in spans] == [
        {"type": "click", "name": "nav_bar.search_input"},
        {"type": "input", "name": "nav_bar.search_input", "text": "mug"}]  # persona and page text never count
    assert history_action_spans("## Persona\nno history heading") == []


@pytest.fixture(scope="module")
def rows(tiny_model_dir, small_store):
    from agents.checkpoint import load_tokenizer
    from training.step_data import load_step_data

    tokenizer = load_tokenizer(str(tiny_model_dir), padding_side="right")
    data = load_step_data(tokenizer, small_store, max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_examples=12)
    return tokenizer, data


def test_targets_are_the_completion_and_the_past_actions(rows):
    tokenizer, data = rows
    row = next(r for r in data.dataset if r["step_index"] >= 3)
    plain = tokenize_with_targets(tokenizer, row["prompt"], row["completion"], history_actions=False)
    both = tokenize_with_targets(tokenizer, row["prompt"], row["completion"])
    prompt_len = len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"])
    assert plain["input_ids"] == both["input_ids"]
    assert plain["labels"] == [-100] * prompt_len + plain["input_ids"][prompt_len:]  # TRL's completion-only loss
    assert both["labels"][prompt_len:] == plain["labels"][prompt_len:]
    extra = [t for t, label in zip(both["input_ids"][:prompt_len], both["labels"][:prompt_len]) if label != -100]
    text = tokenizer.decode(extra)
    user = next(m["content"] for m in row["prompt"] if m["role"] == "user")
    for a, b in history_action_spans(user):
        assert user[a:b] in text
    assert len(history_action_spans(user)) >= 3
    assert "Persona" not in text and "name=" not in text  # no persona or page token is a target


def test_sft_trains_on_pre_tokenized_rows(tmp_path, tiny_model_dir, rows):
    from agents.checkpoint import SUMMARY_FILE
    from training import sft

    tokenizer, data = rows
    targeted = with_history_targets(data, tokenizer, progress=False)
    assert targeted.report["target_tokens"] > sum(
        len(tokenizer(r["completion"][0]["content"])["input_ids"]) for r in data.dataset)
    options = sft.options(model_name_or_path=str(tiny_model_dir), output_dir=str(tmp_path / "sft"), max_steps=2,
                          per_device_train_batch_size=2, gradient_accumulation_steps=1, learning_rate=1e-3,
                          warmup_steps=0, logging_steps=1, save_steps=100, bf16=False,
                          max_prompt_tokens=SMOKE_PROMPT_TOKENS)
    out = sft.main(*options, train_data=targeted)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["global_step"] == 2 and summary["data"]["loss_targets"] == "completion+history_actions"
