"""The wire format: tolerant of wrapping, strict about the action, never raising."""

from __future__ import annotations

import json

import pytest

from customer_env.actions import ERROR_CODES, ParsedCompletion, format_completion, parse_completion
from customer_env.records import Action

CLICK = '{"rationale": "Cheaper.", "action": {"type": "click", "name": "pagination.2"}}'


@pytest.mark.parametrize("action, rationale", [
    (Action("click", "search_result.tiger_rice_cooker.product_title"), "I like Tiger."),
    (Action("input", "nav_bar.search_input", 'rice cooker "10 cup" 日本'), "Searching."),
    (Action("input", "nav_bar.search_input", ""), ""),
    (Action("terminate"), "Nothing I want.\nBye."),
])
def test_format_then_parse_round_trips(action, rationale):
    text = format_completion(action, rationale)
    parsed = parse_completion(text)
    assert parsed.ok and parsed.format_ok and parsed.wrapped
    assert parsed.action == action and parsed.rationale == rationale
    assert "\n" not in text and list(json.loads(text)) == ["rationale", "action"]
    assert format_completion(action, rationale) == text


def test_format_drops_click_type_and_writes_a_missing_rationale_as_empty():
    text = format_completion(Action("click", "reviews", click_type="review"), None)
    assert text == '{"rationale": "", "action": {"type": "click", "name": "reviews"}}'
    assert parse_completion(text).rationale == ""


@pytest.mark.parametrize("action", [Action("scroll"), Action("click"), Action("input", "  ", "x")])
def test_format_rejects_actions_it_could_not_parse_back(action):
    with pytest.raises(ValueError):
        format_completion(action, "r")


@pytest.mark.parametrize("text", [
    CLICK,
    f"```json\n{CLICK}\n```",
    f"Let me think. The second page is cheaper.\n```\n{CLICK}\n```\nDone.",
    f'{{"thoughts": {{"a": 1}}}} {CLICK}',
    f"<think>{{not json}}</think>{CLICK}",
])
def test_surrounding_text_and_fences_are_tolerated(text):
    parsed = parse_completion(text)
    assert parsed.ok and parsed.action == Action("click", "pagination.2") and parsed.rationale == "Cheaper."


def test_first_wrapper_wins():
    second = CLICK.replace("pagination.2", "pagination.3")
    assert parse_completion(CLICK + "\n" + second).action.name == "pagination.2"


def test_a_bare_action_is_accepted_only_as_the_whole_completion_and_earns_no_format():
    bare = parse_completion('```json\n{"type": "Click", "name": "reviews"}\n```')
    assert bare.ok and not bare.wrapped and not bare.format_ok and bare.action == Action("click", "reviews")
    inside = parse_completion('I will do {"type": "click", "name": "reviews"} now')
    assert not inside.ok and inside.error_code == "no_action"


def test_a_missing_rationale_parses_but_is_not_the_strict_format():
    parsed = parse_completion('{"action": {"type": "terminate"}}')
    assert parsed.ok and parsed.rationale is None and not parsed.format_ok


@pytest.mark.parametrize("completion, code", [
    ("", "empty"),
    ("   \n ", "empty"),
    (b"\xff\xfe{", "undecodable"),
    (12345, "bad_input_type"),
    (None, "bad_input_type"),
    ("I would click the reviews.", "no_json"),
    ("{not json at all}", "no_json"),
    ('{"rationale": "I want', "truncated"),
    ('{"rationale": "x", "action": {"type": "click", "name": "reviews"}', "truncated"),
    ('{"rationale": "x"}', "no_action"),
    ('{"rationale": "x", "act": {"type": "terminate"}}', "no_action"),
    ('{"rationale": "x", "action": "click reviews"}', "action_not_object"),
    ('{"rationale": "x", "action": {"name": "reviews"}}', "missing_type"),
    ('{"rationale": "x", "action": {"type": "scroll"}}', "unknown_type"),
    ('{"rationale": "x", "action": {"type": 3}}', "unknown_type"),
    ('{"rationale": "x", "action": {"type": "click"}}', "missing_name"),
    ('{"rationale": "x", "action": {"type": "click", "name": 7}}', "missing_name"),
    ('{"rationale": "x", "action": {"type": "click", "name": null}}', "missing_name"),
    ('{"rationale": "x", "action": {"type": "click", "name": " "}}', "empty_name"),
    ('{"rationale": "x", "action": {"type": "input", "name": "nav_bar.search_input"}}', "missing_text"),
    ('{"rationale": "x", "action": {"type": "input", "name": "nav_bar.search_input", "text": 42}}', "missing_text"),
    ('{"rationale": ["x"], "action": {"type": "terminate"}}', "rationale_not_string"),
])
def test_malformed_completions_fail_with_a_specific_error(completion, code):
    parsed = parse_completion(completion)
    assert isinstance(parsed, ParsedCompletion)
    assert not parsed.ok and parsed.action is None and not parsed.format_ok
    assert parsed.error_code == code, parsed.error
    assert code in ERROR_CODES


def test_huge_outputs_are_rejected_before_parsing():
    huge = CLICK + " " * 20_000
    assert parse_completion(huge).error_code == "too_long"
    assert parse_completion(huge.encode()).error_code == "too_long"
    assert parse_completion(CLICK, max_chars=10).error_code == "too_long"
    assert parse_completion(huge, max_chars=50_000).ok


def test_many_braces_do_not_hang_or_raise():
    parsed = parse_completion("{" * 5000 + "}" * 10)
    assert not parsed.ok and parsed.error_code == "truncated"


def test_valid_names_reject_names_not_on_the_page_but_keep_the_candidate():
    parsed = parse_completion(CLICK, valid_names={"reviews"})
    assert not parsed.ok and parsed.error_code == "name_not_on_page" and parsed.action is None
    assert parsed.candidate == Action("click", "pagination.2") and parsed.rationale == "Cheaper."
    assert parse_completion(CLICK, valid_names=["pagination.2"]).ok
    assert parse_completion('{"rationale": "", "action": {"type": "terminate"}}', valid_names=()).ok


def test_names_and_texts_are_taken_exactly():
    parsed = parse_completion('{"rationale": "", "action": {"type": "INPUT", "name": " nav_bar.search_input", '
                              '"text": "  Rice Cooker "}}')
    assert parsed.action == Action("input", " nav_bar.search_input", "  Rice Cooker ")


def test_terminate_ignores_extra_fields_and_click_ignores_text():
    assert parse_completion('{"rationale": "", "action": {"type": "terminate", "name": "x"}}').action == Action("terminate")
    assert parse_completion('{"rationale": "", "action": {"type": "click", "name": "x", "text": "y"}}').action == Action("click", "x")


def test_mappings_and_actions_are_checked_the_same_way():
    assert parse_completion(json.loads(CLICK)).action == Action("click", "pagination.2")
    assert parse_completion({"type": "terminate"}).ok
    assert parse_completion(Action("click", "reviews", click_type="review")).action == Action("click", "reviews")
    assert parse_completion(Action("click", None)).error_code == "missing_name"
    assert parse_completion(Action("click", "x"), valid_names={"y"}).error_code == "name_not_on_page"
