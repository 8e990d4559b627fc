"""Rewards: Customer-R1 (paper Eq. 2), Shop-R1 (paper Table 1), exact (TRL's adapter: tests/training).

The expected values are the papers' (docs/METRICS.md cites them), not whatever the code returns.
"""

from __future__ import annotations

import math

import pytest

from customer_env.actions import format_completion
from customer_env.records import Action
from customer_env.rewards import (
    REWARD_PRESETS,
    CustomerR1RewardConfig,
    ShopR1RewardConfig,
    compute_reward,
    rouge_l_f1,
    shop_r1_reward,
)

SEARCH_INPUT = Action("input", "nav_bar.search_input", "rice cooker")
ADD_TO_CART = Action("click", "buybox.purchase_form.add_to_cart", click_type="purchase")
COLOR = Action("click", "product_options.color.button_list.white", click_type="product_option")
REVIEWS = Action("click", "reviews", click_type="review")
SEARCH_CLICK = Action("click", "nav_bar.search_button", click_type="search")
NAV_CLICK = Action("click", "nav_bar.cart_button", click_type="nav_bar")
TERMINATE = Action("terminate")
WRONG_CLICK = '{"rationale": "r", "action": {"type": "click", "name": "pagination.2"}}'


def said(action: Action) -> str:
    return format_completion(Action(action.type, action.name, action.text), "Because.")


# Customer-R1 Eq. 2, R = w(a_hat) * R_action + R_format: a correct input 2000, a correct click
# 1000 except product_option 10 and review or search 1, a correct terminate 1.
@pytest.mark.parametrize("gold, weight", [
    (SEARCH_INPUT, 2000.0), (ADD_TO_CART, 1000.0), (NAV_CLICK, 1000.0), (COLOR, 10.0),
    (REVIEWS, 1.0), (SEARCH_CLICK, 1.0), (TERMINATE, 1.0),
    (Action("click", "x", click_type=None), 1000.0),
])
def test_customer_r1_correct_reward_is_the_difficulty_weight(gold, weight):
    result = compute_reward("customer_r1", said(gold), gold)
    assert result.correct
    assert result.components == {"action": weight, "format": 1.0}
    assert result.total == weight + 1.0


WRONG_TERMINATE = '{"rationale": "r", "action": {"type": "terminate"}}'
WRONG_INPUT = '{"rationale": "r", "action": {"type": "input", "name": "nav_bar.search_input", "text": "kettle"}}'


@pytest.mark.parametrize("gold", [ADD_TO_CART, COLOR, REVIEWS, SEARCH_INPUT, TERMINATE])
def test_customer_r1_a_wrong_predicted_click_earns_minus_one_whatever_the_gold(gold):
    # Eq. 2 weights by the predicted action a_hat: "incorrect clicks -1" is a wrong predicted
    # click, 0 in the RL-only setting. The gold type does not matter.
    wrong = compute_reward("customer_r1", WRONG_CLICK, gold)
    assert not wrong.correct and wrong.components == {"action": -1.0, "format": 1.0}
    rl_only = compute_reward("customer_r1", WRONG_CLICK, gold, config=CustomerR1RewardConfig(variant="rl_only"))
    assert rl_only.components == {"action": 0.0, "format": 1.0}


@pytest.mark.parametrize("gold", [ADD_TO_CART, REVIEWS, NAV_CLICK, SEARCH_INPUT])
@pytest.mark.parametrize("completion", [WRONG_TERMINATE, WRONG_INPUT])
def test_customer_r1_a_wrong_predicted_terminate_or_input_earns_zero_even_on_a_gold_click(gold, completion):
    result = compute_reward("customer_r1", completion, gold)
    assert not result.correct and result.components == {"action": 0.0, "format": 1.0}


def test_customer_r1_custom_wrong_values_follow_the_predicted_type():
    typo = said(Action("input", "nav_bar.search_input", "rice cookers"))
    assert not compute_reward("customer_r1", typo, SEARCH_INPUT).correct
    custom = CustomerR1RewardConfig(wrong_click=-5.0, wrong_other=-2.0)
    assert compute_reward("customer_r1", WRONG_CLICK, TERMINATE, config=custom).components["action"] == -5.0
    assert compute_reward("customer_r1", WRONG_TERMINATE, NAV_CLICK, config=custom).components["action"] == -2.0


