"""The wire format: tolerant of wrapping, strict about the action, never raising.

Definitions (format validity, format reward, grounding, whitespace, case): docs/METRICS.md.
"""

from __future__ import annotations

import json

import pytest

from customer_env.actions import (
    ERROR_CODES,
    RATIONALE_ERROR_CODES,
    ParsedCompletion,
    format_completion,
    parse_completion,
)
from customer_env.records import Action

CLICK = '{"rationale": "Cheaper.", "action": {"type": "click", "name": "pagination.2"}}'


@pytest.mark.parametrize("action, rationale", [
    (Action("click", "search_result.tiger_rice_cooker.product_title"), "I like Tiger."),
    (Action("input", "nav_bar.search_input", 'rice cooker "10 cup" 日本'), "Searching."),
    (Action("input", "nav_bar.search_input", ""), "Clearing the box."),
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
    parsed = parse_completion(text)
    # An empty rationale parses, but earns no format reward (docs/METRICS.md, format reward).
    assert parsed.rationale == "" and parsed.ok and not parsed.format_ok
    assert parsed.rationale_error_code == "empty_rationale"


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
    assert parsed.rationale_error_code == "missing_rationale"


# Customer-R1 (Eq. 2): R_format rewards following the schema, rationale first, then the action.
# A rationale problem voids only the format reward: the action still parses and is scored.
@pytest.mark.parametrize("completion, code", [
    ('{"rationale": 42, "action": {"type": "click", "name": "reviews"}}', "rationale_not_string"),
    ('{"rationale": ["x"], "action": {"type": "click", "name": "reviews"}}', "rationale_not_string"),
    ('{"rationale": null, "action": {"type": "click", "name": "reviews"}}', "missing_rationale"),
    ('{"rationale": "", "action": {"type": "click", "name": "reviews"}}', "empty_rationale"),
    ('{"rationale": " \\n\\t", "action": {"type": "click", "name": "reviews"}}', "empty_rationale"),
    ('{"action": {"type": "click", "name": "reviews"}, "rationale": "Stars."}', "rationale_after_action"),
    ('{"rationale": "half an emoji \\ud83d", "action": {"type": "click", "name": "reviews"}}',
     "rationale_bad_characters"),
    ('{"type": "click", "name": "reviews"}', "not_wrapped"),
])
def test_rationale_problems_void_only_the_format_reward(completion, code):
    parsed = parse_completion(completion)
    assert parsed.ok and parsed.action == Action("click", "reviews") and parsed.error is None
    assert not parsed.format_ok and parsed.rationale_error_code == code, parsed.rationale_error
    assert code in RATIONALE_ERROR_CODES


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
    ('{"rationale": "x", "action": {"type": "click", "name": "a\\u0000b"}}', "bad_characters"),
    ('{"rationale": "x", "action": {"type": "click", "name": "\\ud83d"}}', "bad_characters"),
    ('{"rationale": "x", "action": {"type": "input", "name": "q", "text": "mug \\udc00"}}', "bad_characters"),
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


WRAPPED_CLICK = '{"rationale": "x", "action": {"type": "click", "name": "reviews"'


@pytest.mark.parametrize("completion, code", [
    # 2 kB of nested brackets: json's C decoder raises RecursionError.
    (WRAPPED_CLICK + ', "z": ' + "[" * 1000 + "]" * 1000 + "}}", "json_limit"),
    ('{"a": ' * 1000 + "1" + "}" * 1000, "json_limit"),
    # A 5000-digit integer: int() refuses more than 4300 digits with a ValueError.
    (WRAPPED_CLICK + '}, "n": ' + "7" * 5000 + "}", "json_limit"),
    ("x" * 1_000_000, "too_long"),
    ("\x00" * 1000, "no_json"),
    ("\ud83d\udc00" * 10, "no_json"),
    (b"\xed\xa0\xbd", "undecodable"),  # a surrogate encoded as UTF-8 bytes is not UTF-8
])
def test_inputs_that_crashed_the_decoder_return_an_error_code(completion, code):
    parsed = parse_completion(completion)
    assert not parsed.ok and parsed.error_code == code, parsed.error
    assert code in ERROR_CODES and parsed.error.isascii()


def test_nul_bytes_around_the_object_are_ignored_and_inside_a_name_rejected():
    ok = parse_completion("\x00\x00" + CLICK + "\x00")
    assert ok.ok and ok.action == Action("click", "pagination.2")
    bad = parse_completion(CLICK.replace("pagination.2", "pagination\\u0000.2"))
    assert bad.error_code == "bad_characters"


def test_a_wrapper_after_an_undecodable_object_is_still_found():
    text = '{"junk": ' + "[" * 1000 + "]" * 1000 + "} " + CLICK
    parsed = parse_completion(text)
    assert parsed.ok and parsed.action == Action("click", "pagination.2")


def test_grounding_is_reported_and_never_rejects_a_well_formed_action():
    # docs/METRICS.md: format validity is parseability; whether the element is on the page is
    # grounding, a separate number. The action stays a prediction either way.
    parsed = parse_completion(CLICK, valid_names={"reviews"})
    assert parsed.ok and parsed.format_ok and parsed.error is None
    assert parsed.action == Action("click", "pagination.2") and parsed.rationale == "Cheaper."
    assert parsed.grounded is False and parsed.grounding_error.startswith("name_not_on_page")
    assert parsed.candidate == Action("click", "pagination.2")
    on_page = parse_completion(CLICK, valid_names=["pagination.2"])
    assert on_page.grounded is True and on_page.grounding_error is None and on_page.candidate is None
    assert parse_completion('{"rationale": "", "action": {"type": "terminate"}}', valid_names=()).grounded is True
    assert parse_completion(CLICK).grounded is None  # no names given: not checked
    assert parse_completion("garbage", valid_names={"reviews"}).grounded is False


def test_names_and_texts_are_stripped_and_case_kept_the_type_is_case_insensitive():
    # docs/METRICS.md: names and texts are compared after stripping leading and trailing
    # whitespace; their case is kept; the action type is a keyword in any case.
    parsed = parse_completion('{"rationale": "", "action": {"type": " INPUT ", "name": " nav_bar.search_input\\n", '
                              '"text": "  Rice Cooker "}}', valid_names={"nav_bar.search_input"})
    assert parsed.action == Action("input", "nav_bar.search_input", "Rice Cooker")
    assert parsed.grounded is True


def test_terminate_ignores_extra_fields_and_click_ignores_text():
    assert parse_completion('{"rationale": "", "action": {"type": "terminate", "name": "x"}}').action == Action("terminate")
    assert parse_completion('{"rationale": "", "action": {"type": "click", "name": "x", "text": "y"}}').action == Action("click", "x")


def test_mappings_and_actions_are_checked_the_same_way():
    assert parse_completion(json.loads(CLICK)).action == Action("click", "pagination.2")
    assert parse_completion({"type": "terminate"}).ok
    assert parse_completion(Action("click", "reviews", click_type="review")).action == Action("click", "reviews")
    assert parse_completion(Action("click", None)).error_code == "missing_name"
    assert parse_completion(Action("click", "x"), valid_names={"y"}).grounded is False


def test_the_parser_never_raises_even_on_hostile_mappings():
    class Hostile(dict):
        def get(self, key, default=None):
            raise KeyError(key)

    parsed = parse_completion(Hostile(type="click"))
    assert not parsed.ok and parsed.error_code == "parser_error"
