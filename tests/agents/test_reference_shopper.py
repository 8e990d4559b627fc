"""agents.make("reference_shopper"): the store's behaviour model as an agent of OPeRA-Shop-v0."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import agents
import customer_env  # noqa: F401 - registers the environments
from customer_env.shop.rewards import DEFAULT_LIKELIHOOD_FLOOR
from customer_env.shop.world import ShopWorld


@pytest.fixture(scope="module")
def world(small_store_dir: Path) -> ShopWorld:
    return ShopWorld.from_store(small_store_dir)


def _shop(world: ShopWorld, **kwargs: Any) -> Any:
    return gym.make("OPeRA-Shop-v0", world=world, max_prompt_tokens=4096, disable_env_checker=True, **kwargs).unwrapped


def _episode(env: Any, shopper: Any, **options: Any) -> list[dict[str, Any]]:
    obs, info = env.reset(options=options)
    shopper.reset(info)
    steps, done = [], False
    while not done:
        obs, _, terminated, truncated, info = env.step(shopper.act(obs))
        shopper.observe(info)
        steps.append(info)
        done = terminated or truncated
    return steps


def test_registered() -> None:
    assert "reference_shopper" in agents.available()


def test_its_every_action_is_in_the_reference_law_and_applies(world: ShopWorld) -> None:
    # The sampled walk (the agent) and the enumerated law (the likelihood reward) are one model:
    # every action the agent takes has positive probability under the law, the law never
    # re-anchors, and the shop applies every action.
    env = _shop(world, reward="likelihood")
    shopper = agents.make("reference_shopper", seed=3)
    floor = math.log(DEFAULT_LIKELIHOOD_FLOOR)
    for k, user in enumerate(world.user_ids):
        steps = _episode(env, shopper, persona=user, episode_seed=100 + k)
        assert steps[-1]["ended"] in ("purchase", "terminate") or steps[-1]["episode"]["ended"] == "truncated"
        for info in steps:
            assert info["effect"] != "invalid" and info["parse_ok"]
            assert info["reference"]["probability"] > 0 and info["reward"] > floor, info["agent_action"]
            assert info["reference"]["anchor"] == "visit"
        assert steps[-1]["episode"]["reanchors"] == 0


def test_seeded(world: ShopWorld) -> None:
    env = _shop(world)

    def actions(seed: int, episode_seed: int) -> list[Any]:
        shopper = agents.make("reference_shopper", seed=seed)
        return [info["agent_action"] for info in _episode(env, shopper, persona=world.user_ids[1],
                                                          episode_seed=episode_seed)]

    assert actions(0, 7) == actions(0, 7)
    assert len({str(actions(seed, 7)) for seed in range(6)}) > 1


def test_refuses_opera_v0_and_acting_before_reset(small_store: Any) -> None:
    shopper = agents.make("reference_shopper")
    with pytest.raises(RuntimeError, match="before reset"):
        shopper.act({})
    replay = gym.make("OPeRA-v0", store=small_store, sessions=1, disable_env_checker=True)
    _, info = replay.reset(seed=0)
    with pytest.raises(ValueError, match="OPeRA-Shop-v0 only"):
        shopper.reset(info)


def test_says_when_the_shop_did_not_apply_its_action(world: ShopWorld) -> None:
    env = _shop(world)
    shopper = agents.make("reference_shopper", seed=0)
    obs, info = env.reset(options={"persona": world.user_ids[0], "episode_seed": 1})
    shopper.reset(info)
    shopper.act(obs)
    with pytest.raises(RuntimeError, match="did not apply"):
        shopper.observe({"effect": "invalid", "agent_action": None, "invalid_reason": "not on the page"})
