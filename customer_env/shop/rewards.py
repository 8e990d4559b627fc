"""The live shop's rewards: human-likeness under the reference shopper, or a purchase that fits.

* ``reward="likelihood"``: at every step, the reference shopper's log-probability of the agent's
  action in that state, ``log P_ref(action | state)`` (natural log; :mod:`customer_env.shop.reference`
  says where the law is exact). An action the reference shopper never takes there, a format
  failure or an invalid action has probability 0, so it earns ``log(floor)`` (default floor
  1e-6: about -13.8) instead of minus infinity.
* ``reward="outcome"``: 0 at every step but the last; at the last, 1 when the episode placed an
  order (buy now, or checkout of the ticked cart items) that holds a product of the visit's
  intent (the product type the persona came to buy), else 0.
* ``reward=None``: 0 (pure simulation).

Example:
    >>> likelihood_reward(0.25), likelihood_reward(0.0) == math.log(DEFAULT_LIKELIHOOD_FLOOR)
    (-1.3862943611198906, True)
    >>> outcome_reward([{"asin": "B0X"}], {"B0X": "rice cooker"}, "rice cooker")
    1.0
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

#: The reward presets of OPeRA-Shop-v0.
SHOP_REWARDS = (None, "likelihood", "outcome")
#: The probability a zero-probability action is scored at by the likelihood reward.
DEFAULT_LIKELIHOOD_FLOOR = 1e-6


def likelihood_reward(probability: float, floor: float = DEFAULT_LIKELIHOOD_FLOOR) -> float:
    """``log(max(probability, floor))``.

    Raises:
        ValueError: A floor outside (0, 1].
    """
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"likelihood_floor must be in (0, 1], got {floor}")
    return math.log(max(float(probability), floor))


def outcome_reward(order: Sequence[Mapping[str, Any]] | None, types_by_asin: Mapping[str, str], intent: str) -> float:
    """1.0 when ``order`` (the products of the order placed, or None) holds a product of ``intent``'s
    type (``types_by_asin`` maps each product to its type), else 0.0."""
    if not order:
        return 0.0
    return 1.0 if any(types_by_asin.get(str(item.get("asin"))) == intent for item in order) else 0.0