def test_customer_r1_the_gold_keyed_rule_is_an_explicit_option():
    # The rule of earlier versions: any wrong or unparseable answer on a gold click -1.
    old = CustomerR1RewardConfig(penalty_keyed_on="gold")
    assert compute_reward("customer_r1", WRONG_TERMINATE, NAV_CLICK, config=old).components["action"] == -1.0
    assert compute_reward("customer_r1", WRONG_CLICK, TERMINATE, config=old).components["action"] == 0.0
    assert compute_reward("customer_r1", "garbage", NAV_CLICK, config=old).components == {"action": -1.0, "format": 0.0}
    assert compute_reward("customer_r1", said(COLOR), COLOR, config=old).components["action"] == 10.0
    with pytest.raises(ValueError, match="penalty_keyed_on"):
        CustomerR1RewardConfig(penalty_keyed_on="both")


def test_customer_r1_unparseable_output_earns_nothing():
    for gold in (NAV_CLICK, SEARCH_INPUT, TERMINATE):
        garbage = compute_reward("customer_r1", "I think I'd click the cart", gold)
        assert garbage.components == {"action": 0.0, "format": 0.0} and not garbage.parsed.ok


def test_customer_r1_format_reward_needs_a_rationale_but_the_action_is_still_scored():
    # A non-string rationale voids only the format reward: the correct action keeps its weight.
    number = '{"rationale": 42, "action": {"type": "click", "name": "nav_bar.cart_button"}}'
    assert compute_reward("customer_r1", number, NAV_CLICK).components == {"action": 1000.0, "format": 0.0}
    empty = '{"rationale": "", "action": {"type": "click", "name": "nav_bar.cart_button"}}'
    assert compute_reward("customer_r1", empty, NAV_CLICK).components == {"action": 1000.0, "format": 0.0}
    missing = '{"action": {"type": "input", "name": "nav_bar.search_input", "text": "rice cooker"}}'
    assert compute_reward("customer_r1", missing, SEARCH_INPUT).components == {"action": 2000.0, "format": 0.0}
    bare = compute_reward("customer_r1", '{"type": "click", "name": "nav_bar.cart_button"}', NAV_CLICK)
    assert bare.correct and bare.components == {"action": 1000.0, "format": 0.0}


def test_customer_r1_grounding_changes_no_reward():
    # Eq. 2 has no term for the page: a well-formed click off the page is a wrong click (-1)
    # that followed the schema (format 1); the page names only fill parsed.grounded.
    off_page = compute_reward("customer_r1", WRONG_CLICK, NAV_CLICK, valid_names={"nav_bar.cart_button"})
    assert off_page.components == {"action": -1.0, "format": 1.0} and off_page.parsed.grounded is False
    on_page = compute_reward("customer_r1", said(NAV_CLICK), NAV_CLICK, valid_names={"nav_bar.cart_button"})
    assert on_page.total == 1001.0 and on_page.parsed.grounded is True


def test_customer_r1_names_and_texts_are_compared_stripped():
    spaced = '{"rationale": "r", "action": {"type": "input", "name": "nav_bar.search_input ", "text": " rice cooker"}}'
    assert compute_reward("customer_r1", spaced, SEARCH_INPUT).components["action"] == 2000.0
    gold_with_space = Action("input", "nav_bar.search_input", "rice cooker ")
    assert compute_reward("customer_r1", said(SEARCH_INPUT), gold_with_space).correct
    assert not compute_reward("customer_r1", said(Action("input", "nav_bar.search_input", "Rice Cooker")),
                              SEARCH_INPUT).correct  # case is kept


