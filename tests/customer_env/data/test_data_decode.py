"""Row decoding, timestamps, session ids, personas and the load report."""

from __future__ import annotations

import json

import pytest

import opera_rows as F
from customer_env.data.decode import (decode_action_row, decode_json, parse_timestamp,
                                      user_id_from_session_id)
from customer_env.data.errors import DataError, LoadReport, Problems
from customer_env.data.persona import persona_from_survey


def test_decode_json_handles_blank_and_reports_malformed() -> None:
    assert decode_json(None, field="x") is None and decode_json("  ", field="x") is None
    assert decode_json('{"a": [1]}', field="x") == {"a": [1]}
    with pytest.raises(DataError) as caught:
        decode_json('{"a": ', field="page_meta")
    assert caught.value.field == "page_meta" and caught.value.reason == "malformed_json"
    assert "'{\"a\": '" in str(caught.value)


def test_real_element_meta_encoding_decodes_twice() -> None:
    row = F.click(F.SESSION_A1, "x", "2025-04-14T21:52:57.792Z", "reviews", "review")
    problems = Problems(LoadReport(), strict=True)
    _, step = decode_action_row(row, variant="filtered", file="f", row_index=0, problems=problems)
    assert step.element_meta["data"]["asin"] == "B01L9SD3K0"
    assert step.index == -1  # assigned later, once the session is ordered


@pytest.mark.parametrize("text, expected", [
    ("2025-04-14T21:52:57.792Z", "2025-04-14T21:52:57.792000+00:00"),
    ("2025-04-14T21:52:46.756000Z", "2025-04-14T21:52:46.756000+00:00"),
    ("2025-04-14T21:52:46Z", "2025-04-14T21:52:46+00:00"),
    ("2025-04-14 21:52:46.1234567", "2025-04-14T21:52:46.123456+00:00"),
    ("2025-04-14T23:52:46.000+02:00", "2025-04-14T21:52:46+00:00"),
])
def test_timestamps(text: str, expected: str) -> None:
    assert parse_timestamp(text).isoformat() == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2025-13-01T00:00:00Z", "2025-04-14"])
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(DataError, match="timestamp"):
        parse_timestamp(text)


def test_user_id_from_session_id() -> None:
    assert user_id_from_session_id(F.SESSION_A1) == F.USER_A
    assert user_id_from_session_id("a_b_c") is None
    assert user_id_from_session_id("no-underscores") is None


def test_tab_activate_alias_in_full_variant() -> None:
    row = F.action_row(F.SESSION_A1, "x", "2025-04-14T21:52:57.792Z", "tabActivate", variant="full")
    _, step = decode_action_row(row, variant="full", file="f", row_index=0,
                                problems=Problems(LoadReport(), strict=True))
    assert step.action.type == "tab_activate"


def test_full_variant_keeps_unnamed_clicks() -> None:
    row = F.action_row(F.SESSION_A1, "x", "2025-04-14T21:52:57.792Z", "click", variant="full",
                       click_type="other")
    _, step = decode_action_row(row, variant="full", file="f", row_index=0,
                                problems=Problems(LoadReport(), strict=True))
    assert step.action.name is None and step.action.click_type == "other"


def test_persona_sections_and_shapes() -> None:
    survey = json.loads(F.survey("25-34", "I compare prices."))
    survey["Extra section"] = {"kept": True}
    persona = persona_from_survey("u", survey, "  ")
    assert persona.interview_summary is None
    assert persona.survey["Extra section"] == {"kept": True}
    assert persona.shopping_preference["Prime member"] == "Yes"
    assert persona_from_survey("u", {"Self Description": "Plain text."}).self_description == "Plain text."
    assert persona_from_survey("u", {}).to_text() == ""
    with pytest.raises(DataError, match="JSON object"):
        persona_from_survey("u", ["not", "a", "dict"])
    with pytest.raises(DataError) as caught:
        persona_from_survey("u", {"Personality": "calm"})
    assert caught.value.field == "survey.Personality"


def test_report_counts_everything_but_keeps_few_examples() -> None:
    report = LoadReport()
    problems = Problems(report)
    for row in range(20):
        problems.found(DataError("bad", file="f.parquet", row=row, field="page_meta",
                                 reason="malformed_json"), "field set to None")
    problems.found(DataError("note", reason="empty_page"), "kept", note=True)
    assert report.skipped == {"malformed_json": 20} and report.notes == {"empty_page": 1}
    assert len(report.messages) == 6
    summary = report.summary()
    assert "malformed_json=20" in summary and "f.parquet, row 0, field 'page_meta'" in summary
    with pytest.raises(DataError):
        Problems(LoadReport(), strict=True).found(DataError("x"), "never")
