"""OPeRA-v0 in Gymnasium's vector environments: sync, and async without shared memory."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import customer_env  # noqa: F401 - registers OPeRA-v0
from customer_env.actions import format_completion
from customer_env.records import Action
from customer_env.spaces import UnicodeText, observation_space

LEAVE = format_completion(Action("terminate"), "Nothing for me here.")
STEPS = 4


def _play(envs: gym.vector.VectorEnv) -> list[Any]:
    """Reset with fixed seeds, then step every sub-environment with 'terminate' a few times."""
    observations, infos = envs.reset(seed=[3, 4])
    trace = [(dict(observations), list(infos["session_id"]))]
    for _ in range(STEPS):
        observations, rewards, terminated, truncated, infos = envs.step((LEAVE,) * envs.num_envs)
        assert rewards.shape == (envs.num_envs,) and np.isfinite(rewards).all()
        trace.append((dict(observations), rewards.tolist(), terminated.tolist(), truncated.tolist()))
    envs.close()
    return trace


def test_unicode_text_declares_no_shared_memory_layout() -> None:
    from gymnasium.error import CustomSpaceError
    from gymnasium.vector.utils import create_shared_memory

    with pytest.raises(CustomSpaceError, match="shared_memory=False"):
        create_shared_memory(observation_space(), n=2)
    # Gymnasium's own Text keeps its layout: the hook is registered for the subclass only.
    assert len(create_shared_memory(gym.spaces.Text(4), n=2)) == 8
    assert isinstance(observation_space()["page"], UnicodeText)


def test_async_with_shared_memory_gets_gymnasiums_own_message(small_store: Any) -> None:
    # Before: the workers died on reset with KeyError('…') while writing text to shared memory.
    with pytest.raises(ValueError, match=r"shared_memory=False"):
        gym.make_vec("OPeRA-v0", num_envs=2, vectorization_mode="async", store=small_store)


def test_async_without_shared_memory_matches_sync(small_store: Any) -> None:
    kwargs = {"store": small_store, "on_mismatch": "terminate"}
    sync = _play(gym.make_vec("OPeRA-v0", num_envs=2, vectorization_mode="sync", **kwargs))
    async_ = _play(gym.make_vec("OPeRA-v0", num_envs=2, vectorization_mode="async",
                                vector_kwargs={"shared_memory": False}, **kwargs))
    assert async_ == sync
    first_observations, session_ids = sync[0]
    assert len(set(session_ids)) == 2 and all(isinstance(p, str) and p for p in first_observations["page"])
    assert any(any(step[2]) for step in sync[1:])  # 'terminate' ended episodes (and they autoreset)
