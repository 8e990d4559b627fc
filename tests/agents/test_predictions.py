"""Scoring an external predictions file: format validity, grounding and bad lines (docs/METRICS.md)."""

from __future__ import annotations

import json

import pytest

from agents.predictions import read_predictions, score_predictions
from agents.report import metrics_table


def _line(sid, index, action, rationale="mine"):
    return json.dumps({"session_id": sid, "step_index": index, "rationale": rationale, "action": action}).encode()


@pytest.fixture(scope="module")
def session(small_store):
    sid = small_store.session_ids[0]
    return sid, small_store.session(sid).steps


def _score(tmp_path, small_store, lines, **kw):
    path = tmp_path / "preds.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return score_predictions(path, store=small_store, train_store=small_store, only_predicted_sessions=True,
                             n_bootstrap=0, **kw)


def test_an_undecodable_line_is_one_malformed_line_not_a_traceback(tmp_path, small_store, session):
    sid, steps = session
    lines = [_line(sid, s.index, s.action.to_wire()) for s in steps]
    lines.insert(1, b'{"session_id": "caf\xe9", "step_index": 0, "action": {"type": "terminate"}}')  # latin-1
    lines.insert(2, b'{"session_id": "x", "step_index": 0, "n": ' + b"1" * 5000 + b"}")      # int over 4300 digits
    lines.insert(3, b"[" * 5000 + b"]" * 5000)                                             # nested past the limit
    report = _score(tmp_path, small_store, lines)
    numbers = [n for n, _ in report.malformed]
    assert numbers == [2, 3, 4]
    reasons = dict(report.malformed)
    assert reasons[2].startswith("not UTF-8") and "byte" in reasons[2]
    assert reasons[3].startswith("not JSON") and reasons[4].startswith("not JSON")
    assert report.counts["scored"] == len(steps) and report.metrics["headline"]["exact_match"]["value"] == 1.0


def test_an_off_page_click_is_format_valid_with_type_credit_and_ungrounded(tmp_path, small_store, session):
    sid, steps = session
    clicks = [s for s in steps if s.action.type == "click"]
    assert clicks, "the small store's first session has a click"
    lines = []
    for s in steps:
        wire = s.action.to_wire()
        if s is clicks[0]:
            wire = {"type": "click", "name": "no.such.element"}
        lines.append(_line(sid, s.index, wire))
    report = _score(tmp_path, small_store, lines)
    n = len(steps)
    assert report.counts["invalid"] == 0 and report.counts["ungrounded"] == 1
    h = report.metrics["headline"]
    assert h["format_validity"]["value"] == 1.0
    assert h["grounding_rate"]["value"] == pytest.approx((n - 1) / n)
    assert h["action_type_accuracy"]["value"] == 1.0  # the off-page click is still a click
    assert h["exact_match"]["value"] == pytest.approx((n - 1) / n)
    assert report.summary() == f"format-valid {n}/{n}, grounded {n - 1}/{n}, action type right {n}/{n}"
    unchecked = _score(tmp_path, small_store, lines, check_names=False)
    assert unchecked.metrics["headline"]["format_validity"] == h["format_validity"]
    assert unchecked.metrics["grounding"]["checked"] == 0 and "grounding not checked" in unchecked.summary()
    assert "| grounding_rate | n/a |" in metrics_table(unchecked.metrics)


def test_hostile_completions_are_format_failures(tmp_path, small_store, session):
    sid, steps = session
    hostile = ['{"rationale": "x", "action": {"type": "click", "name": "a", "z": ' + "[" * 1000 + "]" * 1000 + "}}",
               '{"rationale": "x", "action": {"type": "click", "name": "a"}, "n": ' + "1" * 5000 + "}",
               '{"rationale": "x", "action": {"type": "click", "name": "a\\u0000"}}']
    lines = [json.dumps({"session_id": sid, "step_index": s.index, "completion": hostile[i % 3]}).encode()
             for i, s in enumerate(steps)]
    report = _score(tmp_path, small_store, lines)
    assert report.counts["invalid"] == len(steps) and report.metrics["headline"]["format_validity"]["value"] == 0.0


def test_read_predictions_keeps_line_numbers_across_crlf(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"session_id": "a", "step_index": 0, "action": {"type": "terminate"}}\r\n\r\nnope\r\n')
    parsed = read_predictions(path)
    assert list(parsed.entries) == [("a", 0)] and [n for n, _ in parsed.malformed] == [3]
