"""The oracle agents: the generator's most probable next action from the true hidden state."""

from __future__ import annotations

import json

import pytest

import agents
from agents.oracle import OracleAgent
from agents.rollout import RolloutConfig, make_agent, run_rollout
from customer_env.actions import parse_completion
from customer_env.data import open_store
from customer_env.data.spec import StoreSpec
from customer_env.synthetic import generate_store
from customer_env.synthetic.fork import GenerationInputs, GeneratorFork


@pytest.fixture(scope="module")
def test_store(small_store_dir):
    return open_store(str(small_store_dir), split="test")


def _rollout(name, small_store_dir, small_store, test_store, **kwargs):
    config = RolloutConfig(data=StoreSpec(split="test", source=str(small_store_dir)), n_bootstrap=0)
    agent = make_agent(name, config, train_store=small_store, **kwargs)
    return agent, run_rollout(agent, config, store=test_store, train_store=small_store, progress=False)


def test_both_oracles_are_registered():
    assert {"oracle", "oracle_shuffled_persona"} <= set(agents.available())


def test_the_oracle_answers_the_fork_s_most_probable_action_at_every_step(small_store_dir, small_store, test_store):
    agent, result = _rollout("oracle", small_store_dir, small_store, test_store)
    fork = GeneratorFork.from_store(small_store_dir)
    assert len(result.samples) == sum(len(test_store.session(sid)) for sid in test_store.session_ids) > 10
    hits = 0
    for sample in result.samples:
        law = fork.next_action(sample["session_id"], sample["step_index"])
        answered = parse_completion(sample["completion"]).action
        assert answered.matches(law.most_likely())
        hits += law.most_likely().matches(fork.recorded_action(sample["session_id"], sample["step_index"]))
    assert result.metrics["headline"]["exact_match"]["value"] == pytest.approx(hits / len(result.samples))
    assert all(s["parse_error"] is None for s in result.samples)
    assert agent.describe()["hidden_state"] and agent.describe()["generation"]["users"] == 4
    _, again = _rollout("oracle", small_store_dir, small_store, test_store)
    assert [s["completion"] for s in again.samples] == [s["completion"] for s in result.samples]


def test_the_oracle_beats_the_frequency_floor(small_store_dir, small_store, test_store):
    _, oracle = _rollout("oracle", small_store_dir, small_store, test_store)
    _, frequency = _rollout("frequency", small_store_dir, small_store, test_store)
    assert (oracle.metrics["headline"]["exact_match"]["value"]
            > frequency.metrics["headline"]["exact_match"]["value"])


def test_the_shuffled_persona_oracle_uses_another_user_and_stays_on_the_page(small_store_dir, small_store, test_store):
    agent, result = _rollout("oracle_shuffled_persona", small_store_dir, small_store, test_store)
    assert agent.shuffled_persona and agent.describe()["shuffled_persona"]
    assert set(agent._donors) == set(agent.fork.profiles)
    assert all(agent._donors[u] != u for u in agent._donors)
    assert all(s["parse_error"] is None for s in result.samples)  # every answer is on the shown page


def test_what_cannot_be_replayed_is_refused_in_one_line(tmp_path, small_store_dir, small_store, small_full_store):
    with pytest.raises(ValueError, match="source='hub' is the real OPeRA"):
        OracleAgent(source="hub")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="has no synthetic_manifest.json"):
        OracleAgent(source=str(tmp_path / "plain"))
    with pytest.raises(ValueError, match="filtered variant only"):
        OracleAgent(store=small_full_store, source=str(small_store_dir))
    other = tmp_path / "other"
    generate_store(other, users=3, sessions=6, seed=9, page_scale=0.0, progress=False)
    with pytest.raises(ValueError, match="are not the generator's"):
        OracleAgent(store=small_store, source=str(other))
    with pytest.raises(ValueError, match="method must be one of"):
        OracleAgent(source=str(small_store_dir), method="guess")
    for message in ("has no synthetic_manifest.json", "filtered variant only", "are not the generator's"):
        assert "\n" not in message


def test_reset_and_act_misuse_fails_loudly(small_store_dir, test_store):
    oracle = OracleAgent(source=str(small_store_dir))
    with pytest.raises(RuntimeError, match="before reset"):
        oracle.act({"url": ""})
    with pytest.raises(ValueError, match="needs the environment's info"):
        oracle.reset({})
    with pytest.raises(ValueError, match="is not one the generator wrote"):
        oracle.reset({"session_id": "someone_else", "step_index": 0})
    sid = test_store.session_ids[0]
    oracle.reset({"session_id": sid, "step_index": 0})
    with pytest.raises(RuntimeError, match="out of step"):
        oracle.act({"url": "https://www.amazon.com/elsewhere"})
    oracle.reset({"session_id": sid, "step_index": 0})
    answer = json.loads(oracle.act({"url": test_store.session(sid).steps[0].url}))
    assert answer["rationale"].startswith("Oracle (uses the generator's hidden session state")
    steps = test_store.session(sid).steps
    if len(steps) > 3:  # the environment's count wins over the agent's own
        oracle.observe({"session_id": sid, "scored_step_index": 2})
        json.loads(oracle.act({"url": steps[3].url}))
        with pytest.raises(RuntimeError, match="after its last one"):
            oracle.observe({"session_id": sid, "scored_step_index": len(steps) - 1})
            oracle.act({"url": steps[-1].url})


def test_sampled_oracle_is_seeded(small_store_dir, test_store):
    sid = test_store.session_ids[0]
    url = test_store.session(sid).steps[0].url
    answers = []
    for _ in range(2):
        oracle = OracleAgent(source=str(small_store_dir), method="sample", samples=16, seed=3)
        oracle.reset({"session_id": sid, "step_index": 0})
        answers.append(oracle.act({"url": url}))
    assert answers[0] == answers[1] and "sampled over 16" in answers[0]
    assert GenerationInputs.from_store(small_store_dir).users == 4
