"""Metric functions against hand-computed cases, including the pitfalls docs/METRICS.md lists.

Definitions (docs/METRICS.md) follow the Customer-R1 paper, section 4.3 and Table 4.
"""

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


def test_action_type_accuracy_is_a_plain_share(records):
    # Predicted types: click, click, input, (failure) | click, terminate, terminate on a click.
    assert m.action_type_accuracy(records) == pytest.approx(5 / 7)


def test_grounding_is_separate_from_format_validity():
    # docs/METRICS.md: a well-formed click on an element missing from the page is format-valid
    # (it keeps its type credit) and ungrounded; grounding is its own rate.
    recs = [rec("s", 0, "u", REVIEW, Action("click", "not_on_page"), grounded=False),
            rec("s", 1, "u", SEARCH, Action("click", "nav_bar.search_button"), grounded=True),
            rec("s", 2, "u", END, Action("terminate"), grounded=True),
            rec("s", 3, "u", TYPE, None, grounded=False)]
    assert m.format_validity(recs) == pytest.approx(3 / 4)
    assert m.action_type_accuracy(recs) == pytest.approx(3 / 4)
    assert m.grounding(recs) == {"rate": pytest.approx(2 / 4), "grounded": 2, "checked": 4}
    h = m.headline(recs, m.ClickTypeLookup.from_actions([REVIEW, SEARCH]), n_bootstrap=0)
    assert h["format_validity"]["value"] == pytest.approx(3 / 4)
    assert h["grounding_rate"]["value"] == pytest.approx(2 / 4)
    assert h["action_type_accuracy"]["value"] == pytest.approx(3 / 4)
    unchecked = [rec("s", 0, "u", REVIEW, Action("click", "x"))]
    assert m.grounding(unchecked) == {"rate": 0.0, "grounded": 0, "checked": 0}


def test_session_outcome_needs_no_emitted_click_type(lookup):
    # The agent's add-to-cart click carries no click type; the lookup labels the element.
    recs = [rec("s", 0, "u", REVIEW, REVIEW), rec("s", 1, "u", BUY, Action("click", "other_seller.add_to_cart"))]
    assert recs[1].predicted.click_type is None
    assert m.session_outcomes(recs, lookup) == {"s": ("purchase", "purchase")}
    assert m.outcome_report(recs, lookup)["weighted_f1"] == 1.0
    # Without pattern inference the unseen element is "other": the purchase is missed.
    strict = m.ClickTypeLookup.from_actions([REVIEW, SEARCH, BUY, LINK], infer_patterns=False)
    assert m.session_outcomes(recs, strict) == {"s": ("purchase", None)}


def _outcome_sessions():
    """Six sessions; the last step of each decides. Customer-R1 section 4.3: the outcome is how the
    session ends (purchase click or terminate); OPeRA: read at "these terminal actions"."""
    return [
        rec("a", 0, "u", REVIEW, REVIEW), rec("a", 1, "u", BUY, BUY),                          # purchase / purchase
        rec("b", 0, "u", BUY, Action("terminate")),                                          # purchase / terminate
        rec("c", 0, "u", REVIEW, REVIEW), rec("c", 1, "u", END, END),                          # terminate / terminate
        rec("d", 0, "u", END, REVIEW),                                                       # terminate / neither
        rec("e", 0, "u", BUY, Action("click", "other_seller.add_to_cart")),                 # purchase / purchase
        # The human bought, then left: the session ends in terminate. The agent's purchase click at
        # step 0 does not count; its answer at the last step (terminate) does.
        rec("f", 0, "u", BUY, BUY), rec("f", 1, "u", END, END),                                # terminate / terminate
    ]


