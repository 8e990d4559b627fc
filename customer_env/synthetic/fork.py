"""Fork the generator at a step of a generated session: replay its walk, then continue otherwise.

A store this generator wrote is a function of its manifest (seed, users, sessions, split), so
each recorded session can be re-run exactly. :class:`GeneratorFork` replays session ``s`` with
its own randomness until its walk has recorded steps ``0..t-1`` and stands on the page of step
``t`` (the page the recording shows then): that is the fork, and the walk's state there is the
session's true hidden state (:meth:`GeneratorFork.state`: intent, whether the visit buys, its
engagement and how it opened, the products it will examine, cart, what it viewed, ...). From
the fork the walk continues with other randomness, which gives the law of the action of step
``t`` (:meth:`GeneratorFork.next_action`), optionally with another user's behaviour profile
swapped in at the fork (what a shopper with that persona would do from the same state).

How the continuation is drawn (``method``):

* ``"enumerate"`` (default): every choice the walk makes after the fork
  (:mod:`~customer_env.synthetic.choices`) is a discrete law, and each is **enumerated**
  (:mod:`~customer_env.synthetic.enumeration`):
  chances, bands, uniform and weighted picks, integers, orders of up to four items, and the
  log-normal counts (products to examine, review clicks), whose law is computed in closed form
  and asked lazily ("more than n?"). What is **sampled** instead, once per branch from a stream
  fixed by the branch: the products a page happens to show (home-page recommendations and
  cards, ``Choices.sample``), orders of more than four items, the engagement, and rationale
  texts and dwell times. None of these decides the next action in the current model (they are
  drawn before the fork, or for the page an action leads to, or after the action is chosen),
  so the result is the exact law. A walk with more than ``max_paths`` continuations would be
  sampled (``method`` then reads ``"sampled"``); none of the default store's needs it.
* ``"sample"``: ``samples`` continuations with fresh seeded streams.

After the fork a continuation may still leave the page without a recorded action (the
browser's back button) and act elsewhere. The agent sees the recorded page, so the law is
conditioned on acting there (``page_probability`` is the share of continuations that do; if
none does, the unconditioned law is returned with ``conditioned=False``).

Example:
    >>> import tempfile, pathlib
    >>> from customer_env.synthetic import generate_store
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "store"
    >>> _ = generate_store(root, users=2, sessions=4, page_scale=0.0, progress=False)
    >>> fork = GeneratorFork.from_store(root)
    >>> sid = fork.session_ids[0]
    >>> law = fork.next_action(sid, 1)
    >>> abs(sum(p for _, p in law.outcomes) - 1.0) < 1e-9, law.method
    (True, 'enumerated')
    >>> fork.recorded_action(sid, 1) in [a for a, _ in law.outcomes]
    True
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from customer_env.records import Action
from customer_env.synthetic import browsing, views
from customer_env.synthetic.behaviour import initial_cart
from customer_env.synthetic.catalogue import build_catalogue
from customer_env.synthetic.choices import Choices
from customer_env.synthetic.enumeration import (  # noqa: F401 - count_law and the limits are re-exported
    MAX_CHOICES_PER_PATH,
    MAX_ENUMERATED_ORDER,
    EnumeratingChoices,
    count_law,
    explore,
)
from customer_env.synthetic.generate import GENERATOR_VERSION, MANIFEST_NAME
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.plan import DEFAULT_TEST_FRACTION, PlannedSession, build_plan
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.session_records import SessionEnded, SimAction, SimStep
from customer_env.synthetic.shopper import Shopper

METHODS = ("enumerate", "sample")


@dataclass(frozen=True)
class GenerationInputs:
    """What a store was generated from (the arguments of ``generate_store`` that shape sessions).

    Example:
        >>> GenerationInputs(seed=0, users=50, sessions=500).test_fraction
        0.17
    """

    seed: int
    users: int
    sessions: int
    test_fraction: float = DEFAULT_TEST_FRACTION
    user_disjoint: bool = False

    @classmethod
    def from_store(cls, store_dir: str | os.PathLike[str]) -> "GenerationInputs":
        """Read them from the store's manifest.

        Raises:
            ValueError: No manifest (not a store this generator wrote), an unreadable one, or one
                written by another generator version.
        """
        path = Path(store_dir) / MANIFEST_NAME
        if not path.is_file():
            raise ValueError(
                f"{store_dir} has no {MANIFEST_NAME}: not a store written by customer_env.synthetic"
            )
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            version = manifest.get("generator_version")
            inputs = cls(
                seed=int(manifest["seed"]),
                users=int(manifest["users"]),
                sessions=int(manifest["sessions"]),
                test_fraction=float(manifest["test_fraction"]),
                user_disjoint=bool(manifest["user_disjoint"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            message = f"{path}: unreadable synthetic manifest ({type(error).__name__}: {error})"
            raise ValueError(message) from None
        if version != GENERATOR_VERSION:
            raise ValueError(
                f"{path}: written by generator {version}, this is generator {GENERATOR_VERSION}; "
                "its sessions cannot be replayed (regenerate the store)"
            )
        return inputs


@dataclass(frozen=True)
class HiddenState:
    """The walk's true state at the fork of step ``step`` (on that step's page, its action not yet
    decided): what no recording shows (the up-front decisions, the engagement, the products
    still to examine) and what it does (where the shopper is, the cart, the steps so far)."""

    session_id: str
    step: int
    profile: ShopperProfile
    intent: str
    will_buy: bool
    engagement: float
    products_to_examine: int | None  #: None before browsing starts (it is drawn then)
    examined: int
    view: views.View
    cart: views.Cart
    results_view: views.SearchView | None
    viewed: tuple[str, ...]
    refined: frozenset[str]
    last_query: str
    via_ratings: bool
    steps: tuple[SimStep, ...]


@dataclass(frozen=True)
class NextActionDistribution:
    """The law of the action of step ``step`` of a session, given the walk's state before it.

    Attributes:
        outcomes: ``(action, probability)``, most probable first (ties by the action's wire
            JSON), probabilities summing to 1; actions as the project compares them (type,
            name, text; no click type).
        method: ``"enumerated"`` (exact) or ``"sampled"``.
        paths: Continuations run (enumerated leaves, or samples).
        page_probability: The probability that the shopper acts on the recorded page at this
            step (before conditioning on it).
        conditioned: Whether ``outcomes`` are conditioned on the recorded page (False when no
            continuation reached it).
        persona_user_id: Whose profile drove the continuation.
    """

    session_id: str
    step: int
    outcomes: tuple[tuple[Action, float], ...]
    method: str
    paths: int
    page_probability: float
    conditioned: bool
    persona_user_id: str

    def most_likely(self) -> Action:
        """The most probable action (ties broken as in ``outcomes``)."""
        return self.outcomes[0][0]

    def probability(self, action: Action) -> float:
        """The probability of ``action`` (compared as exact match compares)."""
        return sum(p for a, p in self.outcomes if a.matches(action))


def action_of(action: SimAction) -> Action:
    """A simulated action as the project's :class:`~customer_env.records.Action` (no click type)."""
    if action.type == "terminate":
        return Action("terminate")
    if action.type == "input":
        return Action("input", action.name, action.text or "")
    return Action(action.type, action.name)


