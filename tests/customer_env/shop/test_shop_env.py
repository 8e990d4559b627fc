"""OPeRA-Shop-v0 as an environment: spaces, observations, determinism, junk, rewards, personas."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import customer_env  # noqa: F401 - registers the environments
from customer_env.actions import format_completion
from customer_env.records import Action
from customer_env.shop.env import OperaShopEnv
from customer_env.shop.rewards import DEFAULT_LIKELIHOOD_FLOOR
from customer_env.spaces import WireActionSpace, observation_space
from customer_env.synthetic import names
from customer_env.synthetic.fork import action_of
from tests.customer_env.shop.conftest import make_shop


def _click(name: str) -> str:
    return format_completion(Action("click", name), "I click it.")


def test_registered_with_the_spaces_of_opera_v0(small_world: Any) -> None:
    assert "OPeRA-Shop-v0" in gym.registry
    env = make_shop(small_world)
    assert isinstance(env, OperaShopEnv)
    assert env.observation_space == observation_space()
    assert isinstance(env.action_space, WireActionSpace)
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and set(obs) == set(observation_space().spaces)
    assert env.action_space.sample() in env.action_space


def test_a_recorded_start_is_shown_exactly_as_opera_v0_shows_it(small_store_dir: Path, small_world: Any) -> None:
    replay = gym.make("OPeRA-v0", source=str(small_store_dir), split="train", max_prompt_tokens=4096, disable_env_checker=True).unwrapped
    shop = make_shop(small_world)
    stepped = 0
    for sid in replay.session_ids[:6]:
        expected, _ = replay.reset(options={"session_id": sid})
        shown, info = shop.reset(options={"session_id": sid})
        assert shown == expected, sid  # persona, page, history, url and actionable names
        assert info["session_id"] == sid and info["recorded_session"] == sid
        steps = small_world.sessions[sid].sim.steps
        action = action_of(steps[0].action)
        expected, *_ = replay.step(format_completion(action, "Next."))
        shown, *_ = shop.step(format_completion(action, "Next."))
        if len(steps) > 1 and shop.state.page == steps[1].view:  # no unrecorded back or Enter between
            stepped += 1
            for key in ("page", "url", "actionable_names", "persona"):
                assert shown[key] == expected[key], (sid, key)
    assert stepped >= 2


def test_seeded_episodes_are_identical_and_seeds_differ(small_world: Any) -> None:
    def play(seed: int) -> list[Any]:
        env = make_shop(small_world, reward="likelihood")
        obs, info = env.reset(seed=seed)
        trace = [json.dumps(obs, sort_keys=True), info["session_id"]]
        for _ in range(12):
            text = env.action_space.sample()
            obs, reward, terminated, truncated, info = env.step(text)
            trace += [text, json.dumps(obs, sort_keys=True), reward, info["effect"], info["reference"]["gold"]]
            if terminated or truncated:
                obs, info = env.reset()
                trace.append(info["session_id"])
        return trace

    assert play(3) == play(3)
    assert play(3)[1] != play(4)[1]


def test_the_constructor_seed_seeds_the_first_reset(small_world: Any) -> None:
    a = make_shop(small_world, seed=11)
    b = make_shop(small_world)
    assert a.reset()[1]["session_id"] == b.reset(seed=11)[1]["session_id"]
    assert a.reset()[1]["session_id"] == b.reset()[1]["session_id"]  # the stream continues


def test_junk_actions_behave_as_in_opera_v0(small_world: Any) -> None:
    env = make_shop(small_world, reward="likelihood")
    obs, _ = env.reset(seed=1)
    before = env.state
    obs2, reward, terminated, truncated, info = env.step("not even JSON")
    assert not info["parse_ok"] and info["parse_error_code"] == "no_json" and info["effect"] == "invalid"
    assert env.state == before and obs2["page"] == obs["page"] and not terminated
    assert reward == pytest.approx(math.log(DEFAULT_LIKELIHOOD_FLOOR))
    _, _, _, _, info = env.step(_click("no_such.element"))
    assert info["parse_ok"] and not info["grounded"] and info["effect"] == "invalid"
    assert "no page the shopper can reach" in info["invalid_reason"] and env.state == before
    assert info["reference"]["in_support"] is False and info["reference"]["probability"] == 0.0
    _, _, _, _, info = env.step({"type": "input", "name": "nav_bar.search_input", "text": "rice cooker"})
    assert info["parse_ok"] and info["effect"] == "no_effect"  # a bare wire dict is accepted, as in OPeRA-v0
    assert info["session"]["actions"][-1] == {"type": "input", "name": "nav_bar.search_input", "text": "rice cooker"}


def test_typing_searches_with_the_button_or_with_enter(small_world: Any) -> None:
    env = make_shop(small_world)
    env.reset(seed=2)
    _, _, _, _, info = env.step(format_completion(Action("input", names.SEARCH_INPUT.name, "air fryer"), "Search."))
    assert info["effect"] == "no_effect" and env.state.typed == "air fryer"
    _, _, _, _, info = env.step(_click(names.SEARCH_BUTTON.name))
    assert info["effect"] == "navigated" and info["page_kind"] == "search" and env.state.page.query == "air fryer"
    env.step(format_completion(Action("input", names.SEARCH_INPUT.name, "rice cooker"), "Search."))
    result = small_world.search("rice cooker", env.state.cart)
    title = small_world.catalogue.by_asin[result.results[0]].title
    _, _, _, _, info = env.step(_click(names.product_link(names.SEARCH_RESULT, title).name))
    assert info["submitted_search"] and info["effect"] == "navigated" and info["page_kind"] == "product"
    # back: a result of the earlier page, clicked on the product page
    other = small_world.catalogue.by_asin[result.results[1]].title
    _, _, _, _, info = env.step(_click(names.product_link(names.SEARCH_RESULT, other).name))
    assert info["went_back"] == 1 and env.state.page.asin == result.results[1]


def test_purchases_and_terminate_end_the_episode_and_steps_truncate(small_world: Any) -> None:
    env = make_shop(small_world, reward="outcome")
    env.reset(seed=5)
    env.step(format_completion(Action("input", names.SEARCH_INPUT.name, env.visit.start.intent), "Search."))
    result = small_world.search(env.visit.start.intent, env.state.cart)
    title = small_world.catalogue.by_asin[result.results[0]].title
    env.step(_click(names.product_link(names.SEARCH_RESULT, title).name))
    _, reward, terminated, truncated, info = env.step(_click(names.BUY_NOW.name))
    assert terminated and not truncated and info["ended"] == "purchase" and info["effect"] == "ended"
    assert info["order"][0]["asin"] == result.results[0]
    assert reward == 1.0 and info["episode"]["ended"] == "purchase"  # the intent's product
    with pytest.raises(RuntimeError, match="reset"):
        env.step(_click(names.HOMEPAGE.name))
    env.reset(seed=5)
    _, reward, terminated, _, info = env.step(format_completion(Action("terminate"), "Bye."))
    assert terminated and info["ended"] == "terminate" and reward == 0.0
    short = OperaShopEnv(world=small_world, max_episode_steps=2)
    short.reset(seed=5)
    assert short.step(_click(names.SEARCH_INPUT.name))[3] is False
    _, _, terminated, truncated, info = short.step(_click(names.SEARCH_INPUT.name))
    assert truncated and not terminated and info["episode"]["ended"] == "truncated"


def test_personas_as_in_opera_v0(small_store_dir: Path, small_world: Any) -> None:
    from customer_env.data import open_store

    store = open_store(str(small_store_dir))
    user = sorted(store.users)[0]
    env = make_shop(small_world, persona=user)
    obs, info = env.reset(seed=0)
    assert obs["persona"] == store.users[user].persona.to_text()
    assert info["user_id"] == user and info["persona_mode"] == "real" and info["profile_source"] == "user"
    survey = small_world.users[user].survey
    env = make_shop(small_world, persona=survey)
    _, info = env.reset(seed=0)
    assert info["persona_mode"] == "custom" and info["profile_source"] == "survey" and info["user_id"] is None
    assert env.persona.profile.price == small_world.users[user].profile.price
    env = make_shop(small_world, persona="I hunt Kitchora kitchen deals on weekends.")
    obs, info = env.reset(seed=0)
    assert info["profile_source"] == "text" and env.persona.profile.categories == ("Kitchen",)
    assert obs["persona"] == "I hunt Kitchora kitchen deals on weekends."
    with pytest.raises(ValueError, match="not a user of this shop"):
        make_shop(small_world, persona="nobody")
    with pytest.raises(ValueError, match="survey-shaped"):
        make_shop(small_world, persona={"favourite": "x"})
    anyone = make_shop(small_world)
    drawn = {anyone.reset(seed=s)[1]["user_id"] for s in range(12)}
    assert drawn <= set(small_world.users) and len(drawn) > 1


def test_bad_options_are_refused_in_one_line(small_world: Any) -> None:
    env = make_shop(small_world)
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"step": 3})
    with pytest.raises(ValueError, match="not a recorded session"):
        env.reset(options={"session_id": "nope"})
    with pytest.raises(ValueError, match="takes no persona"):
        env.reset(options={"session_id": sorted(small_world.sessions)[0], "persona": "x y"})
    with pytest.raises(ValueError, match="episode_seed"):
        env.reset(options={"episode_seed": -1})
    with pytest.raises(ValueError, match="reward="):
        make_shop(small_world, reward="exact")
    with pytest.raises(ValueError, match="needs the reference law"):
        make_shop(small_world, reward="likelihood", reference_law=False)
    with pytest.raises(ValueError, match="likelihood_floor"):
        make_shop(small_world, likelihood_floor=0.0)
    with pytest.raises(ValueError, match="either world="):
        OperaShopEnv(world=small_world, page_scale=0.1)


def test_the_info_says_what_the_action_did_and_the_session_so_far(small_world: Any) -> None:
    env = make_shop(small_world, reference_law=True, render_mode="ansi")
    _, info = env.reset(seed=7)
    assert info["session"] == {"steps": 0, "actions": [], "cart": info["session"]["cart"]}
    assert "reference" not in info
    _, _, _, _, info = env.step(_click(names.HOMEPAGE.name))
    assert info["effect"] == "navigated" and info["page_kind"] == "home" and info["session"]["steps"] == 1
    reference = info["reference"]
    assert {"gold", "probability", "log_probability", "in_support", "anchor", "runs", "paths"} <= set(reference)
    assert reference["gold"]["click_type"] is not None or reference["gold"]["type"] != "click"
    assert "OPeRA-Shop episode" in env.render() and "navigated" in env.render()
