"""Every agent through the environment on the small generated store, and the rollout files."""

from __future__ import annotations

import json

import pytest

import agents
from agents.rollout import RolloutConfig, make_agent, run_rollout, write_rollout
from customer_env.actions import parse_completion
from customer_env.data.spec import StoreSpec

SAMPLE_KEYS = {"session_id", "step_index", "user_id", "completion", "predicted", "gold", "reward",
               "reward_components", "correct", "human_rationale", "session_length", "parse_ok"}


@pytest.fixture(scope="module")
def stores(small_store):
    # The small store's test split has a single session: these tests replay the train split.
    return small_store, small_store


def config(small_store_dir, **kw):
    return RolloutConfig(data=StoreSpec(source=str(small_store_dir), split="train"),
                         n_bootstrap=kw.pop("n_bootstrap", 0), **kw)


def rollout(agent, cfg, stores, **kw):
    return run_rollout(agent, cfg, store=stores[0], train_store=stores[1], progress=False, **kw)


@pytest.mark.parametrize("name", ["random", "frequency", "persona_frequency"])
def test_model_free_agents_play_every_step_validly(name, stores, small_store_dir):
    cfg = config(small_store_dir, sessions=3)
    result = rollout(make_agent(name, cfg, train_store=stores[1]), cfg, stores)
    sessions = {s["session_id"] for s in result.samples}
    assert len(sessions) == 3 and len(result.samples) == sum(len(stores[0].session(sid)) for sid in sessions)
    assert all(SAMPLE_KEYS <= set(s) for s in result.samples)
    assert result.metrics["headline"]["format_validity"]["value"] == 1.0  # names come from the page
    assert result.metrics["n_steps"] == len(result.samples)
    assert result.info["rollout"]["steps_with_gold_target_not_in_prompt"] == 0  # small pages fit whole
    if name == "persona_frequency":  # every shown persona is a training user's (real mode)
        assert result.info["agent"]["unmatched_steps"] == 0


def test_lockstep_batching_changes_nothing(stores, small_store_dir):
    one = rollout(agents.make("random", seed=5), config(small_store_dir, sessions=4, batch_size=1), stores)
    many = rollout(agents.make("random", seed=5), config(small_store_dir, sessions=4, batch_size=3), stores)
    assert one.samples == many.samples and many.info["env"]["lanes"] == 3


def test_a_third_party_agent_needs_only_act(stores, small_store_dir):
    class Leaver:
        resets = 0

        def act(self, observation):
            return '{"rationale": "Bye.", "action": {"type": "terminate"}}'

        def reset(self):
            self.resets += 1

    agent = Leaver()
    result = rollout(agent, config(small_store_dir, sessions=3, batch_size=8), stores)
    assert agent.resets == 3 and result.info["env"]["lanes"] == 1
    terminates = [s for s in result.samples if s["gold"]["type"] == "terminate"]
    assert all(s["correct"] for s in terminates) and result.metrics["headline"]["exact_match"]["value"] == \
        pytest.approx(len(terminates) / len(result.samples))


def test_terminate_on_mismatch_stops_each_session_at_its_first_error(stores, small_store_dir):
    result = rollout(agents.make("random"), config(small_store_dir, sessions=3, on_mismatch="terminate"), stores)
    by_session = {}
    for s in result.samples:
        by_session.setdefault(s["session_id"], []).append(s)
    for steps in by_session.values():
        assert all(s["correct"] for s in steps[:-1])
        assert not steps[-1]["correct"] or len(steps) == steps[-1]["session_length"]


def test_write_rollout_files(stores, small_store_dir, tmp_path):
    printed = []
    result = rollout(agents.make("frequency", store=stores[1]), config(small_store_dir, sessions=2, n_bootstrap=50),
                     stores, on_step=printed.append)
    samples_path, results_path = write_rollout(result, tmp_path / "run")
    lines = samples_path.read_text().splitlines()
    assert len(lines) == len(printed) == len(result.samples)
    first = json.loads(lines[0])
    assert parse_completion(first["completion"]).ok and "click_type" in first["gold"]
    results = json.loads(results_path.read_text())
    assert results["dataset"]["fingerprint"] == stores[0].fingerprint and results["seed"] == 0
    record = results["provenance"]
    assert "git_commit" in record and record["packages"]["gymnasium"] and record["created"]
    assert record["fingerprints"] == {"evaluated": stores[0].fingerprint, "train": stores[1].fingerprint}
    ci = results["metrics"]["headline"]["exact_match"]
    assert ci["low"] <= ci["high"]
    assert not list(tmp_path.glob("run/.*"))  # no temporary files left behind


