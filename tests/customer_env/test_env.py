from __future__ import annotations

import json
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import customer_env
import customer_env.env as env_module
from customer_env.actions import format_completion, parse_completion
from customer_env.env import OperaEnv, is_scored
from customer_env.prompt import CharRatioCounter, action_json
from customer_env.records import Action
from customer_env.rewards import CustomerR1RewardConfig, RewardResult, compute_reward, exact_reward

GOLD_KEYS = {"gold_action", "correct", "parse_ok", "parse_error", "reward_components", "agent_action",
             "agent_rationale", "parse_error_code", "rationale_error", "grounded"}


def make_env(store: Any, **kwargs: Any) -> OperaEnv:
    return OperaEnv(store=store, **kwargs)


def gold_completion(action: Action, rationale: str = "Because.") -> str:
    return format_completion(Action(action.type, action.name, action.text), rationale)


def wrong_completion(env: OperaEnv, gold: Action) -> str:
    """A valid action on the current page that is not the gold one."""
    if gold.type != "terminate":
        return format_completion(Action("terminate"), "I leave.")
    return format_completion(Action("click", env.page_names[0]), "I click.")


def current_gold(env: OperaEnv, info: dict[str, Any]) -> Action:
    return env.store.session(info["session_id"]).steps[info["step_index"]].action


def package_env_ids() -> list[str]:
    return sorted(env_id for env_id, spec in gym.registry.items()
                  if isinstance(spec.entry_point, str) and spec.entry_point.startswith("customer_env"))


# ------------------------------------------------------------------ conformance


@pytest.mark.parametrize("env_id", package_env_ids())
def test_check_env_passes_without_warnings(small_store: Any, small_store_dir: Any, env_id: str) -> None:
    # The live shop is built from a store's world (its generation inputs), not from its sessions.
    options = {"source": str(small_store_dir)} if env_id == "OPeRA-Shop-v0" else {"store": small_store, "sessions": 3}
    env = gym.make(env_id, **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_both_ids_are_checked() -> None:
    assert {"OPeRA-v0", "OPeRA-Step-v0", "OPeRA-Shop-v0"} <= set(package_env_ids())


def test_sampled_actions_are_valid_on_the_current_page(small_store: Any) -> None:
    env = make_env(small_store)
    env.reset(seed=1)
    for _ in range(6):
        text = env.action_space.sample()
        assert text in env.action_space
        parsed = parse_completion(text, valid_names=env.page_names)
        assert parsed.ok, parsed.error
        _, _, terminated, truncated, info = env.step(text)
        assert info["parse_ok"]
        if terminated or truncated:
            env.reset()


def test_vector_env(small_store: Any) -> None:
    # Random actions are almost always wrong, so "terminate" makes episodes end (and autoreset).
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("OPeRA-v0", store=small_store, on_mismatch="terminate")] * 2)
    observations, infos = envs.reset(seed=[0, 1])
    assert len(observations["page"]) == 2 and all(isinstance(p, str) for p in observations["page"])
    seen_done = False
    for _ in range(6):
        actions = tuple(sub.action_space.sample() for sub in envs.envs)
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        assert rewards.shape == (2,) and np.isfinite(rewards).all()
        seen_done |= bool(terminated.any())
    assert seen_done
    envs.close()


# ------------------------------------------------------------------------ reset


def test_reset_is_deterministic_given_a_seed(small_store: Any) -> None:
    first, second = make_env(small_store), make_env(small_store)
    a = [first.reset(seed=5)] + [first.reset() for _ in range(3)]
    b = [second.reset(seed=5)] + [second.reset() for _ in range(3)]
    assert a == b
    assert first.reset(seed=5) == a[0]


def test_unpinned_resets_visit_every_session_once_per_pass(small_store: Any) -> None:
    env = make_env(small_store)
    n = len(env.session_ids)
    visited = [env.reset(seed=0)[1]["session_id"]] + [env.reset()[1]["session_id"] for _ in range(n - 1)]
    assert sorted(visited) == sorted(env.session_ids)


