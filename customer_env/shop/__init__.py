"""OPeRA-Shop-v0: the live, persona-driven shop built from the embedded synthetic store's world.

Where OPeRA-v0 replays recordings, here the agent's action decides the next page. Modules, one
concept each, bottom up:

* ``world``: the store's world (catalogue, users, recorded sessions, page writer), built from a
  synthetic store's generation inputs.
* ``persona``: who shops (a user, a survey, persona text) and the behaviour profile read from it.
* ``draws``: the shop's own random page outcomes (home pages, the page after an add to cart).
* ``state``: an episode's state (page, back history, search box, cart) and where an action lands.
* ``transitions``: what every named element does.
* ``walker``: the generator's shopper walking the shop; an episode's up-front draw; resuming a walk.
* ``signature``: the state of a walk, so runs in the same state merge.
* ``reference``: the reference shopper: its exact law (:class:`ReferenceTracker`) and a sampled run
  (:class:`ReferenceWalk`).
* ``rewards``: ``likelihood``, ``outcome``, none.
* ``env``: :class:`OperaShopEnv`, registered as ``OPeRA-Shop-v0``.
* ``replay``: a recorded session of the store replayed through the shop (the consistency check).

Example:
    >>> import gymnasium as gym, customer_env
    >>> env = gym.make("OPeRA-Shop-v0", seed=0, page_scale=0.0)   # doctest: +SKIP
    >>> obs, info = env.reset()                                     # doctest: +SKIP
"""

from __future__ import annotations

from customer_env.shop.env import OperaShopEnv
from customer_env.shop.reference import ReferenceLaw, ReferenceTracker, ReferenceWalk
from customer_env.shop.world import ShopWorld

__all__ = ["OperaShopEnv", "ReferenceLaw", "ReferenceTracker", "ReferenceWalk", "ShopWorld"]
