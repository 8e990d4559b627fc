"""The reference shopper: the store's own behaviour model acting in the live shop, and its exact law.

The generator's shoppers are a walk over the store (:mod:`customer_env.synthetic.browsing`) whose
every random choice names its law (:mod:`customer_env.synthetic.choices`). In the shop the same
walk runs on the shop's pages (:class:`~customer_env.shop.walker.ShopShopper`), with the episode's
up-front decisions (intent, whether it buys, engagement, opening: drawn from the persona when the
episode starts, :func:`~customer_env.shop.walker.draw_visit`). Two things follow it:

* :class:`ReferenceTracker` (used by the environment): the probability of any action in any state
  of the episode. It keeps every run of the walk that is consistent with what happened so far
  (the first page and every action since; runs in the same state merged,
  :mod:`customer_env.shop.signature`), weighted by its probability, and enumerates each one's
  continuations to the next action (:func:`customer_env.synthetic.enumeration.explore`). The law
  of the next action is the weighted mixture: P(action | first page, actions so far, the
  episode's up-front decisions, the pages the shop drew). The add-to-cart pages and home pages
  the shop drew are given to the walk (they are the shop's outcomes, not the shopper's choices),
  so conditioning on them is exact.
* :class:`ReferenceWalk` (used by the ``reference_shopper`` agent): one run of the same walk,
  drawing its choices as it goes: the generator's shopper, step by step.

**Where the law is exact, and the fallback.** While every action of the episode is one the walk
can take (probability > 0 given the ones before), the law is exact, with one exception stated
below. An action the walk cannot take (a random click, an element the store's shoppers never use,
a format failure, an invalid action) leaves the walk's support: no run explains the history. The
tracker then *re-anchors*: it starts a new walk at the shop's state after that action
(:func:`customer_env.shop.walker.resume`: the visit's up-front decisions and the session's
products, queries and cart, the generator's browsing loop entered on the current page) and is
exact again relative to that anchor. ``ReferenceLaw.anchor`` says which (``visit``: from the
episode's start; ``resumed``: since the last re-anchor) and the environment counts re-anchors.
A visit that ends without an action (it adds to the cart and leaves, as a third of the store's
buyers do) ends in the shop with ``terminate``; that is the walk's terminate.

The exception: if more than ``max_paths`` continuations are needed for one step, or more than
``max_runs`` consistent runs survive, the least probable runs are dropped
(``ReferenceLaw.truncated``, counted); none of the default store's sessions needs it.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.shop.draws import SeededDraws
    >>> from customer_env.shop.walker import draw_visit
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> profile = world.users[world.user_ids[0]].profile
    >>> draws = SeededDraws(world, profile, episode_seed=1)
    >>> visit = draw_visit(world, profile, 1, draws)
    >>> tracker = ReferenceTracker(world, draws, profile, visit)
    >>> law = tracker.law()
    >>> round(sum(p for _, p in law.outcomes), 9), law.anchor
    (1.0, 'visit')
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Hashable, Sequence

from customer_env.records import Action
from customer_env.shop.draws import WorldDraws
from customer_env.shop.signature import walk_signature
from customer_env.shop.state import ShopState
from customer_env.shop.walker import QuietShopShopper, ShopShopper, Visit, resume
from customer_env.synthetic import browsing, views
from customer_env.synthetic.choices import Choices, Count
from customer_env.synthetic.enumeration import EnumeratingChoices, LazyCount, count_law, explore
from customer_env.synthetic.fork import action_of
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.session_records import SessionEnded, SimAction
from customer_env.synthetic.shopper import Shopper

TERMINATE = Action("terminate")
#: Anchors of a law: the episode's start, or a re-anchored walk (the fallback).
ANCHORS = ("visit", "resumed")
DEFAULT_MAX_PATHS = 50_000
DEFAULT_MAX_RUNS = 512


@dataclass(frozen=True)
class ReferenceLaw:
    """The law of the reference shopper's next action in one state.

    Attributes:
        outcomes: ``(action, probability)``, most probable first (ties by the action's wire
            JSON), summing to 1; actions without click type (as agents write them).
        anchor: ``visit`` (exact given the episode) or ``resumed`` (exact given the re-anchor).
        runs: Consistent runs of the walk it mixes (after merging equal states).
        paths: Continuations enumerated to compute it.
        truncated: Whether runs were dropped (module docstring).
        click_types: The click type of each clicked name in ``outcomes``.
    """

    outcomes: tuple[tuple[Action, float], ...]
    anchor: str
    runs: int
    paths: int
    truncated: bool
    click_types: tuple[tuple[str, str], ...] = ()

    def probability(self, action: Action | None) -> float:
        """The probability of ``action`` (compared as exact match compares; None: 0)."""
        if action is None:
            return 0.0
        return sum(p for a, p in self.outcomes if a.matches(action))

    def most_likely(self) -> Action:
        """The most probable action (with its click type)."""
        action = self.outcomes[0][0]
        return Action(action.type, action.name, action.text, dict(self.click_types).get(action.name or ""))

    def sample(self, rng: random.Random) -> Action:
        """An action drawn from the law."""
        r, total = rng.random(), 0.0
        for action, p in self.outcomes:
            total += p
            if r < total:
                return action
        return self.outcomes[-1][0]


class _Dead(Exception):
    """The run opened on another page than the episode's first page."""