def test_customer_r1_scaling():
    log = CustomerR1RewardConfig(scale="log")
    assert compute_reward("customer_r1", said(SEARCH_INPUT), SEARCH_INPUT, config=log).components["action"] == pytest.approx(math.log1p(2000))
    assert compute_reward("customer_r1", said(REVIEWS), REVIEWS, config=log).components["action"] == pytest.approx(math.log(2))
    assert compute_reward("customer_r1", WRONG_CLICK, REVIEWS, config=log).components["action"] == pytest.approx(-math.log(2))
    assert compute_reward("customer_r1", said(REVIEWS), REVIEWS, config=log).components["format"] == 1.0
    top = CustomerR1RewardConfig(scale="max")
    assert compute_reward("customer_r1", said(SEARCH_INPUT), SEARCH_INPUT, config=top).components["action"] == 1.0
    assert compute_reward("customer_r1", said(ADD_TO_CART), ADD_TO_CART, config=top).components["action"] == 0.5
    with pytest.raises(ValueError, match="scale"):
        CustomerR1RewardConfig(scale="sqrt")
    with pytest.raises(ValueError, match="variant"):
        CustomerR1RewardConfig(variant="rl")


def test_exact_reward():
    assert compute_reward("exact", said(COLOR), COLOR).components == {"exact": 1.0}
    assert compute_reward("exact", WRONG_CLICK, COLOR).total == 0.0
    assert compute_reward("exact", "", TERMINATE).total == 0.0


