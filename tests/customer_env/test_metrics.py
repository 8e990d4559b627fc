"""Metric functions against hand-computed cases, including format.md section 6's pitfalls."""

from __future__ import annotations

import math

import pytest

from customer_env import metrics as m
from customer_env.records import Action

REVIEW = Action("click", "reviews", click_type="review")
SEARCH = Action("click", "nav_bar.search_button", click_type="search")
BUY = Action("click", "buybox.add_to_cart", click_type="purchase")
LINK = Action("click", "search_result.p1.product_title", click_type="product_link")
TYPE = Action("input", "nav_bar.search_input", text="shoes")
END = Action("terminate")


def rec(sid, i, user, gold, pred, **kw):
    return m.StepRecord(sid, i, user, gold, pred, **kw)


@pytest.fixture
def lookup():
    # A second add-to-cart element makes "*.add_to_cart" a pattern (two distinct names share it).
    return m.ClickTypeLookup.from_actions([REVIEW, SEARCH, BUY, LINK, TYPE, END,
                                           Action("click", "cart.add_to_cart", click_type="purchase")])


@pytest.fixture
def records():
    # s1 / u1: right click, wrong click (review for search), input with wrong text, format failure.
    # s2 / u2: click on an unseen add-to-cart element, right terminate, terminate on a click.
    return [
        rec("s1", 0, "u1", REVIEW, Action("click", "reviews"), human_rationale="I want the cheapest one",
            predicted_rationale="the cheapest one please"),
        rec("s1", 1, "u1", SEARCH, Action("click", "reviews")),
        rec("s1", 2, "u1", TYPE, Action("input", "nav_bar.search_input", text="shoe")),
        rec("s1", 3, "u1", END, None, human_rationale="done"),
        rec("s2", 0, "u2", BUY, Action("click", "other_seller.add_to_cart")),
        rec("s2", 2, "u2", END, Action("terminate")),
        rec("s2", 1, "u2", LINK, Action("terminate")),
    ]


def test_exact_match_and_per_type(records):
    assert m.exact_match(records) == pytest.approx(2 / 7)
    assert m.exact_match_by(records, "action_type") == pytest.approx({"click": 0.25, "input": 0.0, "terminate": 0.5})
    assert m.exact_match_by(records, "click_type") == pytest.approx(
        {"product_link": 0.0, "purchase": 0.0, "review": 1.0, "search": 0.0})
    with pytest.raises(ValueError, match="key must be"):
        m.exact_match_by(records, "user")


def test_action_type_f1_has_no_invalid_class(records):
    report = m.action_type_f1(records)
    # click: tp 3, support 4, predicted 3 -> 6/7; input 1; terminate: tp 1, support 2, predicted 2 -> 1/2.
    assert report.per_class == pytest.approx({"click": 6 / 7, "input": 1.0, "terminate": 0.5})
    assert report.macro == pytest.approx((6 / 7 + 1 + 0.5) / 3)
    assert report.weighted == pytest.approx((4 * 6 / 7 + 1 + 2 * 0.5) / 7)
    # The pitfall: an "invalid" pseudo-class (F1 0) would pull macro down to the 4-class mean.
    pseudo = (6 / 7 + 1 + 0.5 + 0) / 4
    assert abs(report.macro - pseudo) > 0.15
    assert "invalid" not in report.per_class and report.support == {"click": 4, "input": 1, "terminate": 2}


def test_click_type_f1_uses_the_chosen_elements_gold_type(records, lookup):
    report = m.click_type_f1(records, lookup)
    # gold review/search/purchase/product_link; predicted review/review/purchase/(terminate: none).
    assert report.per_class == pytest.approx({"review": 2 / 3, "search": 0.0, "purchase": 1.0, "product_link": 0.0})
    assert report.macro == pytest.approx((2 / 3 + 1) / 4)
    assert report.weighted == pytest.approx((2 / 3 + 1) / 4)


def test_fine_grained_and_format_validity(records, lookup):
    assert m.fine_grained_accuracy(records, lookup) == pytest.approx(4 / 7)
    assert m.format_validity(records) == pytest.approx(6 / 7)


def test_session_outcome_needs_no_emitted_click_type(records, lookup):
    # The agent's add-to-cart click carries no click type; the lookup labels the element.
    assert records[4].predicted.click_type is None
    assert m.session_outcomes(records, lookup) == {"s1": (False, False), "s2": (True, True)}
    report = m.outcome_report(records, lookup)
    assert report["accuracy"] == 1.0 and report["f1"] == 1.0
    # Without pattern inference the unseen element is "other": the purchase is missed.
    strict = m.ClickTypeLookup.from_actions([REVIEW, SEARCH, BUY, LINK], infer_patterns=False)
    assert m.outcome_report(records, strict)["f1"] == 0.0


