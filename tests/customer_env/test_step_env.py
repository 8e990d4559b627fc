from __future__ import annotations

from typing import Any

import gymnasium as gym

from customer_env.actions import format_completion
from customer_env.env import OperaEnv, is_scored
from customer_env.records import Action
from customer_env.rewards import compute_reward
from customer_env.step_env import OperaStepEnv


def test_every_episode_is_one_step(small_store: Any) -> None:
    env = OperaStepEnv(store=small_store)
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        gold = small_store.session(info["session_id"]).steps[info["step_index"]].action
        text = env.action_space.sample()
        expected = compute_reward("customer_r1", text, gold, valid_names=env.page_names)
        final, reward, terminated, truncated, step_info = env.step(text)
        assert terminated and not truncated and reward == expected.total
        assert final == obs and step_info["scored_step_index"] == info["step_index"]


def test_observation_matches_the_full_env_at_the_same_step(small_store: Any) -> None:
    session = max(small_store.iter_sessions(), key=len)
    k = len(session) - 1
    step_obs, step_info = OperaStepEnv(store=small_store).reset(
        options={"session_id": session.session_id, "step": k})
    full = OperaEnv(store=small_store)
    obs, info = full.reset(options={"session_id": session.session_id})
    for step in session.steps[:k]:
        obs, _, _, _, info = full.step(format_completion(Action(step.action.type, step.action.name, step.action.text)))
    assert obs == step_obs
    assert {key: value for key, value in info.items() if key in step_info} == step_info


def test_unpinned_resets_cover_every_step_once_per_pass(small_store: Any) -> None:
    env = OperaStepEnv(store=small_store, sessions=3)
    total = sum(len(small_store.session(sid)) for sid in env.session_ids)
    pairs = [env.reset(seed=11)[1]] + [env.reset()[1] for _ in range(total - 1)]
    assert len({(i["session_id"], i["step_index"]) for i in pairs}) == total


def test_a_grpo_group_shares_its_step(small_store: Any) -> None:
    group = [gym.make("OPeRA-Step-v0", store=small_store) for _ in range(3)]
    infos = [env.reset(seed=42)[1] for env in group]
    assert len({(i["session_id"], i["step_index"]) for i in infos}) == 1


def test_only_predicted_steps_are_drawn(small_full_store: Any) -> None:
    env = OperaStepEnv(store=small_full_store)
    expected = {(s.session_id, step.index) for s in small_full_store.iter_sessions()
                for step in s.steps if is_scored(step)}
    drawn = [env.reset(seed=0)[1]] + [env.reset()[1] for _ in range(len(expected) - 1)]
    assert {(i["session_id"], i["step_index"]) for i in drawn} == expected
