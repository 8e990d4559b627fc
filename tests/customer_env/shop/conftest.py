"""Worlds and environments for the live-shop tests.

``small_world``: the world of the session's small store (``tests/conftest.py``: 4 users, 20
sessions, page scale 0.05), whose parquet files OPeRA-v0 reads. ``default_world``: the embedded
default store's world (50 users, 500 sessions) with empty filler (page scale 0: the named
elements are the same at every scale), built from its generation inputs without writing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customer_env.shop.world import ShopWorld


@pytest.fixture(scope="session")
def small_world(small_store_dir: Path) -> ShopWorld:
    return ShopWorld.from_store(small_store_dir)


@pytest.fixture(scope="session")
def default_world() -> ShopWorld:
    return ShopWorld.build(page_scale=0.0)


def make_shop(world: ShopWorld, **kwargs: Any) -> Any:
    """``gym.make("OPeRA-Shop-v0", world=world, ...)`` without the checker wrapper, unwrapped."""
    import gymnasium as gym

    import customer_env  # noqa: F401 - registers the environments

    kwargs.setdefault("max_prompt_tokens", 4096)
    return gym.make("OPeRA-Shop-v0", world=world, disable_env_checker=True, **kwargs).unwrapped
