"""Forking the generator: the replay is the recorded session, the fork's law is exact and
contains what was recorded, and bad inputs are refused in one line."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from customer_env.records import Action
from customer_env.synthetic import MANIFEST_NAME, generate_store
from customer_env.synthetic.choices import lognormal_count
from customer_env.synthetic.fork import (
    GenerationInputs,
    GeneratorFork,
    action_of,
    count_law,
)

SMALL = GenerationInputs(seed=0, users=4, sessions=12)


@pytest.fixture(scope="module")
def fork() -> GeneratorFork:
    return GeneratorFork(SMALL)


def _all_steps(fork: GeneratorFork):
    for sid in fork.session_ids:
        for t in range(len(fork.planned(sid).sim.steps)):
            yield sid, t


def test_count_law_is_the_law_of_lognormal_count():
    rng = random.Random(0)
    for mean, sigma, cap in ((0.4, 0.8, 10), (2.5, 1.5, 30), (0.05, 0.8, 10)):
        law = count_law(mean, sigma, cap)
        assert len(law) == cap + 1 and abs(sum(law) - 1) < 1e-12
        draws = Counter(lognormal_count(rng, mean, sigma, cap) for _ in range(40_000))
        for k, p in enumerate(law):
            assert abs(draws[k] / 40_000 - p) < 0.01, (mean, sigma, k)
    # E[floor(L + U)] = E[L]: without the cap the mean is the requested one
    assert abs(sum(k * p for k, p in enumerate(count_law(1.7, 0.8, 400))) - 1.7) < 1e-6


def test_the_replay_to_step_t_is_the_recorded_session(fork):
    checked = drawn = 0
    for sid, t in _all_steps(fork):
        state = fork.state(sid, t)
        recorded = fork.planned(sid).sim
        assert state.steps == recorded.steps[:t]
        assert state.intent == recorded.intent and state.profile.user_id == recorded.user_id
        assert state.view == recorded.steps[t].view  # the fork starts on the page of its step
        assert state.products_to_examine is None or state.products_to_examine >= 1
        drawn += state.products_to_examine is not None
        checked += 1
    assert checked > 100 and drawn > 50


def test_the_enumerated_law_contains_every_recorded_action_and_sums_to_one(fork):
    laws = 0
    for sid, t in _all_steps(fork):
        law = fork.next_action(sid, t)
        assert law.method == "enumerated" and law.conditioned
        assert abs(sum(p for _, p in law.outcomes) - 1) < 1e-9
        assert 0 < law.page_probability <= 1 + 1e-9
        assert [p for _, p in law.outcomes] == sorted((p for _, p in law.outcomes), reverse=True)
        assert law.probability(fork.recorded_action(sid, t)) > 0, (sid, t, law.outcomes[:3])
        laws += 1
    assert laws > 100


@pytest.mark.slow
def test_sampled_continuations_cover_the_recorded_action_at_almost_every_step(fork):
    steps = list(_all_steps(fork))[::2]
    covered = sum(
        fork.next_action(sid, t, method="sample", samples=128).probability(fork.recorded_action(sid, t)) > 0
        for sid, t in steps
    )
    assert covered >= 0.95 * len(steps)


def test_enumeration_agrees_with_many_samples(fork):
    sid = max(fork.session_ids, key=lambda s: len(fork.planned(s).sim.steps))
    steps = range(len(fork.planned(sid).sim.steps))
    broad = [t for t in steps if len(fork.next_action(sid, t).outcomes) >= 4]
    for t in broad[:3]:
        exact = fork.next_action(sid, t)
        sampled = fork.next_action(sid, t, method="sample", samples=2000, seed=1)
        assert sampled.method == "sampled" and abs(sampled.page_probability - exact.page_probability) < 0.05
        e, s = dict(exact.outcomes), dict(sampled.outcomes)
        distance = 0.5 * sum(abs(e.get(a, 0) - s.get(a, 0)) for a in e.keys() | s.keys())
        # about 0.5 * sqrt(outcomes / samples) from sampling noise alone
        assert distance < 0.08, (t, distance, exact.page_probability)


def test_results_are_deterministic(fork):
    sid = max(fork.session_ids, key=lambda s: len(fork.planned(s).sim.steps))
    assert fork.next_action(sid, 2) == fork.next_action(sid, 2)
    a = fork.next_action(sid, 2, method="sample", samples=50, seed=4)
    assert a == fork.next_action(sid, 2, method="sample", samples=50, seed=4)


@pytest.mark.slow
def test_another_persona_changes_the_law_but_not_the_state_before_the_fork(fork):
    own = {sid: fork.planned(sid).user.user_id for sid in fork.session_ids}
    users = sorted(fork.profiles)
    changed = 0
    for sid, t in _all_steps(fork):
        law = fork.next_action(sid, t)
        assert fork.next_action(sid, t, persona_user_id=own[sid]).outcomes == law.outcomes
        other = users[(users.index(own[sid]) + 1) % len(users)]
        shuffled = fork.next_action(sid, t, persona_user_id=other)
        assert shuffled.persona_user_id == other and shuffled.conditioned
        changed += shuffled.outcomes != law.outcomes
    assert changed > 20


def test_action_of_gives_project_actions(fork):
    sid = fork.session_ids[0]
    kinds = {action_of(step.action).type for s in fork.session_ids for step in fork.planned(s).sim.steps}
    assert kinds == {"click", "input", "terminate"}
    first = fork.recorded_action(sid, 0)
    assert isinstance(first, Action) and first.click_type is None


def test_a_generated_store_maps_back_to_its_inputs(tmp_path):
    root = tmp_path / "store"
    generate_store(root, users=3, sessions=8, seed=5, page_scale=0.0, test_fraction=0.25, progress=False)
    inputs = GenerationInputs.from_store(root)
    assert inputs == GenerationInputs(seed=5, users=3, sessions=8, test_fraction=0.25)
    from customer_env.data import open_store

    store = open_store(str(root), split="test")
    assert set(store.session_ids) <= set(GeneratorFork(inputs).session_ids)


def test_bad_inputs_are_refused_in_one_line(tmp_path, fork):
    with pytest.raises(ValueError, match="has no synthetic_manifest.json"):
        GenerationInputs.from_store(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"generator_version": "0.9", "seed": 0, "users": 1,
                                                      "sessions": 1, "test_fraction": 0.1,
                                                      "user_disjoint": False}))
    with pytest.raises(ValueError, match="written by generator 0.9"):
        GenerationInputs.from_store(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="unreadable synthetic manifest"):
        GenerationInputs.from_store(tmp_path)
    with pytest.raises(KeyError, match="not one the generator wrote"):
        fork.next_action("nobody_2025", 0)
    sid = fork.session_ids[0]
    with pytest.raises(ValueError, match="is not a step of session"):
        fork.next_action(sid, len(fork.planned(sid).sim.steps))
    with pytest.raises(ValueError, match="method must be one of"):
        fork.next_action(sid, 0, method="guess")
    with pytest.raises(KeyError, match="not a user of the store"):
        fork.next_action(sid, 0, persona_user_id="stranger")