class _Stop(Exception):
    """The run reached the action after the known ones."""

    def __init__(self, action: SimAction, view: views.View, shopper: Shopper) -> None:
        self.action, self.view, self.shopper = action, view, shopper


@lru_cache(maxsize=4096)
def _count_law(mean: float, sigma: float, cap: int) -> tuple[float, ...]:
    return tuple(count_law(mean, sigma, cap))


class _TrackedChoices(EnumeratingChoices):
    """Every choice enumerated; the run stops at the action after the ``known`` ones."""

    def __init__(self, path: Sequence[int], known: Sequence[Action], first_page: views.View | None) -> None:
        super().__init__(random.Random(0), path=path, side_label="shop-side")
        self.enumerating = True
        self._known = known
        self.first_page = first_page
        self._incidental = random.Random(0)  # rationale texts and dwell times never decide an action

    @property
    def incidental(self) -> random.Random:
        return self._incidental

    def count(self, mean: float, *, sigma: float, cap: int) -> Count:
        return LazyCount(self, list(_count_law(mean, sigma, cap)))

    def moved(self, shopper: Shopper) -> None:
        # Before its first action a visit moves once, to where it opens (a results or a product
        # page), and acts there first; a run that opens elsewhere than the episode's first page
        # is dropped here rather than enumerated to its first action (the same conditioning).
        if self.first_page is not None and not shopper.steps and not isinstance(shopper.view, views.HomeView) \
                and shopper.view != self.first_page:
            raise _Dead

    def before_step(self, shopper: Shopper, action: SimAction) -> None:
        k = len(shopper.steps)
        if k >= len(self._known):
            raise _Stop(action, shopper.view, shopper)
        if not action_of(action).matches(self._known[k]):
            raise RuntimeError(f"replaying a run of the reference walk gave {action_of(action)} at its action "
                               f"{k}, not the {self._known[k]} it was kept for")


@dataclass
class _Leaf:
    """Where a run stopped: its action, and (kept until asked for) the state it stopped in."""

    action: Action | None
    click_type: str | None
    view: views.View | None
    stop: _Stop | None = None  # holds the run's frames; its signature is taken only if it is kept
    _signature: Hashable = None

    def __post_init__(self) -> None:
        # Whether the run goes on past its action (it stopped at an action, not at an end or a
        # wrong opening); fixed here because taking the signature lets go of ``stop``.
        self.continues = self.stop is not None

    @property
    def signature(self) -> Hashable:
        if self._signature is None:
            self._signature = ("left",) if self.stop is None else walk_signature(self.stop.__traceback__,
                                                                                 self.stop.shopper)
            self.stop = None
        return self._signature


