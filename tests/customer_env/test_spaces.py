from __future__ import annotations

import json
from collections import Counter

import pytest
from gymnasium import spaces

from customer_env.actions import parse_completion
from customer_env.spaces import (
    OBSERVATION_KEYS,
    SAMPLE_QUERIES,
    UnicodeText,
    WireActionSpace,
    observation_space,
)

NAMES = ["nav_bar.search_input", "search_result.product_title", "reviews", "pagination.2"]


def test_unicode_text_accepts_any_character_within_bounds() -> None:
    space = UnicodeText(8, min_length=0)
    assert space.contains("")
    assert space.contains("héllo ✓\n")
    assert "€ 12,99" in space
    assert not space.contains("x" * 9)
    assert not space.contains(b"bytes")
    assert not space.contains(None)
    assert space.contains(space.sample())
    assert not space.is_np_flattenable


def test_observation_space_is_a_dict_of_text() -> None:
    space = observation_space()
    assert isinstance(space, spaces.Dict)
    assert set(space.keys()) == set(OBSERVATION_KEYS)
    assert all(isinstance(sub, spaces.Text) and sub.min_length == 0 for sub in space.values())
    assert space.contains({key: "ä <div name='x'>" for key in OBSERVATION_KEYS})
    assert not space.contains({"persona": ""})


def test_sample_is_a_valid_wire_action_on_the_page() -> None:
    space = WireActionSpace(seed=0)
    space.set_names(NAMES, input_names=["nav_bar.search_input"])
    kinds = Counter()
    for _ in range(300):
        text = space.sample()
        assert space.contains(text)
        parsed = parse_completion(text, valid_names=NAMES)
        assert parsed.ok and parsed.format_ok, (text, parsed.error)
        kinds[parsed.action.type] += 1
        if parsed.action.type == "input":
            assert parsed.action.name == "nav_bar.search_input"
            assert parsed.action.text in SAMPLE_QUERIES
    assert set(kinds) == {"click", "input", "terminate"}
    assert kinds["click"] > kinds["input"] > kinds["terminate"]


def test_sample_is_deterministic_given_the_seed() -> None:
    first, second = WireActionSpace(names=NAMES, seed=3), WireActionSpace(names=NAMES, seed=3)
    assert [first.sample() for _ in range(20)] == [second.sample() for _ in range(20)]
    first.seed(3)
    replay = [first.sample() for _ in range(20)]
    second.seed(3)
    assert replay == [second.sample() for _ in range(20)]


def test_sample_without_names_terminates() -> None:
    space = WireActionSpace(seed=0)
    assert json.loads(space.sample())["action"] == {"type": "terminate"}


def test_input_names_default_to_input_like_names() -> None:
    space = WireActionSpace(names=["", "nav_bar.search_input", "reviews"])
    assert space.names == ("nav_bar.search_input", "reviews")
    assert space.input_names == ("nav_bar.search_input",)
    space.set_names(["reviews"])
    assert space.input_names == ()


def test_contains_any_string_within_max_length() -> None:
    space = WireActionSpace(max_length=50)
    assert space.contains("not even JSON")
    assert space.contains('{"action": {"type": "terminate"}}')
    assert not space.contains("x" * 51)
    assert not space.contains({"type": "terminate"})


def test_sample_rejects_masks() -> None:
    with pytest.raises(ValueError, match="mask"):
        WireActionSpace(names=NAMES).sample(mask=(None, None))
