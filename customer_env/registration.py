"""Registration of the OPeRA environments with Gymnasium.

Gymnasium 1.x no longer reads package entry points, so ``import customer_env`` registers the
environments itself. Registration is idempotent: an id already in ``gymnasium.registry`` is left
as it is, which makes the import safe in subprocesses, vector-environment workers and repeated
imports. Entry points are strings, so registering imports nothing heavy.

``gym.make("customer_env:OPeRA-v0", ...)`` works without a prior import: Gymnasium imports the
module named before the colon, which runs this registration.

Example:
    >>> import gymnasium as gym
    >>> import customer_env
    >>> "OPeRA-v0" in gym.registry and "OPeRA-Step-v0" in gym.registry and "OPeRA-Shop-v0" in gym.registry
    True
"""

from __future__ import annotations

import gymnasium as gym

#: Each environment id and the class it makes.
ENVIRONMENTS: dict[str, str] = {
    "OPeRA-v0": "customer_env.env:OperaEnv",
    "OPeRA-Step-v0": "customer_env.step_env:OperaStepEnv",
    "OPeRA-Shop-v0": "customer_env.shop.env:OperaShopEnv",
}


def register_environments() -> list[str]:
    """Register every OPeRA environment that is not registered yet.

    Returns:
        The ids registered by this call (empty when all were registered already).

    Example:
        >>> register_environments()  # already done by ``import customer_env``
        []
    """
    added = []
    for env_id, entry_point in ENVIRONMENTS.items():
        if env_id in gym.registry:
            continue
        # The episode length is the recorded session's; a step limit is opt-in via
        # gym.make(..., max_episode_steps=N), which adds Gymnasium's TimeLimit wrapper.
        gym.register(id=env_id, entry_point=entry_point, nondeterministic=False)
        added.append(env_id)
    return added