class _Reached(Exception):
    """The walk is about to record the forked step's action."""

    def __init__(self, action: SimAction, view: views.View) -> None:
        self.action, self.view = action, view


class _Snapshot(Exception):
    """The walk has reached the fork (``GeneratorFork.state``)."""

    def __init__(self, shopper: Shopper) -> None:
        self.shopper = shopper


class _ForkedChoices(EnumeratingChoices):
    """The session's own choices up to the fork; then explored (``enumerate``, see
    :mod:`~customer_env.synthetic.enumeration`) or fresh (``sample``)."""

    def __init__(
        self,
        stream: random.Random,
        *,
        fork_step: int,
        page: views.View,
        mode: str,
        side_key: tuple[object, ...],
        path: Sequence[int] = (),
        fresh: random.Random | None = None,
        donor: ShopperProfile | None = None,
        snapshot: bool = False,
    ) -> None:
        super().__init__(stream, path=path, side_key=side_key, side_label="fork-side")
        self._fork_step, self._page, self._mode = fork_step, page, mode
        self._fresh, self._donor, self._snapshot = fresh, donor, snapshot
        self.exploring = False
        self._ready = False  # the steps before the fork are recorded; waiting for its page
        self.replayed: tuple[SimStep, ...] = ()  # the steps recorded when the fork began

    # ---- the fork -----------------------------------------------------------------------

    def after_step(self, shopper: Shopper) -> None:
        if self.exploring or self._ready or len(shopper.steps) != self._fork_step:
            return
        self._ready = True
        if not shopper.steps:  # the visit opens on its first page: it may be the one
            self.moved(shopper)

    def moved(self, shopper: Shopper) -> None:
        if self._ready and not self.exploring and shopper.view == self._page:
            self._begin(shopper)

    def _begin(self, shopper: Shopper) -> None:
        """The walk is on the page of the forked step: the fork starts here."""
        if self._snapshot:
            raise _Snapshot(shopper)
        self.exploring = True
        self.enumerating = self._mode == "enumerate"
        self.replayed = tuple(shopper.steps)
        if self._donor is not None:
            shopper.profile = self._donor
        if self._mode == "sample":
            assert self._fresh is not None
            self._rng = self._fresh

    def before_step(self, shopper: Shopper, action: SimAction) -> None:
        if self.exploring:
            raise _Reached(action, shopper.view)