def test_reset_options_start_mid_session_with_human_history(small_store: Any) -> None:
    env = make_env(small_store)
    session = max(small_store.iter_sessions(), key=len)
    k = min(3, len(session) - 1)
    obs, info = env.reset(options={"session_id": session.session_id, "step": k})
    assert (info["session_id"], info["step_index"]) == (session.session_id, k)
    for i in range(k):
        assert f"Step {i + 1}: {action_json(session.steps[i].action)}" in obs["history"]
    assert f"Step {k + 1}:" not in obs["history"]
    # The same observation is reached by replaying the first k steps.
    stepped, _ = env.reset(options={"session_id": session.session_id})
    for i in range(k):
        stepped, *_ = env.step(wrong_completion(env, session.steps[i].action))
    assert stepped == obs


@pytest.mark.parametrize("options, message", [
    ({"episode": 1}, "unknown reset option"),
    ({"step": 1}, "needs 'session_id'"),
    ({"session_id": "nobody_x_y"}, "not among"),
])
def test_reset_rejects_bad_options(small_store: Any, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_env(small_store).reset(options=options)


def test_reset_rejects_a_step_outside_the_session(small_store: Any) -> None:
    env = make_env(small_store)
    sid = env.session_ids[0]
    with pytest.raises(ValueError, match="not a step"):
        env.reset(options={"session_id": sid, "step": len(small_store.session(sid))})


# ------------------------------------------------------------------- step, reward


def test_gold_is_never_in_info_before_the_step(small_store: Any) -> None:
    env = make_env(small_store)
    _, info = env.reset(seed=2)
    assert not GOLD_KEYS & set(info)
    scored = info["step_index"]
    for _ in range(3):
        gold = current_gold(env, info)
        _, _, terminated, _, info = env.step(gold_completion(gold))
        assert info["scored_step_index"] == scored
        assert info["gold_action"] == {**gold.to_wire(), "click_type": gold.click_type}
        assert info["correct"] and info["parse_ok"] and info["parse_error"] is None
        if terminated:
            break
        scored = info["step_index"]
        assert scored == info["scored_step_index"] + 1


@pytest.mark.parametrize("reward", ["customer_r1", "exact", "shop_r1", exact_reward])
def test_reward_equals_compute_reward_on_the_same_text(small_store: Any, reward: Any) -> None:
    env = make_env(small_store, reward=reward)
    _, info = env.reset(seed=3)
    for _ in range(4):
        text, names, gold = env.action_space.sample(), env.page_names, current_gold(env, info)
        expected = compute_reward(reward, text, gold, valid_names=names)
        _, reward_value, terminated, _, info = env.step(text)
        assert reward_value == expected.total
        assert info["reward_components"] == expected.components
        assert info["correct"] == expected.correct
        if terminated:
            break


def test_custom_reward_callable_and_reward_config(small_store: Any) -> None:
    calls = []

    def constant(completion: str, gold: Action, *, valid_names: Any = None, config: Any = None) -> RewardResult:
        calls.append(config)
        return RewardResult(7.0, {"constant": 7.0}, parse_completion(completion), False)

    env = make_env(small_store, reward=constant, reward_config={"k": 1})
    env.reset(seed=0)
    assert env.step("anything")[1] == 7.0 and calls == [{"k": 1}]
    scaled = make_env(small_store, reward_config={"scale": "log"})
    assert scaled.reward_config == CustomerR1RewardConfig(scale="log")
    with pytest.raises(ValueError, match="unknown"):
        make_env(small_store, reward_config={"no_such_field": 1})


def test_step_accepts_text_dicts_and_actions(small_store: Any) -> None:
    env = make_env(small_store)
    _, info = env.reset(seed=4)
    sid, index = info["session_id"], info["step_index"]
    gold = current_gold(env, info)
    wire = Action(gold.type, gold.name, gold.text).to_wire()
    forms = [gold_completion(gold, ""), {"rationale": "", "action": wire}, wire, Action(gold.type, gold.name, gold.text)]
    rewards = []
    for form in forms:
        env.reset(options={"session_id": sid, "step": index})
        _, reward, _, _, step_info = env.step(form)
        assert step_info["correct"], form
        rewards.append(reward)
    assert len(set(rewards)) == 1
    with pytest.raises(TypeError):
        env.step(42)


def test_malformed_text_is_a_parse_error_not_an_exception(small_store: Any) -> None:
    env = make_env(small_store)
    _, info = env.reset(seed=6)
    gold = current_gold(env, info)
    hostile = [
        '{"rationale": "x", "action": {"type": "click", "name": "a", "z": ' + "[" * 1000 + "]" * 1000 + "}}",
        '{"rationale": "x", "action": {"type": "click", "name": "a"}, "n": ' + "9" * 5000 + "}",
        '{"rationale": "x", "action": {"type": "click", "name": "\\ud83d"}}',
        "{" * 100_000,
    ]
    for text in ["garbage {", "", '{"action": {"type": "fly"}}', *hostile]:
        env.reset(options={"session_id": info["session_id"], "step": info["step_index"]})
        _, reward, terminated, _, step_info = env.step(text)
        assert not step_info["parse_ok"] and step_info["parse_error"] and step_info["parse_error_code"]
        assert step_info["agent_action"] is None and not step_info["correct"] and not step_info["grounded"]
        assert step_info["reward_components"] == {"action": 0.0, "format": 0.0}
        assert reward == compute_reward("customer_r1", text, gold, valid_names=env.page_names).total


def test_step_info_carries_the_parsed_answer_and_its_grounding(small_store: Any) -> None:
    env = make_env(small_store)
    _, info = env.reset(seed=6)
    gold = current_gold(env, info)
    off_page = '{"rationale": "Looks good.", "action": {"type": "click", "name": " not.on.page "}}'
    _, reward, _, _, step = env.step(off_page)
    # Well-formed, so format-valid and scored as a (wrong) click; not on the page: ungrounded.
    assert step["parse_ok"] and step["parse_error"] is None and step["parse_error_code"] is None
    assert step["agent_action"] == {"type": "click", "name": "not.on.page"} and step["grounded"] is False
    assert step["agent_rationale"] == "Looks good." and step["rationale_error"] is None
    assert step["reward_components"] == {"action": -1.0, "format": 1.0} and not step["correct"]
    env.reset(options={"session_id": info["session_id"], "step": info["step_index"]})
    _, _, _, _, right = env.step(format_completion(gold, ""))
    assert right["correct"] and right["grounded"] is True and right["rationale_error"].startswith("empty_rationale")
    assert right["reward_components"]["format"] == 0.0


def test_full_episode_of_gold_actions(small_store: Any) -> None:
    env = make_env(small_store)
    session = small_store.session(small_store.session_ids[0])
    obs, info = env.reset(options={"session_id": session.session_id})
    for i, step in enumerate(session.steps):
        previous = obs
        obs, reward, terminated, truncated, info = env.step(gold_completion(step.action))
        assert info["correct"] and not truncated
        assert terminated == (i == len(session) - 1)
    assert obs == previous and info["step_index"] == len(session) - 1
    assert info["reward"] == reward and info["scored_step_index"] == len(session) - 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step(gold_completion(session.steps[-1].action))


# --------------------------------------------------------------------- personas


def test_persona_modes(small_store: Any) -> None:
    users = small_store.users
    real_obs, real_info = make_env(small_store).reset(seed=0)
    assert real_obs["persona"] == users[real_info["user_id"]].persona.to_text().strip()
    assert real_info["persona_mode"] == "real" and real_info["persona_user_id"] == real_info["user_id"]

    none_obs, none_info = make_env(small_store, persona_mode="none").reset(seed=0)
    assert none_obs["persona"] == "" and none_info["persona_mode"] == "none"
    assert none_obs["page"] == real_obs["page"]

    donors = {}
    for sid in small_store.session_ids:
        obs, info = make_env(small_store, persona_mode="shuffled").reset(options={"session_id": sid})
        donor = info["persona_user_id"]
        assert donor != info["user_id"] and donor in users
        assert obs["persona"] == users[donor].persona.to_text().strip()
        assert donors.setdefault(info["user_id"], donor) == donor  # a fixed derangement
    again = make_env(small_store, persona_mode="shuffled").reset(options={"session_id": small_store.session_ids[0]})
    assert again[1]["persona_user_id"] == donors[again[1]["user_id"]]


def test_persona_user_id_replays_that_users_sessions(small_store: Any) -> None:
    user_id = sorted(small_store.users)[0]
    env = make_env(small_store, persona=user_id)
    assert env.session_ids and all(small_store.session(s).user_id == user_id for s in env.session_ids)
    assert env.session_ids == [s.session_id for s in small_store.sessions_of(user_id)]


def test_counterfactual_personas(small_store: Any) -> None:
    text = "I am a retired teacher who buys only what I need."
    obs, info = make_env(small_store, persona=text).reset(seed=0)
    assert obs["persona"] == text and info["persona_mode"] == "custom" and info["persona_user_id"] is None
    survey = {"Self Description": {"Two sentence description": "I love gadgets."}, "Demographic Information": {"Age": "30"}}
    obs, _ = make_env(small_store, persona=survey).reset(seed=0)
    assert "I love gadgets." in obs["persona"]
    with pytest.raises(ValueError, match="not a user"):
        make_env(small_store, persona="no-such-user")
    with pytest.raises(ValueError, match="survey-shaped"):
        make_env(small_store, persona={"age": 3})
    with pytest.raises(ValueError, match="cannot"):
        make_env(small_store, persona=text, persona_mode="none")


def test_session_selection(small_store: Any) -> None:
    all_ids = small_store.session_ids
    some = make_env(small_store, sessions=3).session_ids
    assert len(some) == 3 and set(some) <= set(all_ids) and some[0] == all_ids[0] and some[-1] == all_ids[-1]
    assert make_env(small_store, sessions=[all_ids[2], all_ids[1]]).session_ids == [all_ids[2], all_ids[1]]
    with pytest.raises(ValueError, match="not in"):
        make_env(small_store, sessions=["missing"])


# ------------------------------------------------------------------ mismatches


def _first_mismatch(small_store: Any, **kwargs: Any) -> tuple[OperaEnv, Any, tuple]:
    env = make_env(small_store, **kwargs)
    session = max(small_store.iter_sessions(), key=len)
    env.reset(options={"session_id": session.session_id})
    wrong = wrong_completion(env, session.steps[0].action)
    return env, session, env.step(wrong) + (wrong,)


def test_on_mismatch_terminate_ends_the_episode(small_store: Any) -> None:
    env, session, (obs, reward, terminated, truncated, info, _) = _first_mismatch(small_store, on_mismatch="terminate")
    assert terminated and not truncated and not info["correct"]
    assert len(session) > 1 and info["step_index"] == 0


def test_teacher_forced_history_shows_the_human(small_store: Any) -> None:
    _, session, (obs, _, terminated, _, info, _) = _first_mismatch(small_store)
    assert not terminated and info["step_index"] == 1
    assert f"Step 1: {action_json(session.steps[0].action)}" in obs["history"]


def test_continue_history_shows_the_agent_where_it_was_wrong(small_store: Any) -> None:
    _, session, (obs, _, terminated, _, info, wrong) = _first_mismatch(small_store, on_mismatch="continue")
    agent = parse_completion(wrong).action
    assert not terminated and f"Step 1: {action_json(agent)}" in obs["history"]
    assert f"Step 1: {action_json(session.steps[0].action)}" not in obs["history"]


def test_agent_history_shows_the_agents_rationale_even_when_right(small_store: Any) -> None:
    session = max(small_store.iter_sessions(), key=len)
    for source, expected in (("agent", True), ("human", False)):
        env = make_env(small_store, history_source=source)
        env.reset(options={"session_id": session.session_id})
        obs, *_ = env.step(gold_completion(session.steps[0].action, "My own distinctive reason."))
        assert ("My own distinctive reason." in obs["history"]) is expected


# --------------------------------------------------------- truncation, render


def test_max_episode_steps_truncates(small_store: Any) -> None:
    session = max(small_store.iter_sessions(), key=len)
    assert len(session) > 2
    for env in (make_env(small_store, max_episode_steps=2),
                gym.make("OPeRA-v0", store=small_store, max_episode_steps=2)):
        _, info = env.reset(options={"session_id": session.session_id})
        flags = []
        for _ in range(2):
            _, _, terminated, truncated, info = env.step(gold_completion(current_gold(env.unwrapped, info)))
            flags.append((terminated, truncated))
        assert flags == [(False, False), (False, True)]
        assert info["step_index"] == 2  # the next recorded page


def test_render_ansi(small_store: Any) -> None:
    env = make_env(small_store, render_mode="ansi")
    _, info = env.reset(seed=0)
    assert "no step taken yet" in env.render()
    gold = current_gold(env, info)
    env.step(wrong_completion(env, gold))
    text = env.render()
    assert f"step 2/{info['session_length']}" in text and info["user_id"] in text
    assert "Human (step 1)" in text and "Agent:" in text and "wrong" in text and "Reward:" in text
    env.reset(options={"session_id": info["session_id"], "step": info["session_length"] - 1})
    env.step(wrong_completion(env, current_gold(env, {**info, "step_index": info["session_length"] - 1})))
    last = env.render()
    assert f"step {info['session_length']}/{info['session_length']}" in last and "[done]" in last
    assert make_env(small_store).render() is None
    with pytest.raises(ValueError, match="render_mode"):
        make_env(small_store, render_mode="human")


def test_each_page_is_compressed_once(small_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = env_module.compress_page
    monkeypatch.setattr(env_module, "compress_page", lambda html: calls.append(1) or original(html))
    env = make_env(small_store)
    session = max(small_store.iter_sessions(), key=len)
    for _ in range(2):
        env.reset(options={"session_id": session.session_id})
        for step in session.steps:
            env.step(gold_completion(step.action))
    assert len(calls) == len(session)


def test_token_budget_and_counters(small_store: Any) -> None:
    class WordTokenizer:
        def encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
            return text.split()

    sid = small_store.session_ids[0]
    options = {"session_id": sid}
    full_obs, full = make_env(small_store).reset(options=options)
    words = make_env(small_store, tokenizer=WordTokenizer()).reset(options=options)[1]["prompt_tokens"]
    doubled = make_env(small_store, tokenizer=CharRatioCounter(1.5)).reset(options=options)[1]["prompt_tokens"]
    assert words < full["prompt_tokens"] < doubled
    # A budget with room for little more than the fixed parts forces the page to shrink.
    budget = full["truncation"]["fixed_tokens"] + 8
    obs, info = make_env(small_store, max_prompt_tokens=budget).reset(options=options)
    assert info["truncation"]["max_tokens"] == budget and info["truncation"]["notes"]
    assert info["prompt_tokens"] < full["prompt_tokens"] and len(obs["page"]) < len(full_obs["page"])
    assert obs in make_env(small_store).observation_space


def test_constructor_validates_choices(small_store: Any) -> None:
    for bad in ({"persona_mode": "other"}, {"on_mismatch": "skip"}, {"history_source": "model"},
                {"reward": "nope"}, {"max_prompt_tokens": 0}, {"max_episode_steps": 0}):
        with pytest.raises(ValueError):
            make_env(small_store, **bad)


def test_package_exposes_the_env() -> None:
    assert customer_env.OperaEnv is OperaEnv
    assert json.loads(json.dumps(package_env_ids()))


# ------------------------------------------------------------------ full variant


def test_full_variant_predicts_only_scored_steps(small_full_store: Any) -> None:
    session = max(small_full_store.iter_sessions(), key=len)
    scored = [step.index for step in session.steps if is_scored(step)]
    assert 0 < len(scored) < len(session)
    env = make_env(small_full_store)
    obs, info = env.reset(options={"session_id": session.session_id})
    seen, histories = [info["step_index"]], [obs["history"]]
    while True:
        obs, _, terminated, _, info = env.step(env.action_space.sample())
        if terminated:
            break
        seen.append(info["step_index"])
        histories.append(obs["history"])
    assert seen == scored
    # Before each predicted step, the history lists every earlier step, unscored ones included.
    k = scored[-1]
    assert all(f"Step {i + 1}: " in histories[-1] for i in range(k))
    assert any(not is_scored(step) for step in session.steps[:k]) and '"type": "scroll"' in histories[-1]
    unscored = next(step.index for step in session.steps if not is_scored(step))
    with pytest.raises(ValueError, match="not a predicted action"):
        env.reset(options={"session_id": session.session_id, "step": unscored})