def test_session_outcome_is_read_at_the_last_step_and_scored_by_weighted_f1(lookup):
    recs = _outcome_sessions()
    assert m.session_outcomes(recs, lookup) == {
        "a": ("purchase", "purchase"), "b": ("purchase", "terminate"), "c": ("terminate", "terminate"),
        "d": ("terminate", None), "e": ("purchase", "purchase"), "f": ("terminate", "terminate")}
    report = m.outcome_report(recs, lookup)
    # purchase: tp 2, support 3, predicted 2 -> F1 0.8; terminate: tp 2, support 3, predicted 3 -> 2/3.
    assert report["per_class"] == pytest.approx({"purchase": 0.8, "terminate": 2 / 3})
    assert report["weighted_f1"] == pytest.approx((3 * 0.8 + 3 * 2 / 3) / 6)
    assert report["accuracy"] == pytest.approx(4 / 6) and report["no_outcome_predicted"] == 1
    assert report["support"] == {"purchase": 3, "terminate": 3}
    h = m.headline(recs, lookup, n_bootstrap=0)
    assert h["session_outcome_weighted_f1"]["value"] == pytest.approx(report["weighted_f1"])
    assert h["session_outcome_accuracy"]["value"] == pytest.approx(4 / 6)
    assert "outcome_f1" not in h and "outcome_accuracy" not in h


def test_the_any_step_reading_is_kept_under_its_own_name(lookup):
    report = m.outcome_report(_outcome_sessions(), lookup)["any_step_purchase"]
    # Purchases at any step: human a, b, e, f; agent a, e, f -> tp 3, fn 1, fp 0, tn 2.
    assert report["purchase_f1"] == pytest.approx(6 / 7) and report["accuracy"] == pytest.approx(5 / 6)


def test_outcome_gold_comes_from_the_whole_session_and_a_cut_session_has_no_prediction(lookup):
    # The records stop at step 1 of a 5-step session that ends in a purchase: the last step was
    # never predicted, so the outcome prediction is neither class (wrong).
    cut = [rec("a", 0, "u", REVIEW, REVIEW, session_length=5, session_outcome="purchase"),
           rec("a", 1, "u", REVIEW, Action("terminate"), session_length=5, session_outcome="purchase")]
    assert m.session_outcomes(cut, lookup) == {"a": ("purchase", None)}
    full = [rec("b", 0, "u", REVIEW, Action("terminate"), session_length=1)]
    assert m.session_outcomes(full, lookup) == {"b": ("terminate", "terminate")}


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
    # Both sessions end in terminate; the agent's last answers are a failure and a terminate.
    assert fid["human_purchase_rate"] == 0.0 and fid["agent_purchase_rate"] == 0.0
    sessions = m.behaviour_fidelity(_outcome_sessions(), lookup)
    assert sessions["human_purchase_rate"] == pytest.approx(3 / 6) and sessions["agent_purchase_rate"] == pytest.approx(2 / 6)


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
    # s1 ends in terminate (last answer a failure), s2 ends in terminate (answered terminate):
    # terminate F1 = 2 * 1 / (2 + 1), the only gold class.
    assert h["session_outcome_weighted_f1"]["value"] == pytest.approx(2 / 3)
    assert h["action_type_accuracy"]["value"] == pytest.approx(m.action_type_accuracy(records))
    assert all(0.0 <= v["low"] <= v["high"] <= 1.0 for v in h.values())
    assert h == m.headline(records, lookup, n_bootstrap=200, seed=3)
    assert h["exact_match"]["low"] < h["exact_match"]["high"]  # two different sessions: spread
    flat = m.headline(records, lookup, n_bootstrap=0)
    assert all(v["low"] == v["value"] == v["high"] for v in flat.values())


def test_evaluate_and_sample_round_trip(records, lookup):
    sample = {"session_id": "s9", "step_index": 0, "user_id": "u9",
              "gold": {"type": "input", "name": "n", "text": "t", "click_type": None},
              "predicted": {"type": "input", "name": "n", "text": "t"}, "predicted_rationale": "r",
              "grounded": False, "session_outcome": "terminate"}
    r = m.StepRecord.from_sample(sample)
    assert r.gold.matches(r.predicted) and r.predicted_rationale == "r"
    assert r.grounded is False and r.session_outcome == "terminate"
    result = m.evaluate(records + [r], lookup, n_bootstrap=10)
    assert result["n_steps"] == 8 and result["n_sessions"] == 3
    assert set(result["headline"]) == set(m.HEADLINE)
    assert {"session_outcome_weighted_f1", "action_type_accuracy", "grounding_rate"} <= set(m.HEADLINE)
    assert result["grounding"] == {"rate": 0.0, "grounded": 0, "checked": 1}
    assert m.evaluate([], lookup)["headline"]["exact_match"]["value"] == 0.0


