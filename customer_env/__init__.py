"""customer_env: the OPeRA dataset as Gymnasium environments for persona-conditioned shoppers.

Importing the package registers ``OPeRA-v0`` (replay whole sessions) and ``OPeRA-Step-v0`` (one
step per episode) with Gymnasium, and nothing heavier than Gymnasium is imported: the
environment classes, the data layer and the exporters load on first use.

Example:
    >>> import gymnasium as gym
    >>> import customer_env
    >>> env = gym.make("OPeRA-v0", persona=None)  # doctest: +SKIP
    >>> observation, info = env.reset(seed=0)  # doctest: +SKIP
    >>> observation["page"][:40]  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from customer_env.registration import register_environments

__version__ = "0.1.0"

register_environments()

# Public names resolved on first access, so that `import customer_env` stays light.
_LAZY_ATTRIBUTES = {
    "OperaEnv": "customer_env.env",
    "OperaStepEnv": "customer_env.step_env",
    "WireActionSpace": "customer_env.spaces",
    "open_store": "customer_env.data",
    "StoreSpec": "customer_env.data",
    "export_step_dataset": "customer_env.export",
    "iter_step_examples": "customer_env.export",
}

if TYPE_CHECKING:
    from customer_env.data import StoreSpec, open_store
    from customer_env.env import OperaEnv
    from customer_env.export import export_step_dataset, iter_step_examples
    from customer_env.spaces import WireActionSpace
    from customer_env.step_env import OperaStepEnv

__all__ = ["__version__", "register_environments", *_LAZY_ATTRIBUTES]


def __getattr__(name: str) -> Any:
    module = _LAZY_ATTRIBUTES.get(name)
    if module is None:
        raise AttributeError(f"module 'customer_env' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_ATTRIBUTES))
