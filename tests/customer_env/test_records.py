"""Action.matches and the session outcome: the definitions docs/METRICS.md gives."""

from __future__ import annotations

import pytest

from customer_env.records import Action, Session, Step, session_outcome


@pytest.mark.parametrize("gold, predicted, expected", [
    # Names and texts are compared after stripping leading and trailing whitespace.
    (Action("click", "reviews"), Action("click", " reviews\n"), True),
    (Action("input", "q", "rice cooker "), Action("input", " q", "rice cooker"), True),
    (Action("input", "q", "rice cooker"), Action("input", "q", "rice  cooker"), False),  # inner space kept
    (Action("input", "q", "Rice Cooker"), Action("input", "q", "rice cooker"), False),  # case kept
    (Action("input", "q", None), Action("input", "q", "  "), True),
    (Action("terminate"), Action("terminate", "ignored"), True),
    (Action("click", "reviews", click_type="review"), Action("click", "reviews"), True),  # click type never compared
])
def test_exact_match_strips_names_and_texts(gold, predicted, expected):
    assert gold.matches(predicted) is expected and predicted.matches(gold) is expected


def _session(*actions: Action) -> Session:
    steps = tuple(Step("s", str(i), i, f"2025-01-01T00:00:0{i}.000Z", a) for i, a in enumerate(actions))
    return Session("s", "u", steps)


def test_session_outcome_is_the_last_action():
    # Customer-R1 section 4.3 / OPeRA: a session ends in a purchase click or in terminate.
    buy = Action("click", "buybox.buy_now", click_type="purchase")
    review = Action("click", "reviews", click_type="review")
    assert _session(review, buy).outcome == "purchase"
    assert _session(buy, Action("terminate")).outcome == "terminate"  # bought earlier, then left
    assert _session(review).outcome == "terminate"  # anything but a purchase click
    assert _session(buy, review).purchased and _session(buy, review).outcome == "terminate"
    assert session_outcome(None) == "terminate"