def test_prompting_agent_with_a_tiny_model(stores, small_store_dir, tiny_model_dir):
    agent = agents.make("prompting", model=str(tiny_model_dir), max_new_tokens=8, batch_size=4, device="cpu")
    result = rollout(agent, config(small_store_dir, sessions=1, max_prompt_tokens=2040), stores)
    assert agent.stats["requests"] == len(result.samples) and agent.stats["generation_failures"] == 0
    # The agent's counts come from the environment's step info (one parse per step).
    assert agent.stats["unparsable"] == sum(1 for s in result.samples if not s["parse_ok"])
    assert agent.stats["ungrounded"] == result.info["rollout"]["ungrounded_predictions"]
    # The budget is the config's: a plain model records no training budget, and its config is not read.
    assert result.info["env"]["max_prompt_tokens"] == 2040 and result.info["env"]["max_prompt_tokens_from"] == "config"
    assert result.info["env"]["tokenizer"] is not None and result.info["conditions"]["trained"] is None
    # A random model rarely writes valid JSON: such answers are format failures, not crashes.
    assert 0.0 <= result.metrics["headline"]["format_validity"]["value"] <= 1.0


def test_a_gold_target_cut_from_the_prompt_is_flagged(small_store):
    from agents.rollout import _sample

    sid = small_store.session_ids[0]
    gold = small_store.session(sid).steps[0].action
    info = {"session_id": sid, "scored_step_index": 0, "agent_action": None, "parse_ok": False,
            "parse_error": "empty: the completion is empty", "reward": 0.0, "reward_components": {},
            "correct": False, "gold_action": {**gold.to_wire(), "click_type": gold.click_type}}
    kept = {"actionable_names": f"{gold.name}\nother", "page": f'<div name="{gold.name}">x</div>'}
    cut = {"actionable_names": f"{gold.name}\nother", "page": '<div name="other">x</div>'}
    assert _sample(small_store, kept, {}, info, "")["gold_in_prompt"] is True
    assert _sample(small_store, cut, {}, info, "")["gold_in_prompt"] is (gold.name is None)