def test_outcome_confusion_counts(lookup):
    recs = [rec("a", 0, "u", REVIEW, REVIEW), rec("b", 0, "u", BUY, BUY),
            rec("c", 0, "u", BUY, REVIEW), rec("d", 0, "u", REVIEW, BUY)]
    report = m.outcome_report(recs, lookup)  # tn, tp, fn, fp
    assert report["accuracy"] == 0.5 and report["f1"] == pytest.approx(0.5)
    assert report["macro_f1"] == pytest.approx(0.5) and report["weighted_f1"] == pytest.approx(0.5)
    # Session-level ground truth overrides what the (possibly cut) records show.
    cut = [rec("a", 0, "u", REVIEW, REVIEW, session_purchased=True)]
    assert m.session_outcomes(cut, lookup) == {"a": (True, False)}


def test_rationale_similarity_only_on_human_rationales(records):
    # LCS("the cheapest one please", "i want the cheapest one") = 3 -> 6/9; the failure scores 0.
    result = m.rationale_similarity(records)
    assert result["n"] == 2
    assert result["rouge_l"] == pytest.approx((6 / 9 + 0) / 2)


def test_jensen_shannon_hand_values():
    assert m.jensen_shannon({"a": 1}, {"a": 5}) == 0.0
    assert m.jensen_shannon({"a": 1}, {"b": 1}) == 1.0
    assert m.jensen_shannon({}, {"b": 1}) == 1.0 and m.jensen_shannon({}, {}) == 0.0
    assert m.jensen_shannon({"a": 2, "b": 1}, {"a": 1, "b": 2}) == pytest.approx(
        2 / 3 * math.log2(4 / 3) + 1 / 3 * math.log2(2 / 3))


def test_behaviour_fidelity(records, lookup):
    fid = m.behaviour_fidelity(records, lookup)
    # u1: human (click 2, input 1, terminate 1), agent (click 2, input 1, invalid 1) -> 0.25.
    u2 = 2 / 3 * math.log2(4 / 3) + 1 / 3 * math.log2(2 / 3)
    assert fid["action_type_jsd"] == pytest.approx((0.25 + u2) / 2)
    assert fid["n_users"] == 2
    # s1: agent never ends it (4 steps); s2: its first step is a purchase click (1 step).
    assert fid["human_mean_session_length"] == pytest.approx(3.5)
    assert fid["agent_mean_session_length"] == pytest.approx(2.5)
    assert fid["human_purchase_rate"] == 0.5 and fid["agent_purchase_rate"] == 0.5


def test_click_type_lookup_collisions_and_patterns():
    votes = [Action("click", "x", click_type="review")] * 2 + [Action("click", "x", click_type="other")]
    votes += [Action("click", "p.q", click_type="filter"), Action("click", "p.r", click_type="filter"),
              Action("click", "review_pagination.next", click_type="review")]
    lookup = m.ClickTypeLookup.from_actions(votes)
    assert lookup.click_type("x") == "review" and lookup.collisions == 1
    assert lookup.click_type("p.zzz") == "filter"  # first-segment pattern shared by two names
    assert lookup.click_type("hero_carousel.next") == "other"  # one "*.next" name is no pattern
    assert lookup.click_type(None) == "other" and lookup.predicted_click_type(Action("terminate")) is None


def test_headline_matches_the_functions_and_bootstrap_is_seeded(records, lookup):
    h = m.headline(records, lookup, n_bootstrap=200, seed=3)
    assert h["exact_match"]["value"] == pytest.approx(m.exact_match(records))
    assert h["action_type_macro_f1"]["value"] == pytest.approx(m.action_type_f1(records).macro)
    assert h["click_type_weighted_f1"]["value"] == pytest.approx(m.click_type_f1(records, lookup).weighted)
    assert h["outcome_f1"]["value"] == 1.0
    assert all(0.0 <= v["low"] <= v["high"] <= 1.0 for v in h.values())
    assert h == m.headline(records, lookup, n_bootstrap=200, seed=3)
    assert h["exact_match"]["low"] < h["exact_match"]["high"]  # two different sessions: spread
    flat = m.headline(records, lookup, n_bootstrap=0)
    assert all(v["low"] == v["value"] == v["high"] for v in flat.values())


def test_evaluate_and_sample_round_trip(records, lookup):
    sample = {"session_id": "s9", "step_index": 0, "user_id": "u9",
              "gold": {"type": "input", "name": "n", "text": "t", "click_type": None},
              "predicted": {"type": "input", "name": "n", "text": "t"}, "predicted_rationale": "r"}
    r = m.StepRecord.from_sample(sample)
    assert r.gold.matches(r.predicted) and r.predicted_rationale == "r"
    result = m.evaluate(records + [r], lookup, n_bootstrap=10)
    assert result["n_steps"] == 8 and result["n_sessions"] == 3
    assert set(result["headline"]) == set(m.HEADLINE)
    assert m.evaluate([], lookup)["headline"]["exact_match"]["value"] == 0.0