def test_rouge_l_f1():
    assert rouge_l_f1("rice cooker", "rice cooker") == 1.0
    assert rouge_l_f1("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l_f1("x", "y") == 0.0
    assert rouge_l_f1("", "") == 1.0 and rouge_l_f1("", "a") == 0.0
    assert rouge_l_f1("Rice_Cooker", "rice cooker") == 1.0


# Shop-R1 Table 1: format 0.5 for a valid JSON response (else nothing at all); type 0.3; click
# +0.2 name present + DARS x ROUGE-L(name); input +0.1 name present, +0.1 text present,
# +0.1 x ROUGE-L(name), + DARS x ROUGE-L(text); terminate type only; similarity only above 0.75;
# DARS 1000.
def test_shop_r1_click_is_table_1():
    exact = shop_r1_reward(said(REVIEWS), REVIEWS)
    assert exact.components == pytest.approx({"format": 0.5, "type": 0.3, "attributes": 0.2, "similarity": 1000.0})
    near = Action("click", "search_result.red_mug.product_title")
    gold = Action("click", "search_result.blue_mug.product_title", click_type="product_link")
    rouge = rouge_l_f1(near.name, gold.name)
    assert rouge == pytest.approx(5 / 6)  # 5 of 6 words shared, over the 0.75 threshold
    assert shop_r1_reward(said(near), gold).total == pytest.approx(0.5 + 0.3 + 0.2 + 1000 * 5 / 6)
    far = shop_r1_reward(said(Action("click", "pagination.2")), REVIEWS)
    assert far.components == pytest.approx({"format": 0.5, "type": 0.3, "attributes": 0.2, "similarity": 0.0})


def test_shop_r1_input_is_table_1():
    exact = shop_r1_reward(said(SEARCH_INPUT), SEARCH_INPUT)
    assert exact.components == pytest.approx({"format": 0.5, "type": 0.3, "attributes": 0.2,
                                              "similarity": 0.1 * 1.0 + 1000 * 1.0})
    # A wrong query typed into the right box: the name's similarity is worth 0.1, not 1000.
    wrong_query = shop_r1_reward(said(Action("input", "nav_bar.search_input", "kettle")), SEARCH_INPUT)
    assert wrong_query.total == pytest.approx(0.5 + 0.3 + 0.1 + 0.1 + 0.1)
    close = shop_r1_reward(said(Action("input", "nav_bar.search_input", "small rice cooker")), SEARCH_INPUT)
    assert close.components["similarity"] == pytest.approx(0.1 + 1000 * 0.8)  # text F1 0.8
    # An empty text is no text: no presence credit, no similarity.
    empty = shop_r1_reward(said(Action("input", "nav_bar.search_input", "")), SEARCH_INPUT)
    assert empty.components == pytest.approx({"format": 0.5, "type": 0.3, "attributes": 0.1, "similarity": 0.1})
    blank_gold = Action("input", "nav_bar.search_input", "")
    assert shop_r1_reward(said(blank_gold), blank_gold).components["attributes"] == pytest.approx(0.1)


def test_shop_r1_terminate_and_wrong_type():
    term = shop_r1_reward(said(TERMINATE), TERMINATE)
    assert term.components == pytest.approx({"format": 0.5, "type": 0.3, "attributes": 0.0, "similarity": 0.0})
    assert term.correct
    wrong_type = shop_r1_reward(said(TERMINATE), REVIEWS)
    assert wrong_type.components == {"format": 0.5, "type": 0.0, "attributes": 0.0, "similarity": 0.0}


def test_shop_r1_similarity_pays_only_above_the_threshold():
    gold = Action("click", "a.b.c.d", click_type="other")
    at = Action("click", "a.b.c.x")  # ROUGE-L exactly 0.75: not above the threshold
    assert rouge_l_f1(at.name, gold.name) == pytest.approx(0.75)
    assert shop_r1_reward(said(at), gold).components["similarity"] == 0.0
    lower = ShopR1RewardConfig(similarity_threshold=0.7)
    assert shop_r1_reward(said(at), gold, config=lower).components["similarity"] == pytest.approx(750.0)


def test_shop_r1_no_partial_credit_without_a_valid_json_response():
    for completion in ("I would click reviews", '{"rationale": "r", "action": {"type": "click"}}',
                       '{"type": "click", "name": "reviews"}', '{"rationale": "r", "action": {"type": "click", "name": "revi'):
        result = shop_r1_reward(completion, REVIEWS)
        assert result.total == 0.0 and set(result.components.values()) == {0.0}, completion


def test_shop_r1_grounding_changes_no_reward():
    off_page = shop_r1_reward(said(REVIEWS), REVIEWS, valid_names={"other"})
    assert off_page.total == shop_r1_reward(said(REVIEWS), REVIEWS).total and off_page.parsed.grounded is False


def test_shop_r1_config_expresses_every_table_1_weight():
    cfg = ShopR1RewardConfig()
    assert (cfg.format_weight, cfg.type_weight, cfg.click_name_presence_weight, cfg.input_name_presence_weight,
            cfg.input_text_presence_weight, cfg.input_name_similarity_weight, cfg.dars_factor,
            cfg.similarity_threshold) == (0.5, 0.3, 0.2, 0.1, 0.1, 0.1, 1000.0, 0.75)
    no_dars = ShopR1RewardConfig(dars_factor=1.0)
    assert shop_r1_reward(said(REVIEWS), REVIEWS, config=no_dars).total == pytest.approx(0.5 + 0.3 + 0.2 + 1.0)
    text_only = ShopR1RewardConfig(input_name_similarity_weight=0.0, input_text_similarity_weight=2.0)
    assert shop_r1_reward(said(SEARCH_INPUT), SEARCH_INPUT, config=text_only).components["similarity"] == \
        pytest.approx(2000.0)


def test_unknown_preset_and_gold_are_clear_errors():
    with pytest.raises(ValueError, match="unknown reward preset"):
        compute_reward("nope", "", TERMINATE)
    with pytest.raises(ValueError, match="gold action type"):
        compute_reward("exact", "", Action("scroll"))
    assert compute_reward(lambda c, g, **kw: compute_reward("exact", c, g, **kw), said(COLOR), COLOR).total == 1.0


HOSTILE = [
    '{"rationale": "x", "action": {"type": "click", "name": "reviews", "z": ' + "[" * 1000 + "]" * 1000 + "}}",
    '{"rationale": "x", "action": {"type": "click", "name": "reviews"}, "n": ' + "1" * 5000 + "}",
    '{"rationale": "x", "action": {"type": "click", "name": "reviews\\ud83d"}}',
    '{"rationale": "x", "action": {"type": "click", "name": "reviews\\u0000"}}',
    "{" * 1_000_000,
]


@pytest.mark.parametrize("preset", sorted(REWARD_PRESETS))
def test_every_preset_scores_hostile_completions_as_format_failures(preset):
    # One such sampled completion used to raise inside the reward and end a GRPO run.
    for completion in HOSTILE:
        result = compute_reward(preset, completion, REVIEWS, valid_names={"reviews"})
        assert not result.parsed.ok and not result.correct and result.total == 0.0, result.parsed.error