class GeneratorFork:
    """Replays and forks the sessions of one store this generator wrote.

    Args:
        inputs: What the store was generated from (:meth:`GenerationInputs.from_store`).

    Example:
        >>> fork = GeneratorFork(GenerationInputs(seed=0, users=2, sessions=4))
        >>> sid = fork.session_ids[0]
        >>> fork.state(sid, 0).steps
        ()
    """

    def __init__(self, inputs: GenerationInputs) -> None:
        self.inputs = inputs
        plan = build_plan(
            inputs.seed,
            inputs.users,
            inputs.sessions,
            test_fraction=inputs.test_fraction,
            user_disjoint=inputs.user_disjoint,
        )
        self.catalogue = build_catalogue(inputs.seed)
        self._sessions = {s.session_id: s for s in plan.sessions}
        self.profiles = {u.user_id: u.profile for u in plan.users}

    @classmethod
    def from_store(cls, store_dir: str | os.PathLike[str]) -> "GeneratorFork":
        """The fork of the store at ``store_dir`` (read from its manifest)."""
        return cls(GenerationInputs.from_store(store_dir))

    @property
    def session_ids(self) -> list[str]:
        """Every session of the store, sorted."""
        return sorted(self._sessions)

    def planned(self, session_id: str) -> PlannedSession:
        """The planned session (its index, user, simulated steps, split).

        Raises:
            KeyError: The store has no such session.
        """
        try:
            return self._sessions[session_id]
        except KeyError:
            raise KeyError(
                f"session {session_id!r} is not one the generator wrote for {self.inputs}"
            ) from None

    def recorded_action(self, session_id: str, step: int) -> Action:
        """The action the session recorded at ``step``."""
        return action_of(self._step(session_id, step).action)

    def _step(self, session_id: str, step: int) -> SimStep:
        steps = self.planned(session_id).sim.steps
        if not 0 <= step < len(steps):
            raise ValueError(f"step {step} is not a step of session {session_id!r} (it has {len(steps)})")
        return steps[step]

    def _shopper(self, planned: PlannedSession, choices: Choices) -> Shopper:
        seed = self.inputs.seed
        cart = initial_cart(planned.user.profile, self.catalogue, derive_rng(seed, "cart", planned.index))
        return Shopper(planned.user.profile, self.catalogue, choices, cart)

    def _stream(self, planned: PlannedSession) -> random.Random:
        return derive_rng(self.inputs.seed, "behaviour", planned.index)

    def _run(self, planned: PlannedSession, choices: _ForkedChoices) -> _Reached:
        """Walk until the fork's step is about to be recorded."""
        try:
            browsing.walk(self._shopper(planned, choices))
        except _Reached as reached:
            return reached
        except SessionEnded:
            pass
        raise RuntimeError(f"session {planned.session_id!r} ended before its fork")

    def state(self, session_id: str, step: int) -> HiddenState:
        """Replay the session's walk to the fork of ``step`` (on its page, before its action).

        Raises:
            KeyError: Unknown session. ValueError: ``step`` is not one of its steps.
        """
        planned = self.planned(session_id)
        self._step(session_id, step)
        choices = _ForkedChoices(
            self._stream(planned),
            fork_step=step,
            page=planned.sim.steps[step].view,
            mode="enumerate",
            side_key=(),
            snapshot=True,
        )
        try:
            browsing.walk(self._shopper(planned, choices))
        except _Snapshot as snapshot:
            s = snapshot.shopper
        else:  # pragma: no cover - the walk always reaches a step it recorded
            raise RuntimeError(f"session {session_id!r} never reached step {step}")
        extra = s.extra_products.value if s.extra_products is not None else None
        return HiddenState(
            session_id=session_id,
            step=step,
            profile=s.profile,
            intent=s.intent,
            will_buy=s.will_buy,
            engagement=s.engagement,
            products_to_examine=None if extra is None else 1 + extra,
            examined=s.examined,
            view=s.view,
            cart=s.cart,
            results_view=s.results_view,
            viewed=tuple(s.viewed),
            refined=frozenset(s.refined),
            last_query=s.last_query,
            via_ratings=s.via_ratings,
            steps=tuple(s.steps),
        )

    def next_action(
        self,
        session_id: str,
        step: int,
        *,
        persona_user_id: str | None = None,
        method: str = "enumerate",
        samples: int = 256,
        seed: int = 0,
        max_paths: int = 20_000,
    ) -> NextActionDistribution:
        """The law of the action of ``step``, continuing the true walk from its state before it.

        Args:
            session_id: A session of the store.
            step: Its step (0-based; the recorded steps before it are replayed exactly).
            persona_user_id: Continue with this user's profile instead of the session's own
                (the state up to the fork stays the session's).
            method: ``"enumerate"`` (exact; module docstring) or ``"sample"``.
            samples: Continuations drawn by ``"sample"`` (and by the fallback of ``"enumerate"``).
            seed: Seeds the sampled continuations (the enumeration needs none).
            max_paths: Enumerate at most this many continuations, else sample.

        Raises:
            KeyError: Unknown session or user. ValueError: a bad step or method.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        planned = self.planned(session_id)
        recorded = self._step(session_id, step)
        donor = None
        if persona_user_id is not None:
            if persona_user_id not in self.profiles:
                raise KeyError(f"user {persona_user_id!r} is not a user of the store")
            donor = self.profiles[persona_user_id]
        key = (self.inputs.seed, planned.index, step, persona_user_id or "")
        leaves: dict[tuple[Action, bool], float] = defaultdict(float)
        paths, used = 0, "sampled"
        if method == "enumerate":
            enumerated = self._enumerate(planned, step, donor, key, max_paths)
            if enumerated is not None:
                leaves, paths, used = enumerated[0], enumerated[1], "enumerated"
        if used == "sampled":
            for k in range(samples):
                choices = _ForkedChoices(
                    self._stream(planned),
                    fork_step=step,
                    page=recorded.view,
                    mode="sample",
                    side_key=key,
                    fresh=derive_rng(seed, "fork-sample", *key, k),
                    donor=donor,
                )
                reached = self._run(planned, choices)
                if k == 0:
                    self._check_replay(planned, step, choices)
                leaves[(action_of(reached.action), reached.view == recorded.view)] += 1.0 / samples
            paths = samples
        on_page = {a: p for (a, same), p in leaves.items() if same}
        page_probability = sum(on_page.values())
        conditioned = page_probability > 0
        law: dict[Action, float] = defaultdict(float)
        for (action, same), p in leaves.items():
            if same or not conditioned:
                law[action] += p / (page_probability if conditioned else sum(leaves.values()))
        outcomes = tuple(
            sorted(law.items(), key=lambda kv: (-kv[1], json.dumps(kv[0].to_wire(), sort_keys=True)))
        )
        return NextActionDistribution(
            session_id=session_id,
            step=step,
            outcomes=outcomes,
            method=used,
            paths=paths,
            page_probability=page_probability,
            conditioned=conditioned,
            persona_user_id=persona_user_id or planned.user.user_id,
        )

    def _enumerate(
        self,
        planned: PlannedSession,
        step: int,
        donor: ShopperProfile | None,
        key: tuple[object, ...],
        max_paths: int,
    ) -> tuple[dict[tuple[Action, bool], float], int] | None:
        """Every continuation to the next action, depth first; None past ``max_paths``."""
        recorded_view = planned.sim.steps[step].view
        first = True

        def run(path: tuple[int, ...]) -> tuple[tuple[Action, bool], EnumeratingChoices]:
            nonlocal first
            choices = _ForkedChoices(
                self._stream(planned),
                fork_step=step,
                page=recorded_view,
                mode="enumerate",
                side_key=key,
                path=path,
                donor=donor,
            )
            reached = self._run(planned, choices)
            if first:
                self._check_replay(planned, step, choices)
                first = False
            return (action_of(reached.action), reached.view == recorded_view), choices

        explored = explore(run, max_paths=max_paths)
        if explored is None:
            return None
        leaves: dict[tuple[Action, bool], float] = defaultdict(float)
        for leaf, _, probability in explored:
            leaves[leaf] += probability
        return leaves, len(explored)

    @staticmethod
    def _check_replay(planned: PlannedSession, step: int, choices: _ForkedChoices) -> None:
        """The steps replayed before the fork are the recorded ones."""
        if choices.replayed != planned.sim.steps[:step]:
            raise RuntimeError(
                f"replaying session {planned.session_id!r} did not reproduce its first {step} steps"
            )