class ReferenceTracker:
    """The reference shopper's law in every state of one episode (module docstring).

    Args:
        world: The shop's world.
        draws: The episode's page outcomes.
        profile: The persona's behaviour profile.
        visit: The episode's up-front decisions and first page.
        max_paths: Continuations enumerated per run and step before runs are dropped.
        max_runs: Consistent runs kept (the most probable).
    """

    def __init__(self, world: object, draws: WorldDraws, profile: ShopperProfile, visit: Visit, *,
                 max_paths: int = DEFAULT_MAX_PATHS, max_runs: int = DEFAULT_MAX_RUNS) -> None:
        self.world, self.draws, self.profile, self.visit = world, draws, profile, visit
        self.max_paths, self.max_runs = max_paths, max_runs
        self.anchor = "visit"
        self.reanchors = 0
        self.truncations = 0
        self._anchor_state: ShopState | None = None
        self._anchor_shown: tuple[views.View, ...] = ()
        self._known: list[Action] = []  # actions since the anchor
        self._runs: list[tuple[tuple[int, ...], float]] = [((), 1.0)]
        self._leaves: list[tuple[_Leaf, tuple[int, ...], float]] | None = None
        self._law: ReferenceLaw | None = None

    # ---- the law ------------------------------------------------------------------------

    def law(self) -> ReferenceLaw:
        """The law of the next action (computed once per step)."""
        if self._law is None:
            self._law = self._compute()
        return self._law

    def _run(self, path: tuple[int, ...]) -> tuple[_Leaf, EnumeratingChoices]:
        opening = self.anchor == "visit" and not self._known
        choices = _TrackedChoices(path, self._known, self.visit.first_page if opening else None)
        start = self.visit.start
        try:
            if self.anchor == "visit":
                walker = QuietShopShopper.walking(self.world, self.draws, self.profile, choices, start)  # type: ignore[arg-type]
                browsing.walk(walker)
            else:
                assert self._anchor_state is not None
                resume(self.world, self.draws, self.profile, choices, start,  # type: ignore[arg-type]
                       self._anchor_state, self._anchor_shown, shopper_class=QuietShopShopper)
        except _Stop as stop:
            return _Leaf(action_of(stop.action), stop.action.click_type, stop.view, stop), choices
        except _Dead:
            return _Leaf(None, None, None), choices
        except SessionEnded:
            return _Leaf(TERMINATE, None, None), choices
        raise RuntimeError("the reference walk returned without ending")  # pragma: no cover

    def _compute(self) -> ReferenceLaw:
        leaves: list[tuple[_Leaf, tuple[int, ...], float]] = []
        paths, truncated = 0, False
        for prefix, weight in self._runs:
            explored = explore(self._run, prefix=prefix, max_paths=self.max_paths)
            if explored is None:  # keep the most probable continuations found (counted)
                truncated = True
                explored = _most_probable(self._run, prefix, self.max_paths)
            paths += len(explored)
            leaves += [(leaf, path, weight * p) for leaf, path, p in explored]
        if self.anchor == "visit" and not self._known:
            # The first page is observed: condition on the walk being on it when it first acts.
            leaves = [item for item in leaves if item[0].action is not None and item[0].view == self.visit.first_page]
        total = sum(p for *_, p in leaves)
        if total <= 0:
            raise RuntimeError("the reference walk never acts on the episode's first page")
        law: dict[Action, float] = defaultdict(float)
        click_types: dict[str, str] = {}
        for leaf, _, p in leaves:
            law[leaf.action] += p / total
            if leaf.click_type is not None and leaf.action.name:
                click_types[leaf.action.name] = leaf.click_type
        self._leaves = [(leaf, path, p / total) for leaf, path, p in leaves]
        if truncated:
            self.truncations += 1
        outcomes = tuple(sorted(law.items(), key=lambda kv: (-kv[1], _order_key(kv[0]))))
        return ReferenceLaw(outcomes, self.anchor, len(self._runs), paths, truncated, tuple(sorted(click_types.items())))

    # ---- following the episode ----------------------------------------------------------

    def observe(self, action: Action | None, state: ShopState, shown: Sequence[views.View]) -> bool:
        """Follow the episode past the action just taken (``action``: None for one that did not
        parse); ``state`` is the shop's state after it and ``shown`` every page shown so far.

        Returns:
            Whether the action was in the walk's support (False: the tracker re-anchored).
        """
        self.law()
        assert self._leaves is not None
        kept: dict[Hashable, tuple[tuple[int, ...], float]] = {}
        if action is not None:
            for leaf, path, p in self._leaves:
                if p > 0 and leaf.action is not None and leaf.continues and leaf.action.matches(action):
                    previous = kept.get(leaf.signature)
                    kept[leaf.signature] = (path, p + (previous[1] if previous else 0.0))
        self._law, self._leaves = None, None
        if not kept:
            self.anchor, self._anchor_state, self._anchor_shown = "resumed", state, tuple(shown)
            self._known, self._runs = [], [((), 1.0)]
            self.reanchors += 1
            return False
        runs = sorted(kept.values(), key=lambda run: -run[1])
        if len(runs) > self.max_runs:
            runs = runs[: self.max_runs]
            self.truncations += 1
        total = sum(p for _, p in runs)
        self._runs = [(path, p / total) for path, p in runs]
        self._known.append(action)  # type: ignore[arg-type]
        return True


def _most_probable(run: object, prefix: tuple[int, ...], max_paths: int) -> list[tuple[_Leaf, tuple[int, ...], float]]:
    """The continuations of the greedy depth-first order up to ``max_paths`` (used past the limit)."""
    found = explore(run, prefix=prefix, max_paths=10 * max_paths) or []  # type: ignore[arg-type]
    found = sorted(found, key=lambda item: -item[2])[:max_paths]
    total = sum(p for *_, p in found)
    return [(leaf, path, p / total) for leaf, path, p in found]


def _order_key(action: Action) -> str:
    import json

    return json.dumps(action.to_wire(), sort_keys=True)