class _Scripted:
    """Answers from a fixed list, in turn (no act_batch: one session at a time)."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), 0

    def act(self, observation):
        self.calls += 1
        return self.answers[(self.calls - 1) % len(self.answers)]


def test_results_stay_writable_when_a_completion_holds_a_lone_surrogate(stores, small_store_dir, tmp_path):
    # "\ud83d" is half an emoji: escaped in the JSON text, or raw in the returned string.
    escaped = '{"rationale": "I like it \\ud83d", "action": {"type": "terminate"}}'
    raw = '{"rationale": "ok", "action": {"type": "terminate"}} \ud83d'
    result = rollout(_Scripted([escaped, raw]), config(small_store_dir, sessions=1), stores)
    samples_path, results_path = write_rollout(result, tmp_path / "run")
    back = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()]
    assert [s["completion"] for s in back] == [s["completion"] for s in result.samples]
    assert back[1]["completion"].endswith("\ud83d")  # written as \ud83d, read back unchanged
    assert back[0]["predicted"] == {"type": "terminate"} and back[0]["predicted_rationale"] is None
    assert back[0]["rationale_error"].startswith("rationale_bad_characters")
    assert json.loads(results_path.read_text(encoding="utf-8"))["metrics"]["n_steps"] == len(back)


def test_samples_take_the_parsed_answer_from_the_step_info(stores, small_store_dir):
    off_page = '{"rationale": "Mine.", "action": {"type": "click", "name": "no.such.element"}}'
    result = rollout(_Scripted([off_page, "not json"]), config(small_store_dir, sessions=2), stores)
    first, second = result.samples[0], result.samples[1]
    # A well-formed click on an element that is not on the page is a prediction, ungrounded.
    assert first["parse_ok"] and first["predicted"] == {"type": "click", "name": "no.such.element"}
    assert first["grounded"] is False and first["predicted_rationale"] == "Mine."
    assert not second["parse_ok"] and second["predicted"] is None and second["parse_error"].startswith("no_json")
    ungrounded = sum(1 for s in result.samples if s["parse_ok"] and not s["grounded"])
    assert result.info["rollout"]["ungrounded_predictions"] == ungrounded > 0
    assert result.info["rollout"]["parse_errors"]["no_json"] == len(result.samples) - ungrounded
    headline = result.metrics["headline"]
    assert headline["format_validity"]["value"] == pytest.approx(ungrounded / len(result.samples))
    assert headline["grounding_rate"]["value"] == 0.0
    for s in result.samples:
        session = stores[0].session(s["session_id"])
        assert s["session_outcome"] == session.outcome


def test_a_sample_copies_info_and_does_not_parse_again(small_store):
    from agents.rollout import _sample

    sid = small_store.session_ids[0]
    gold = small_store.session(sid).steps[0].action
    # The info is what the environment parsed; the sample must not re-derive it from the text.
    info = {"session_id": sid, "scored_step_index": 0, "agent_action": {"type": "terminate"}, "parse_ok": True,
            "parse_error": None, "parse_error_code": None, "agent_rationale": "from info", "grounded": True,
            "rationale_error": None, "reward": 2.0, "reward_components": {}, "correct": False,
            "gold_action": {**gold.to_wire(), "click_type": gold.click_type}}
    sample = _sample(small_store, {"page": ""}, {}, info, '{"rationale": "from text", "action": {"type": "terminate"}}')
    assert sample["predicted_rationale"] == "from info" and sample["grounded"] is True


def test_step_line_marks_an_ungrounded_prediction():
    from agents.rollout import step_line

    sample = {"session_id": "s" * 30, "step_index": 2, "gold": {"type": "click", "name": "a", "click_type": "other"},
              "predicted": {"type": "click", "name": "b"}, "grounded": False, "parse_error": None,
              "correct": False, "reward": -1.0}
    assert "(not on the page)" in step_line(sample)


def test_step_lines_tell_the_sessions_of_one_user_apart():
    from agents.rollout import session_label, step_line
    from tests.fixtures.opera_rows import SESSION_A1, SESSION_A2, SESSION_B1, USER_A

    ids = [SESSION_A1, SESSION_A2, SESSION_B1]
    assert SESSION_A1[:24] == SESSION_A2[:24]  # what the lines printed before: one label for both
    labels = [session_label(sid) for sid in ids]
    assert len(set(labels)) == 3 and all(len(label) <= 28 for label in labels)
    # The user's prefix and the session's start (OPeRA session ids are {user_id}_{start_iso}_{end_iso}).
    assert labels[0] == f"{USER_A[:8]} 2025-04-14 21:52:46" and labels[1] == f"{USER_A[:8]} 2025-04-15 08:01:02"
    sample = {"gold": {"type": "terminate", "name": None}, "predicted": None, "parse_error": "empty: no text",
              "correct": False, "reward": 0.0, "step_index": 3}
    lines = [step_line({**sample, "session_id": sid}) for sid in ids]
    assert [line.split(" #")[0] for line in lines] == labels
    # Ids of another shape: short ones whole, long ones shortened but still distinct.
    assert session_label("s1") == "s1"
    long_ids = [f"{'x' * 30}_{n}" for n in range(50)]
    assert len({session_label(sid) for sid in long_ids}) == 50
    assert all(len(session_label(sid)) <= 24 for sid in long_ids)


def test_a_trained_agent_is_evaluated_with_its_budget_and_its_data_is_checked(stores, small_store_dir):
    from agents.checkpoint import TrainingConditions

    class Trained:
        def __init__(self, fingerprint):
            self.trained_conditions = TrainingConditions(
                kind="sft", data=StoreSpec(source=str(small_store_dir), split="train"), max_prompt_tokens=3000,
                max_completion_length=64, store_fingerprint=fingerprint)

        def act(self, observation):
            return '{"rationale": "Bye.", "action": {"type": "terminate"}}'

    same = rollout(Trained(stores[1].fingerprint), config(small_store_dir, sessions=1), stores)
    assert same.info["env"]["max_prompt_tokens"] == 3000 and same.info["env"]["max_prompt_tokens_from"] == "checkpoint"
    assert same.info["conditions"]["trained_on_other_data"] is None
    other = rollout(Trained("f" * 64), config(small_store_dir, sessions=1, max_prompt_tokens=2500), stores)
    assert other.info["env"]["max_prompt_tokens"] == 2500 and other.info["env"]["max_prompt_tokens_from"] == "config"
    assert other.info["conditions"]["trained_on_other_data"].startswith("the training store's fingerprint was ffff")
