"""build_messages: one system message, one user message, in the documented order."""

from __future__ import annotations

import pytest

from customer_env.prompt import SYSTEM_PROMPT, build_messages, render_observation
from customer_env.prompt.messages import OBSERVATION_KEYS


def _observation(**overrides):
    base = {"persona": "I love deals.", "history": 'Step 1: {"type": "click", "name": "reviews"}',
            "url": "https://www.amazon.com/dp/X", "page": '<a name="check_out"/>',
            "actionable_names": "check_out"}
    base.update(overrides)
    return base


def test_system_then_user_with_persona_history_url_page_in_that_order():
    system, user = build_messages(_observation())
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    content = user["content"]
    assert user["role"] == "user"
    positions = [content.index(s) for s in ("I love deals.", "Step 1:", "URL: https://www.amazon.com/dp/X",
                                             '<a name="check_out"/>')]
    assert positions == sorted(positions)
    assert content.startswith("## Persona\nI love deals.")


def test_actionable_names_are_not_repeated_in_the_message():
    _, user = build_messages(_observation(actionable_names="only_in_the_list"))
    assert "only_in_the_list" not in user["content"]


def test_missing_keys_are_named():
    with pytest.raises(KeyError, match="page"):
        build_messages({"persona": "", "history": "", "url": ""})
    assert set(OBSERVATION_KEYS) == set(_observation())


def test_system_prompt_describes_every_action_type_and_the_wrapper():
    for fragment in ('"type": "click"', '"type": "input"', '"type": "terminate"', '"rationale"', "name"):
        assert fragment in SYSTEM_PROMPT


def test_rendered_observations_build_the_same_messages():
    rendered = render_observation("p", [], '<a name="x">X</a>')
    assert rendered.messages == build_messages(rendered.observation)
