"""Enumerate a walk's choices: every continuation of a shopper's walk, with its exact probability.

Every random choice of a walk goes through :class:`~customer_env.synthetic.choices.Choices`
and names its law (a chance, a band, a pick, a log-normal count, ...). :class:`EnumeratingChoices`
answers those questions by *branching*: a run of the walk follows a fixed ``path`` of options for
its first choices and takes the most probable option of every later one, remembering the
alternatives; :func:`explore` runs the walk once per path, depth first, until every alternative
has been run. Each run's probability is the product of the probabilities of the options it took,
so the runs and their probabilities are the exact law of whatever the walk does next.

What is enumerated: chances, bands, uniform and weighted picks, integers, orders of up to
:data:`MAX_ENUMERATED_ORDER` items, and log-normal counts, whose law :func:`count_law` gives in
closed form and which a run asks lazily ("more than n?", :class:`LazyCount`). What is *sampled*
instead, once per branch from a stream fixed by the branch (so every run sharing a branch sees
the same draw): the products a page happens to show (``Choices.sample``), longer orders, the
visit's engagement (``Choices.lognormal``) and the incidental draws (rationale texts, dwell
times). None of these decides an action in the current model.

Two users: :mod:`customer_env.synthetic.fork` (the next action of a recorded session, forked at a
step) and :mod:`customer_env.shop.reference` (the reference shopper of the live shop).

Example:
    >>> import random
    >>> choices = EnumeratingChoices(random.Random(0), path=(1,))
    >>> choices.enumerating = True
    >>> choices.chance(0.3), choices.pick("ab"), choices.taken
    (False, 'a', [(1, 0.7), (0, 0.5)])
    >>> [(position, option) for position, _, option in choices.open]
    [(1, 0)]
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Callable, Sequence, TypeVar

from customer_env.synthetic.choices import Choices, Count
from customer_env.synthetic.seeds import clamp, derive_rng

T = TypeVar("T")
L = TypeVar("L")

#: Orders of at most this many items are enumerated; longer ones are sampled.
MAX_ENUMERATED_ORDER = 4
#: A walk that makes more choices than this between two actions is refused (a bug: every path
#: of the model reaches an action within a few dozen choices).
MAX_CHOICES_PER_PATH = 10_000

Path = tuple[int, ...]


def count_law(mean: float, sigma: float, cap: int) -> list[float]:
    """The exact law of :func:`~customer_env.synthetic.choices.lognormal_count`: ``P(N = k)``.

    ``N = min(cap, floor(L + U))`` with ``L`` log-normal and ``U`` uniform on [0, 1), so
    ``P(N <= k) = G(k + 1) - G(k)`` with ``G`` the integral of the log-normal CDF, which has a
    closed form.

    Example:
        >>> law = count_law(2.0, 0.8, 30)
        >>> round(sum(law), 12), round(sum(k * p for k, p in enumerate(law)), 2)
        (1.0, 2.0)
    """
    mean = max(mean, 0.05)
    mu = math.log(mean) - sigma * sigma / 2
    m = math.exp(mu + sigma * sigma / 2)

    def phi(z: float) -> float:
        return 0.5 * math.erfc(-z / math.sqrt(2.0))

    def integral(x: float) -> float:  # G(x) = int_0^x F(y) dy
        if x <= 0:
            return 0.0
        z = (math.log(x) - mu) / sigma
        return x * phi(z) - m * phi(z - sigma)

    below = [integral(k + 1) - integral(k) for k in range(cap)]  # P(N <= k), k < cap
    law = [below[0]] + [below[k] - below[k - 1] for k in range(1, cap)] + [1.0 - below[cap - 1]]
    law = [max(0.0, p) for p in law]
    total = sum(law)
    return [p / total for p in law]


class LazyCount(Count):
    """A log-normal count decided one question at a time ("more than n?"), each a branch."""

    def __init__(self, choices: "EnumeratingChoices", law: list[float]) -> None:
        super().__init__(-1)
        self._choices, self._law = choices, law
        self._low, self._high = 0, len(law) - 1  # what the branch knows: low <= N <= high

    def exceeds(self, n: int) -> bool:
        if n < self._low:
            return True
        if n >= self._high:
            return False
        inside = sum(self._law[self._low : self._high + 1])
        above = sum(self._law[n + 1 : self._high + 1]) / inside if inside > 0 else 0.0
        if self._choices.branch([above, 1.0 - above]) == 0:
            self._low = n + 1
            return True
        self._high = n
        return False

    @property
    def value(self) -> int | None:
        return self._low if self._low == self._high else None


class EnumeratingChoices(Choices):
    """Choices that branch while :attr:`enumerating` is set, and draw from ``stream`` otherwise.

    Args:
        stream: Where choices come from while not enumerating (a recorded walk's own stream).
        path: The options of the first enumerated choices; later ones take their most probable
            option and are listed in :attr:`open` so that :func:`explore` runs the others.
        side_key: Identifies the walk; with the branch so far it seeds what is sampled.
        side_label: Names the sampled streams (so two users of this class never share one).
    """

    def __init__(
        self,
        stream: random.Random,
        *,
        path: Sequence[int] = (),
        side_key: tuple[object, ...] = (),
        side_label: str = "enumeration-side",
    ) -> None:
        super().__init__(stream)
        self.enumerating = False
        self._path, self._side_key, self._side_label = tuple(path), side_key, side_label
        self.taken: list[tuple[int, float]] = []  # (option, its probability) of each enumerated choice
        self.open: list[tuple[int, list[float], int]] = []  # (position, law, option taken) past the path
        self._side_draws = 0

    def branch(self, law: list[float]) -> int:
        """The option this run takes at its next choice, whose options have probabilities ``law``."""
        position = len(self.taken)
        if position >= MAX_CHOICES_PER_PATH:
            raise RuntimeError(f"an enumerated walk made {position} choices without acting: the model loops")
        if position < len(self._path):
            option = self._path[position]
        else:
            option = max(range(len(law)), key=law.__getitem__)
            self.open.append((position, law, option))
        self.taken.append((option, law[option]))
        self._side_draws = 0
        return option

    def probability(self, since: int = 0) -> float:
        """The probability of the options taken from choice ``since`` on."""
        return math.prod(p for _, p in self.taken[since:])

    @property
    def path_taken(self) -> Path:
        """The options taken so far (a path that runs the walk to this point again)."""
        return tuple(o for o, _ in self.taken)

    def _side(self) -> random.Random:
        """A stream for what is sampled, fixed by the branch so far (so every run that shares a
        branch sees the same sample)."""
        self._side_draws += 1
        return derive_rng(0, self._side_label, *self._side_key, *self.path_taken, self._side_draws)

    # ---- enumerated choices -------------------------------------------------------------

    def chance(self, p: float) -> bool:
        if not self.enumerating:
            return super().chance(p)
        p = clamp(p, 0.0, 1.0)
        return self.branch([p, 1.0 - p]) == 0

    def band(self, bounds: Sequence[float]) -> int:
        if not self.enumerating:
            return super().band(bounds)
        law, reached = [], 0.0
        for bound in bounds:
            bound = clamp(bound, 0.0, 1.0)
            law.append(max(0.0, bound - reached))
            reached = max(reached, bound)
        law.append(1.0 - reached)
        return self.branch(law)

    def pick(self, options: Sequence[T]) -> T:
        if not self.enumerating:
            return super().pick(options)
        return options[self.branch([1.0 / len(options)] * len(options))]

    def pick_weighted(self, options: Sequence[T], weights: Sequence[float]) -> T:
        if not self.enumerating:
            return super().pick_weighted(options, weights)
        total = float(sum(weights))
        law = [w / total for w in weights] if total > 0 else [1.0 / len(weights)] * len(weights)
        return options[self.branch(law)]

    def integer(self, low: int, high: int) -> int:
        if not self.enumerating:
            return super().integer(low, high)
        n = high - low + 1
        return low + self.branch([1.0 / n] * n)

    def shuffled(self, items: Sequence[T]) -> list[T]:
        if not self.enumerating:
            return super().shuffled(items)
        if len(items) > MAX_ENUMERATED_ORDER:
            out = list(items)
            self._side().shuffle(out)
            return out
        orders = list(itertools.permutations(range(len(items))))
        order = orders[self.branch([1.0 / len(orders)] * len(orders))]
        return [items[i] for i in order]

    def count(self, mean: float, *, sigma: float, cap: int) -> Count:
        if not self.enumerating:
            return super().count(mean, sigma=sigma, cap=cap)
        return LazyCount(self, count_law(mean, sigma, cap))

    # ---- sampled draws ------------------------------------------------------------------

    def sample(self, pool: Sequence[T], k: int) -> list[T]:
        return self._side().sample(pool, k) if self.enumerating else super().sample(pool, k)

    def lognormal(self, mu: float, sigma: float) -> float:
        return self._side().lognormvariate(mu, sigma) if self.enumerating else super().lognormal(mu, sigma)

    @property
    def incidental(self) -> random.Random:
        return self._side() if self.enumerating else self._rng


def explore(
    run: Callable[[Path], tuple[L, EnumeratingChoices]], *, prefix: Path = (), max_paths: int = 20_000
) -> list[tuple[L, Path, float]] | None:
    """Run the walk along every path that extends ``prefix``, depth first.

    Args:
        run: Runs the walk once along a path (its choices built with that ``path``) and returns
            what the run reached (its *leaf*) and the choices it used.
        prefix: Options already fixed (their probability is not counted again).
        max_paths: Give up (None) past this many runs.

    Returns:
        ``(leaf, path taken, probability of the options past the prefix)`` per run; the
        probabilities sum to 1.

    Example:
        >>> import random
        >>> def run(path):
        ...     choices = EnumeratingChoices(random.Random(0), path=path)
        ...     choices.enumerating = True
        ...     return ("heads" if choices.chance(0.25) else "tails"), choices
        >>> [(leaf, p) for leaf, _, p in explore(run)]
        [('tails', 0.75), ('heads', 0.25)]
    """
    leaves: list[tuple[L, Path, float]] = []
    pending: list[Path] = [tuple(prefix)]
    while pending:
        if len(leaves) >= max_paths:
            return None
        path = pending.pop()
        leaf, choices = run(path)
        leaves.append((leaf, choices.path_taken, choices.probability(len(prefix))))
        taken = choices.path_taken
        for position, law, chosen in choices.open:
            for option, p in enumerate(law):
                if option != chosen and p > 0:
                    pending.append(taken[:position] + (option,))
    return leaves