class ReferenceWalk:
    """One run of the reference walk in an episode, drawing its choices as it goes.

    Each :meth:`next_action` replays the run's answers so far (so the walk stands where its last
    action left it), then draws fresh ones from ``rng`` until its next action. The run is the
    generator's shopper on the shop's pages (its drawn pages come from ``draws``). Its first
    action is on the episode's first page: a run that would first act elsewhere is drawn again
    (rejection sampling, i.e. conditioning on the first page, as the tracker does).

    Args:
        world, draws, profile, visit: As for :class:`ReferenceTracker`.
        rng: Where the run's choices come from.
        max_redraws: Give up drawing the opening after this many runs (a bug: the opening's
            pages have probabilities of about 1/10 at least).
    """

    def __init__(self, world: object, draws: WorldDraws, profile: ShopperProfile, visit: Visit,
                 rng: random.Random, *, max_redraws: int = 10_000) -> None:
        self.world, self.draws, self.profile, self.visit, self.rng = world, draws, profile, visit, rng
        self.max_redraws = max_redraws
        self._answers: list[tuple[str, object]] = []  # every choice of the run so far, with its answer
        self._acted = 0
        self.redraws = 0
        self.ended = False

    def next_action(self) -> SimAction | None:
        """The run's next action, with its rationale (None: the visit ended without one: it added
        to the cart and left)."""
        if self.ended:
            return None
        for _ in range(self.max_redraws):
            choices = _ReplayedChoices(self._answers, self._acted, self.rng, self.visit.first_page)
            walker = ShopShopper.walking(self.world, self.draws, self.profile, choices, self.visit.start)  # type: ignore[arg-type]
            try:
                browsing.walk(walker)
            except _Next as reached:
                self._answers, self._acted = choices.answers, self._acted + 1
                return reached.action
            except _Redraw:
                self.redraws += 1
                continue
            except SessionEnded:
                self.ended = True
                return None
            raise RuntimeError("the reference walk returned without ending")  # pragma: no cover
        raise RuntimeError(f"the reference walk did not open on the episode's first page in {self.max_redraws} runs")


class _Next(Exception):
    def __init__(self, action: SimAction) -> None:
        self.action = action


class _Redraw(Exception):
    """The run's first action is not on the episode's first page."""


class _ReplayedChoices(Choices):
    """The run's recorded answers first, then fresh draws (recorded too); stops at the next action."""

    def __init__(self, answers: list[tuple[str, object]], acted: int, rng: random.Random,
                 first_page: views.View) -> None:
        super().__init__(rng)
        self.answers = list(answers)
        self._position = 0
        self._acted = acted
        self._first_page = first_page

    def _answer(self, kind: str, draw: object) -> object:
        if self._position < len(self.answers):
            recorded, value = self.answers[self._position]
            if recorded != kind:
                raise RuntimeError(f"replaying the reference walk diverged: {recorded} recorded, {kind} asked")
        else:
            value = draw()  # type: ignore[operator]
            self.answers.append((kind, value))
        self._position += 1
        return value

    def chance(self, p: float) -> bool:
        return self._answer("chance", lambda: self._rng.random() < p)  # type: ignore[return-value]

    def band(self, bounds: Sequence[float]) -> int:
        def draw() -> int:
            r = self._rng.random()
            return next((i for i, bound in enumerate(bounds) if r < bound), len(bounds))

        return self._answer("band", draw)  # type: ignore[return-value]

    def pick(self, options: Sequence[object]) -> object:
        return options[self._answer("pick", lambda: self._rng.randrange(len(options)))]  # type: ignore[index]

    def pick_weighted(self, options: Sequence[object], weights: Sequence[float]) -> object:
        index = self._answer("pick_weighted", lambda: self._rng.choices(range(len(options)), weights)[0])
        return options[index]  # type: ignore[index]

    def integer(self, low: int, high: int) -> int:
        return self._answer("integer", lambda: self._rng.randint(low, high))  # type: ignore[return-value]

    def shuffled(self, items: Sequence[object]) -> list[object]:
        order = self._answer("shuffled", lambda: self._rng.sample(range(len(items)), len(items)))
        return [items[i] for i in order]  # type: ignore[union-attr]

    def count(self, mean: float, *, sigma: float, cap: int) -> Count:
        from customer_env.synthetic.choices import lognormal_count

        return Count(self._answer("count", lambda: lognormal_count(self._rng, mean, sigma, cap)))  # type: ignore[arg-type]

    def sample(self, pool: Sequence[object], k: int) -> list[object]:
        return self._answer("sample", lambda: self._rng.sample(list(pool), k))  # type: ignore[return-value]

    def lognormal(self, mu: float, sigma: float) -> float:
        return self._answer("lognormal", lambda: self._rng.lognormvariate(mu, sigma))  # type: ignore[return-value]

    def before_step(self, shopper: Shopper, action: SimAction) -> None:
        index = len(shopper.steps)
        if index < self._acted:
            return
        if index == 0 and shopper.view != self._first_page:
            raise _Redraw
        raise _Next(action)
