"""Rewards: Customer-R1 weights by gold type, variants, scaling, Shop-R1, exact."""

from __future__ import annotations

import math

import pytest

from customer_env.actions import format_completion
from customer_env.records import Action
from customer_env.rewards import (
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


@pytest.mark.parametrize("gold, weight", [
    (SEARCH_INPUT, 2000.0), (ADD_TO_CART, 1000.0), (NAV_CLICK, 1000.0), (COLOR, 10.0),
    (REVIEWS, 1.0), (SEARCH_CLICK, 1.0), (TERMINATE, 1.0),
    (Action("click", "x", click_type=None), 1000.0),
])
def test_customer_r1_correct_reward_is_weighted_by_the_gold_action(gold, weight):
    result = compute_reward("customer_r1", said(gold), gold)
    assert result.correct
    assert result.components == {"action": weight, "format": 1.0}
    assert result.total == weight + 1.0


def test_customer_r1_wrong_predictions():
    for gold in (ADD_TO_CART, COLOR, REVIEWS):
        wrong = compute_reward("customer_r1", WRONG_CLICK, gold)
        assert not wrong.correct and wrong.components == {"action": -1.0, "format": 1.0}
        rl_only = compute_reward("customer_r1", WRONG_CLICK, gold, config=CustomerR1RewardConfig(variant="rl_only"))
        assert rl_only.components == {"action": 0.0, "format": 1.0}
    for gold in (SEARCH_INPUT, TERMINATE):
        assert compute_reward("customer_r1", WRONG_CLICK, gold).components["action"] == 0.0
    typo = said(Action("input", "nav_bar.search_input", "rice cookers"))
    assert not compute_reward("customer_r1", typo, SEARCH_INPUT).correct
    custom = CustomerR1RewardConfig(wrong_click=-5.0, wrong_other=-2.0)
    assert compute_reward("customer_r1", WRONG_CLICK, NAV_CLICK, config=custom).components["action"] == -5.0
    assert compute_reward("customer_r1", WRONG_CLICK, TERMINATE, config=custom).components["action"] == -2.0


def test_customer_r1_format_failures():
    garbage = compute_reward("customer_r1", "I think I'd click the cart", NAV_CLICK)
    assert garbage.components == {"action": -1.0, "format": 0.0} and not garbage.parsed.ok
    bare = compute_reward("customer_r1", '{"type": "click", "name": "nav_bar.cart_button"}', NAV_CLICK)
    assert bare.correct and bare.components == {"action": 1000.0, "format": 0.0}
    off_page = compute_reward("customer_r1", WRONG_CLICK, NAV_CLICK, valid_names={"nav_bar.cart_button"})
    assert off_page.components == {"action": -1.0, "format": 0.0}
    on_page = compute_reward("customer_r1", said(NAV_CLICK), NAV_CLICK, valid_names={"nav_bar.cart_button"})
    assert on_page.total == 1001.0


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


def test_shop_r1_hierarchy():
    exact_input = shop_r1_reward(said(SEARCH_INPUT), SEARCH_INPUT)
    assert exact_input.components == {"format": 0.5, "type": 0.3, "attributes": 0.2, "similarity": 2000.0}
    close = shop_r1_reward(said(Action("input", "nav_bar.search_input", "small rice cooker")), SEARCH_INPUT)
    assert close.components["similarity"] == pytest.approx(1000 + 1000 * 0.8)  # name 1.0, text F1 0.8
    far = shop_r1_reward(said(Action("input", "nav_bar.search_input", "kettle")), SEARCH_INPUT)
    assert far.components["similarity"] == 1000.0  # the text is under the 0.75 threshold
    wrong_type = shop_r1_reward(said(TERMINATE), REVIEWS)
    assert wrong_type.components == {"format": 0.5, "type": 0.0, "attributes": 0.0, "similarity": 0.0}
    term = shop_r1_reward(said(TERMINATE), TERMINATE)
    assert term.total == pytest.approx(0.8) and term.correct
    off_page = shop_r1_reward(said(REVIEWS), REVIEWS, valid_names={"other"})
    assert off_page.components["format"] == 0.0 and off_page.components["type"] == 0.3 and not off_page.correct
    soft = shop_r1_reward(said(REVIEWS), REVIEWS, config=ShopR1RewardConfig(hard_scale=1.0))
    assert soft.total == pytest.approx(0.5 + 0.3 + 0.1 + 1.0)


def test_unknown_preset_and_gold_are_clear_errors():
    with pytest.raises(ValueError, match="unknown reward preset"):
        compute_reward("nope", "", TERMINATE)
    with pytest.raises(ValueError, match="gold action type"):
        compute_reward("exact", "", Action("scroll"))
    assert compute_reward(lambda c, g, **kw: compute_reward("exact", c, g, **kw), said(COLOR), COLOR).total == 1.0
