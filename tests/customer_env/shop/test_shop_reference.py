"""The reference shopper's law: a distribution, exact (it matches the walk's own frequencies),
defined along every recorded session, merging only runs in the same state, and its fallback."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from customer_env.records import Action
from customer_env.shop.draws import SeededDraws
from customer_env.shop.episodes import live_start, recorded_start
from customer_env.shop.reference import TERMINATE, ReferenceTracker, ReferenceWalk
from customer_env.shop.signature import canonical
from customer_env.shop.state import ShopState
from customer_env.shop.transitions import apply_action
from customer_env.synthetic import names
from customer_env.synthetic.fork import action_of


def _tracker(world: Any, start: Any, profile: Any) -> ReferenceTracker:
    return ReferenceTracker(world, start.draws, profile, start.visit)


def test_the_law_is_a_distribution_and_holds_every_recorded_action(small_world: Any) -> None:
    for sid, planned in sorted(small_world.sessions.items()):
        start = recorded_start(small_world, sid)
        tracker = _tracker(small_world, start, planned.user.profile)
        for step in planned.sim.steps:
            law = tracker.law()
            assert abs(sum(p for _, p in law.outcomes) - 1.0) < 1e-9
            assert law.anchor == "visit" and not law.truncated
            assert law.probability(action_of(step.action)) > 0, (sid, step.action.name)
            assert tracker.observe(action_of(step.action), ShopState(page=step.view), [step.view])
        if planned.sim.steps[-1].action.name == names.ADD_TO_CART.name:  # added to the cart and left
            assert tracker.law().probability(TERMINATE) > 0
        assert tracker.reanchors == 0


def test_the_law_is_the_walks_own_frequencies(default_world: Any) -> None:
    # Exactness: the enumerated law of a state equals the frequencies of the sampled walk there.
    user = default_world.user_ids[3]
    profile = default_world.users[user].profile
    start = live_start(default_world, profile, episode_seed=21)
    law = _tracker(default_world, start, profile).law()
    draws = Counter()
    n = 3000
    for k in range(n):
        walk = ReferenceWalk(default_world, start.draws, profile, start.visit, random.Random(k))
        draws[action_of(walk.next_action())] += 1
    total_variation = 0.5 * sum(abs(p - draws.get(a, 0) / n) for a, p in law.outcomes)
    assert sum(draws.values()) == n and set(draws) <= {a for a, _ in law.outcomes}
    assert total_variation < 0.05, total_variation


def test_the_second_step_law_matches_the_walk_given_the_first_action(default_world: Any) -> None:
    user = default_world.user_ids[7]
    profile = default_world.users[user].profile
    start = live_start(default_world, profile, episode_seed=5)
    tracker = _tracker(default_world, start, profile)
    first = tracker.law().most_likely()
    state = ShopState(page=start.visit.first_page, cart=start.visit.start.cart, intent=start.visit.start.intent)
    after = apply_action(default_world, start.draws, state, Action(first.type, first.name, first.text)).state
    assert tracker.observe(Action(first.type, first.name, first.text), after, [state.page, after.page])
    law = tracker.law()
    seconds, n = Counter(), 0
    for k in range(6000):  # rejection: the walk's runs whose first action is the one observed
        walk = ReferenceWalk(default_world, start.draws, profile, start.visit, random.Random(10_000 + k))
        if action_of(walk.next_action()).matches(Action(first.type, first.name, first.text)):
            n += 1
            second = walk.next_action()
            seconds[action_of(second) if second is not None else TERMINATE] += 1
    assert n > 500
    total_variation = 0.5 * sum(abs(p - seconds.get(a, 0) / n) for a, p in law.outcomes)
    assert total_variation < 0.08, (total_variation, n)


def test_out_of_support_actions_reanchor_and_are_counted(small_world: Any) -> None:
    user = small_world.user_ids[0]
    profile = small_world.users[user].profile
    start = live_start(small_world, profile, episode_seed=2)
    tracker = _tracker(small_world, start, profile)
    state = ShopState(page=start.visit.first_page, cart=start.visit.start.cart, intent=start.visit.start.intent)
    odd = Action("click", names.TODAYS_DEALS.name)  # a nav-bar link the store's shoppers never click
    assert tracker.law().probability(odd) == 0.0
    after = apply_action(small_world, start.draws, state, odd).state
    assert tracker.observe(odd, after, [state.page, after.page]) is False
    law = tracker.law()
    assert law.anchor == "resumed" and tracker.reanchors == 1
    assert abs(sum(p for _, p in law.outcomes) - 1.0) < 1e-9
    assert tracker.observe(None, after, [state.page, after.page]) is False  # a format failure
    assert tracker.reanchors == 2


def test_merged_runs_have_the_same_future(small_world: Any) -> None:
    # Runs merged for sharing a signature must continue identically: check on every recorded
    # session that, where two kept runs share a state, their next laws are equal.
    checked = 0
    for sid, planned in sorted(small_world.sessions.items())[:4]:
        start = recorded_start(small_world, sid)
        tracker = _tracker(small_world, start, planned.user.profile)
        for step in planned.sim.steps[:-1]:
            tracker.law()
            action = action_of(step.action)
            groups: dict[Any, list[tuple[int, ...]]] = {}
            for leaf, path, p in tracker._leaves:  # noqa: SLF001 - the internals under test
                if p > 0 and leaf.action is not None and leaf.continues and leaf.action.matches(action):
                    groups.setdefault(leaf.signature, []).append(path)
            for paths in groups.values():
                if len(paths) < 2:
                    continue
                laws = []
                for path in paths[:2]:
                    single = _tracker(small_world, start, planned.user.profile)
                    single._known = list(tracker._known) + [action]  # noqa: SLF001
                    single._runs = [(path, 1.0)]  # noqa: SLF001
                    laws.append(single.law().outcomes)
                first, second = dict(laws[0]), dict(laws[1])
                assert first.keys() == second.keys()
                assert all(first[a] == pytest.approx(second[a], abs=1e-12) for a in first)
                checked += 1
            # Taking the signatures above must not cost the tracker its runs (it stays anchored).
            assert tracker.observe(action, ShopState(page=step.view), [step.view]), (sid, action)
    assert checked > 0


def test_canonical_refuses_what_it_does_not_know() -> None:
    assert canonical([1, {"a": (2,)}]) == (1, ("dict", (("a", (2,)),)))
    with pytest.raises(TypeError, match="cannot encode"):
        canonical(object())


def test_the_reference_walk_is_seeded(default_world: Any) -> None:
    user = default_world.user_ids[1]
    profile = default_world.users[user].profile
    start = live_start(default_world, profile, episode_seed=9)

    def run(seed: int) -> list[Any]:
        walk = ReferenceWalk(default_world, start.draws, profile, start.visit, random.Random(seed))
        return [walk.next_action() for _ in range(4)]

    assert [a.name if a else None for a in run(1)] == [a.name if a else None for a in run(1)]
    assert isinstance(start.draws, SeededDraws)
    runs = {tuple(a.name if a else None for a in run(seed)) for seed in range(6)}
    assert len(runs) > 1