# ------------------------------------------------------------------ paired differences, small samples
def _runs(n_sessions=12):
    """Two runs on the same sessions of uneven difficulty: b is a with one more wrong step (in s00).

    Sessions s00..: session k has k % 4 + 1 steps, of which a gets every other one right.
    """
    a, b = [], []
    for k in range(n_sessions):
        sid = f"s{k:02d}"
        for i in range(k % 4 + 1):
            right = REVIEW if i % 2 == 0 else SEARCH
            a.append(rec(sid, i, "u", REVIEW, right))
            b.append(rec(sid, i, "u", REVIEW, SEARCH if (k == 0 and i == 0) else right))
    return a, b


def test_paired_difference_resamples_the_same_sessions_for_both_runs(lookup):
    a, b = _runs()
    diff = m.paired_difference(a, b, lookup, n_bootstrap=500, seed=1)
    ha, hb = m.headline(a, lookup, n_bootstrap=0), m.headline(b, lookup, n_bootstrap=0)
    assert diff["exact_match"]["value"] == pytest.approx(ha["exact_match"]["value"] - hb["exact_match"]["value"])
    # a is never worse than b in any session, so in every *paired* resample a - b >= 0: the lower
    # end is 0 or above. Resampling the runs independently would mix hard and easy sessions and
    # reach below 0 (the sessions' exact match ranges from 0 to 100%).
    assert diff["exact_match"]["low"] >= 0.0 and diff["exact_match"]["high"] > 0.0
    assert diff == m.paired_difference(a, b, lookup, n_bootstrap=500, seed=1)  # seeded
    same = m.paired_difference(a, a, lookup, n_bootstrap=200)
    assert all(v == {"value": 0.0, "low": 0.0, "high": 0.0} for v in same.values())


def test_paired_difference_covers_every_headline_metric(lookup):
    a, b = _runs()
    diff = m.paired_difference(a, b, lookup, n_bootstrap=0)
    assert set(diff) == set(m.HEADLINE)
    ha, hb = m.headline(a, lookup, n_bootstrap=0), m.headline(b, lookup, n_bootstrap=0)
    for name in ("action_type_macro_f1", "click_type_weighted_f1", "fine_grained_accuracy"):
        assert diff[name]["value"] == pytest.approx(ha[name]["value"] - hb[name]["value"])
    assert set(m.paired_difference(a, b, lookup, n_bootstrap=0, metrics=("exact_match",))) == {"exact_match"}
    with pytest.raises(ValueError, match="not headline metrics: reward"):
        m.paired_difference(a, b, lookup, metrics=("reward",))


def test_paired_difference_needs_the_same_sessions(lookup):
    a, b = _runs()
    with pytest.raises(ValueError, match="same sessions: 0 only in the first.*1 only in the second"):
        m.paired_difference(a, b + [rec("zz", 0, "u", END, END)], lookup)


def test_the_pipeline_evaluation_uses_the_metrics_paired_difference():
    from training import evaluate_pipeline

    assert evaluate_pipeline.paired_difference is m.paired_difference


def test_one_session_has_no_interval_and_few_sessions_are_warned_about(lookup, caplog):
    a, b = _runs(n_sessions=1)
    assert m.headline(a, lookup)["exact_match"] == {"value": 1.0, "low": None, "high": None}
    assert m.paired_difference(a, b, lookup)["exact_match"]["low"] is None
    assert m.headline(a, lookup, n_bootstrap=0)["exact_match"]["low"] == 1.0  # no interval asked for
    assert "undefined" in m.small_sample_warning(1)
    assert "2 sessions" in m.small_sample_warning(2) and "3 distinct resamples" in m.small_sample_warning(2)
    assert m.small_sample_warning(19) is not None and m.small_sample_warning(20) is None
    with caplog.at_level("WARNING", logger="customer_env.metrics"):
        result = m.evaluate(_runs(n_sessions=5)[0], lookup, n_bootstrap=10)
    assert result["bootstrap"]["warning"] == m.small_sample_warning(5) and result["bootstrap"]["resamples"] == 10
    assert m.small_sample_warning(5) in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="customer_env.metrics"):
        assert m.evaluate(_runs(n_sessions=20)[0], lookup, n_bootstrap=10)["bootstrap"]["warning"] is None
    assert "sessions evaluated" not in caplog.text
