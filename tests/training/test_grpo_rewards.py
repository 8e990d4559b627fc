"""The TRL calling convention of the environment's reward (``training.grpo_rewards``)."""

from __future__ import annotations

import json

import pytest

from customer_env.actions import format_completion, parse_completion
from customer_env.records import Action
from customer_env.rewards import REWARD_PRESETS, CustomerR1RewardConfig, compute_reward
from training.grpo_rewards import accuracy_by_type, completion_text, make_trl_reward_funcs

SEARCH_INPUT = Action("input", "nav_bar.search_input", "rice cooker")
ADD_TO_CART = Action("click", "buybox.purchase_form.add_to_cart", click_type="purchase")
COLOR = Action("click", "product_options.color.button_list.white", click_type="product_option")
REVIEWS = Action("click", "reviews", click_type="review")
NAV_CLICK = Action("click", "nav_bar.cart_button", click_type="nav_bar")
TERMINATE = Action("terminate")
WRONG_CLICK = '{"rationale": "r", "action": {"type": "click", "name": "pagination.2"}}'


def said(action: Action) -> str:
    return format_completion(Action(action.type, action.name, action.text), "Because.")


GOLDS = [SEARCH_INPUT, ADD_TO_CART, COLOR, REVIEWS, TERMINATE, NAV_CLICK]
PAGE_NAMES = ["nav_bar.search_input", "buybox.purchase_form.add_to_cart", "product_options.color.button_list.white",
              "reviews", "nav_bar.cart_button", "pagination.2"]
COMPLETIONS = [said(SEARCH_INPUT), WRONG_CLICK, said(COLOR), "garbage", said(TERMINATE),
               '{"rationale": "r", "action": {"type": "click", "name": "not_on_page"}}']


def _columns():
    return {
        "gold_type": [g.type for g in GOLDS],
        "gold_name": [g.name for g in GOLDS],
        "gold_text": [g.text for g in GOLDS],
        "gold_click_type": [g.click_type for g in GOLDS],
        "page_names": [json.dumps(PAGE_NAMES)] * len(GOLDS),
        "session_id": ["s"] * len(GOLDS),
    }


@pytest.mark.parametrize("preset, config", [
    ("customer_r1", None), ("customer_r1", CustomerR1RewardConfig(variant="rl_only", scale="log")),
    ("exact", None), ("shop_r1", None),
])
@pytest.mark.parametrize("conversational", [False, True])
def test_trl_functions_match_compute_reward(preset, config, conversational):
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS] if conversational else COMPLETIONS
    expected = [compute_reward(preset, c, g, valid_names=set(PAGE_NAMES), config=config).total
                for c, g in zip(COMPLETIONS, GOLDS)]
    logged = {}
    (total,) = make_trl_reward_funcs(preset, config=config)
    got = total(prompts=["p"] * 6, completions=completions, completion_ids=[[1]] * 6,
                log_metric=lambda k, v: logged.__setitem__(k, v), trainer_state=None, **_columns())
    assert got == expected
    assert total.__name__ == f"{preset}_reward"
    assert logged[f"{preset}/parse_failed"] == pytest.approx(1 / 6)  # "garbage"; off-page names parse
    parts = make_trl_reward_funcs(preset, components=True, config=config)
    assert [f.__name__ for f in parts] == [f"{preset}_{k}" for k in REWARD_PRESETS[preset][2]]
    sums = [sum(v) for v in zip(*(f(prompts=None, completions=completions, **_columns()) for f in parts))]
    assert sums == pytest.approx(expected)


def test_trl_config_overrides_and_errors():
    (fn,) = make_trl_reward_funcs("customer_r1", variant="rl_only")
    cols = _columns()
    assert fn(completions=[WRONG_CLICK], **{k: v[1:2] for k, v in cols.items()}) == [1.0]
    with pytest.raises(ValueError, match="unknown CustomerR1RewardConfig fields"):
        make_trl_reward_funcs("customer_r1", weight=3)
    with pytest.raises(KeyError, match="gold_type"):
        fn(completions=["x"], gold_name=["a"], gold_text=[None], gold_click_type=[None])
    bad = dict(cols, page_names=["not json"] * 6)
    with pytest.raises(ValueError, match="row 0: page_names"):
        fn(completions=COMPLETIONS, **bad)


def test_trl_page_names_may_be_absent_or_null():
    (fn,) = make_trl_reward_funcs("exact")
    cols = {k: v for k, v in _columns().items() if k != "page_names"}
    assert fn(completions=[said(NAV_CLICK)], **{k: v[5:6] for k, v in cols.items()}) == [1.0]
    cols["page_names"] = [None] * 6
    assert fn(completions=COMPLETIONS, **cols)[5] == 0.0  # a wrong click, page names or not
    cols["gold_text"] = [float("nan")] * 6  # pandas-style missing values
    cols["gold_text"][0] = "rice cooker"
    assert fn(completions=COMPLETIONS, **cols)[0] == 1.0
    assert parse_completion(COMPLETIONS[0]).ok


def test_completion_text_reads_every_trl_completion_shape():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"},
                                                              {"type": "text", "text": "b"}]}]) == "ab"
    assert completion_text([]) == "" and completion_text(None) == ""


def test_accuracy_by_type_logs_per_gold_type():
    logged = {}
    scores = accuracy_by_type(completions=COMPLETIONS, log_metric=lambda k, v: logged.__setitem__(k, v), **_columns())
    assert scores == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert logged == {"accuracy/click": pytest.approx(1 / 4), "accuracy/input": 1.0, "accuracy/terminate": 1.0}


HOSTILE = [
    '{"rationale": "x", "action": {"type": "click", "name": "reviews", "z": ' + "[" * 1000 + "]" * 1000 + "}}",
    '{"rationale": "x", "action": {"type": "click", "name": "reviews\\ud83d"}}',
    "{" * 1_000_000,
]


@pytest.mark.parametrize("preset", sorted(REWARD_PRESETS))
def test_hostile_completions_are_scored_not_raised(preset):
    # One such sampled completion used to raise inside the reward and end a GRPO run.
    (fn,) = make_trl_reward_funcs(preset)
    golds = {k: [v[3]] * len(HOSTILE) for k, v in _columns().items()}  # REVIEWS' row
    assert fn(completions=HOSTILE, **golds) == [0.0] * len(HOSTILE)
