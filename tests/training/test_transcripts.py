"""Session transcripts: each training session once, persona + actions, the loss on the actions."""

from __future__ import annotations

import json

import pytest

from customer_env.env_options import is_scored
from training.loss_targets import history_action_spans
from training.transcripts import transcript_dataset, transcript_messages


def test_a_transcript_is_the_prompt_layers_session_so_far(small_store):
    session = next(s for s in small_store.iter_sessions() if len(s.steps) >= 3)
    persona = small_store.users[session.user_id].persona.to_text()
    messages = transcript_messages(persona, session.steps)
    user = messages[1]["content"]
    assert messages[0]["role"] == "system" and user.startswith("## Persona\n" + persona.strip()[:20])
    actions = [json.loads(user[a:b]) for a, b in history_action_spans(user)]
    assert actions == [s.action.to_wire() for s in session.steps]
    assert "(the page is empty)" in user  # no page: the transcript is about the sequence of actions


def test_transcript_rows_put_the_loss_on_every_action_and_fit_the_budget(small_store, tiny_model_dir):
    from agents.checkpoint import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir), padding_side="right")
    rows = transcript_dataset(small_store, tokenizer, max_tokens=4096, progress=False)
    assert len(rows) == len(small_store.session_ids)
    for row, session in zip(rows, small_store.iter_sessions()):
        assert row["session_id"] == session.session_id and len(row["input_ids"]) == len(row["labels"])
        text = tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label != -100])
        for step in session.steps:
            if is_scored(step):
                assert json.dumps(step.action.to_wire(), ensure_ascii=False, separators=(", ", ": ")) in text
    longest = max(len(r) for r in rows["input_ids"])
    short = transcript_dataset(small_store, tokenizer, max_tokens=longest - 40, progress=False)
    assert all(len(r) <= longest - 40 for r in short["input_ids"])
    assert sum(short["steps"]) < sum(rows["steps"]) and "steps cut" in short.info.description
    with pytest.raises(ValueError, match="no session transcript fits max_tokens=10"):
        transcript_dataset(small_store, tokenizer, max_tokens=10, progress=False)
