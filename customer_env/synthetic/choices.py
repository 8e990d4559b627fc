"""The random choices of a shopper's walk: every draw goes through one :class:`Choices`.

The walk never touches a random generator itself; it asks its :class:`Choices` for a chance, a
band, a pick, a count, ... Generating a store, :class:`Choices` answers from the session's own
stream (:func:`~customer_env.synthetic.seeds.derive_rng`), so a seed always gives the same
session. Because each question names what it draws (a probability, options and their weights,
a log-normal count), another implementation can answer it otherwise: that is how the generator
is forked at a step (:mod:`customer_env.synthetic.fork`).

Example:
    >>> import random
    >>> choices = Choices(random.Random(0))
    >>> choices.band((0.3, 0.5)) in (0, 1, 2), choices.pick("abc") in "abc"
    (True, True)
    >>> choices.count(2.0, sigma=0.8, cap=30).exceeds(30)
    False
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Sequence, TypeVar

from customer_env.synthetic.seeds import clamp

if TYPE_CHECKING:  # the shopper imports this module
    from customer_env.synthetic.session_records import SimAction
    from customer_env.synthetic.shopper import Shopper

T = TypeVar("T")


def lognormal_count(rng: random.Random, mean: float, sigma: float = 0.9, cap: int = 30) -> int:
    """A non-negative count with the given mean and a long right tail (at most ``cap``)."""
    mean = max(mean, 0.05)
    mu = math.log(mean) - sigma * sigma / 2
    return min(cap, int(rng.lognormvariate(mu, sigma) + rng.random()))


def p_trait(base: float, slope: float, trait: float) -> float:
    """A probability rising (or falling) linearly with a trait in [0, 1], kept in [0.01, 0.97]."""
    return clamp(base + slope * trait, 0.01, 0.97)


class Count:
    """A drawn count (products to examine, review clicks), asked one question at a time.

    The walk only asks whether the count exceeds a number, so a fork can decide it lazily.
    """

    def __init__(self, value: int) -> None:
        self._value = value

    def exceeds(self, n: int) -> bool:
        """Whether the count is greater than ``n``."""
        return self._value > n

    @property
    def value(self) -> int | None:
        """The count (None where a fork has not decided it)."""
        return self._value

    def __repr__(self) -> str:
        return f"Count({self._value})"


class Choices:
    """The walk's random choices, each drawn from one stream in the order the walk asks.

    Args:
        rng: The session's behaviour stream.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def chance(self, p: float) -> bool:
        """True with probability ``p`` (clamped to [0, 1])."""
        return self._rng.random() < p

    def band(self, bounds: Sequence[float]) -> int:
        """Where one uniform draw falls among ascending ``bounds``: 0 below ``bounds[0]``, 1 below
        ``bounds[1]``, ..., ``len(bounds)`` above them all (one draw even when ``bounds`` is empty)."""
        r = self._rng.random()
        for i, bound in enumerate(bounds):
            if r < bound:
                return i
        return len(bounds)

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``, uniformly."""
        return self._rng.choice(options)

    def pick_weighted(self, options: Sequence[T], weights: Sequence[float]) -> T:
        """One of ``options`` with probability proportional to ``weights``."""
        return self._rng.choices(options, weights)[0]

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``, uniformly."""
        return self._rng.randint(low, high)

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """``items`` in a uniformly random order."""
        out = list(items)
        self._rng.shuffle(out)
        return out

    def count(self, mean: float, *, sigma: float, cap: int) -> Count:
        """A :func:`lognormal_count`."""
        return Count(lognormal_count(self._rng, mean, sigma, cap))

    def sample(self, pool: Sequence[T], k: int) -> list[T]:
        """``k`` distinct members of ``pool`` (what a page shows; never enumerated by a fork)."""
        return self._rng.sample(pool, k)

    def lognormal(self, mu: float, sigma: float) -> float:
        """A log-normal number (the visit's engagement; continuous, never enumerated)."""
        return self._rng.lognormvariate(mu, sigma)

    @property
    def incidental(self) -> random.Random:
        """The stream for draws that never decide an action: dwell times and rationale texts."""
        return self._rng

    def after_step(self, shopper: Shopper) -> None:
        """Told once the visit's up-front decisions are drawn, and after each recorded step
        (nothing to do here; a fork starts exploring at its step)."""

    def moved(self, shopper: Shopper) -> None:
        """Told whenever the shopper's page is set, recorded action or not (nothing to do here)."""

    def before_step(self, shopper: Shopper, action: SimAction) -> None:
        """Told just before an action is recorded (nothing to do here; a fork stops at its step)."""
