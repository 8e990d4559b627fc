"""Whole-session GRPO through TRL's environment_factory: the tool adapter, the tokenizer, the options
and a smoke run (training/multi_step.py, training/grpo.py --multi_step)."""

from __future__ import annotations

import inspect
import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from customer_env.env import OperaEnv
from customer_env.prompt.messages import build_user_content
from training import grpo, sft
from training.multi_step import (SESSION_OVER, TOOL_QUESTION, TOOL_SYSTEM_PROMPT, OperaToolEnv, episode_data,
                                 episode_exact_match, no_tool_call_warning, stores_of, tool_calling_tokenizer)

BUDGET = 2048
#: What the adapter's environment is, spelled out independently: the agent's own history, replay on.
REPLAY = dict(max_prompt_tokens=BUDGET, history_source="agent", on_mismatch="continue", include_history_pages=False)


def _pair(store: Any) -> tuple[OperaToolEnv, OperaEnv]:
    return OperaToolEnv({"train": store}, max_prompt_tokens=BUDGET), OperaEnv(store=store, **REPLAY)


def _wire(action: dict[str, Any], rationale: str) -> str:
    return json.dumps({"rationale": rationale, "action": action}, ensure_ascii=False)


def test_reset_starts_the_rows_session_at_its_step_with_the_rendered_observation(small_store: Any) -> None:
    tool_env, env = _pair(small_store)
    session_id = small_store.session_ids[0]
    row = {"prompt": [{"role": "system", "content": TOOL_SYSTEM_PROMPT}], "session_id": session_id,
           "step_index": 1, "split": "train", "gold_type": "click"}  # TRL passes every column
    text = tool_env.reset(**row)
    observation, info = env.reset(options={"session_id": session_id, "step": 1})
    assert text == build_user_content(observation, question=TOOL_QUESTION) and text.endswith(TOOL_QUESTION)
    assert info["step_index"] == 1 and "Step 1:" in observation["history"]  # the human's step 0 is the history
    assert tool_env.start == ("train", session_id, 1) and tool_env.steps == () and tool_env.get_reward() == 0.0


def test_each_tool_steps_the_env_and_answers_with_its_next_observation(small_store: Any) -> None:
    tool_env, env = _pair(small_store)
    session_id = next(s for s in small_store.session_ids if len(small_store.session(s)) >= 4)
    tool_env.reset(session_id=session_id, step_index=0)
    env.reset(options={"session_id": session_id, "step": 0})
    name = env.unwrapped.page_names[0]
    calls = [(tool_env.click, (name, "I want a closer look."), {"type": "click", "name": name}, "I want a closer look."),
             (tool_env.type_text, (name, "desk lamp"), {"type": "input", "name": name, "text": "desk lamp"}, ""),
             (tool_env.terminate, ("Nothing for me here.",), {"type": "terminate"}, "Nothing for me here.")]
    rewards = []
    for tool, args, action, rationale in calls:
        answer = tool(*args)
        observation, reward, terminated, _, info = env.step(_wire(action, rationale))
        assert answer == build_user_content(observation, question=TOOL_QUESTION)  # the env's next page, rendered
        assert tool_env.steps[-1].reward == reward and tool_env.steps[-1].correct == info["correct"]
        rewards.append(reward)
        assert not terminated  # a terminate the shopper did not take does not end the replay
    assert "I want a closer look." in observation["history"]  # the history is the agent's own
    assert [s.step_index for s in tool_env.steps] == [0, 1, 2]
    assert tool_env.get_reward() == pytest.approx(sum(rewards)) and not tool_env.finished


def test_the_session_end_is_said_once_then_calls_fail(small_store: Any) -> None:
    tool_env, _ = _pair(small_store)
    session_id = small_store.session_ids[0]
    last = len(small_store.session(session_id)) - 1
    tool_env.reset(session_id=session_id, step_index=last)
    assert tool_env.terminate("I am done.") == SESSION_OVER and tool_env.finished
    with pytest.raises(RuntimeError, match="the session is over"):  # TRL returns this as the tool's error
        tool_env.click("anything")
    assert len(tool_env.steps) == 1


@pytest.mark.parametrize("name", ["", 5, "no.such.element"])
def test_bad_arguments_are_scored_as_the_env_scores_them_never_raised(small_store: Any, name: Any) -> None:
    tool_env, env = _pair(small_store)
    session_id = small_store.session_ids[0]
    tool_env.reset(session_id=session_id, step_index=0)
    env.reset(options={"session_id": session_id, "step": 0})
    tool_env.click(name, "Let me see.")
    _, reward, _, _, info = env.step(_wire({"type": "click", "name": name}, "Let me see."))
    assert tool_env.steps[0].reward == reward and not tool_env.steps[0].correct
    assert info["parse_ok"] is (name == "no.such.element")  # a blank or non-text name does not parse


def test_trl_finds_exactly_the_three_action_tools_typed_and_documented() -> None:
    from transformers.utils import get_json_schema

    # How TRL's GRPOTrainer lists an environment's tools: the public functions of its class.
    public = {n for n, _ in inspect.getmembers(OperaToolEnv, predicate=inspect.isfunction) if not n.startswith("_")}
    assert public - {"reset", "get_reward"} == {"click", "type_text", "terminate"}
    env = OperaToolEnv({"train": None}, max_prompt_tokens=BUDGET)  # TRL reads the bound methods' schemas
    schemas = {n: get_json_schema(getattr(env, n))["function"] for n in ("click", "type_text", "terminate")}
    assert [schemas[n]["parameters"].get("required", []) for n in schemas] == [["name"], ["name", "text"], []]
    for schema in schemas.values():
        assert schema["description"] and "Example" not in json.dumps(schema)  # the model reads these
        for parameter in schema["parameters"]["properties"].values():
            assert parameter["type"] == "string" and parameter["description"]
    assert set(schemas["type_text"]["parameters"]["properties"]) >= {"name", "text", "rationale"}


def test_the_tiny_tokenizer_gets_a_tool_template_that_renders_plain_prompts_unchanged(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer
    from trl.chat_template_utils import add_response_schema, parse_response, supports_tool_calling

    plain = [{"role": "system", "content": "You shop."}, {"role": "user", "content": "## Persona\nfrugal"}]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    before = tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)
    assert not supports_tool_calling(tokenizer)
    tokenizer = tool_calling_tokenizer(tokenizer)
    assert supports_tool_calling(tokenizer)
    assert tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True) == before
    add_response_schema(tokenizer)  # what GRPOTrainer does; it knows this template
    text = '<tool_call>\n{"name": "click", "arguments": {"name": "nav_bar.cart", "rationale": "Checkout."}}\n</tool_call>'
    ids = tokenizer(text + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    prompt = tokenizer.apply_chat_template(plain, add_generation_prompt=True, tokenize=True, return_dict=False)
    parsed = parse_response(tokenizer, ids, prefix=prompt)  # as TRL parses a completion after its prompt
    assert parsed["tool_calls"][0]["function"] == {"name": "click",
                                                   "arguments": {"name": "nav_bar.cart", "rationale": "Checkout."}}


def test_a_template_that_cannot_render_tools_is_refused(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ValueError, match="cannot render tool calls"):
        tool_calling_tokenizer(tokenizer)


def test_episode_rows_are_the_step_rows_with_the_tool_prompt(small_store: Any) -> None:
    import datasets

    from training.step_data import StepData

    rows = datasets.Dataset.from_dict({"session_id": ["a", "b"], "step_index": [0, 3], "gold_type": ["click"] * 2,
                                       "prompt": [[{"role": "user", "content": "x"}]] * 2})
    episodes = episode_data(StepData(dataset=rows, fingerprint="f", report={"split": "test", "kept": 2}))
    assert sorted(episodes.dataset.column_names) == ["prompt", "session_id", "split", "step_index"]
    first = episodes.dataset[1]
    assert (first["session_id"], first["step_index"], first["split"]) == ("b", 3, "test")
    assert first["prompt"] == [{"role": "system", "content": TOOL_SYSTEM_PROMPT}, {"role": "user", "content": ""}]
    assert episodes.report["episodes"] == 2 and episodes.fingerprint == "f"


def test_the_stores_must_be_the_ones_the_rows_came_from(small_store_dir: Path, small_store: Any) -> None:
    from customer_env.data.spec import StoreSpec
    from training.step_data import StepData

    spec = StoreSpec(source=str(small_store_dir))
    good = StepData(dataset=None, fingerprint="f", report={"split": "train", "store_fingerprint": small_store.fingerprint})
    assert stores_of(spec, good, None)["train"].fingerprint == small_store.fingerprint
    stale = StepData(dataset=None, fingerprint="f", report={"split": "train", "store_fingerprint": "0" * 16})
    with pytest.raises(ValueError, match="not the one the step dataset was exported from"):
        stores_of(spec, stale)


def test_the_metric_and_the_no_tool_call_warning(small_store: Any, capsys: pytest.CaptureFixture) -> None:
    acted, idle = _pair(small_store)[0], _pair(small_store)[0]
    for env in (acted, idle):
        env.reset(session_id=small_store.session_ids[0], step_index=0)
    acted.terminate("Bye.")
    logged: dict[str, float] = {}
    rates = episode_exact_match(environments=[acted, idle], log_metric=logged.__setitem__)
    assert rates == [float(acted.steps[0].correct), None]  # no action, no rate
    assert logged == {"multi_step/steps": 0.5, "multi_step/exact_match": float(acted.steps[0].correct),
                      "multi_step/finished": 0.0}
    callback, state = no_tool_call_warning(), type("State", (), {"global_step": 3})()
    callback.on_log(None, state, None, logs={"tools/call_frequency": 1.0})
    assert capsys.readouterr().out == ""
    callback.on_log(None, state, None, logs={"tools/call_frequency": 0.0})
    callback.on_log(None, state, None, logs={"tools/call_frequency": 0.0})
    assert capsys.readouterr().out.count("no tool call") == 1


@pytest.mark.parametrize("argv, message", [
    (["--multi_step", "--rl_only", "--fast_generation", "--max_completion_length", "9000",
      "--max_prompt_tokens", "4096"], "--multi_step and --fast_generation cannot go together"),
    (["--multi_step", "--max_completion_length", "9000", "--max_prompt_tokens", "4096"], "--multi_step needs --rl_only"),
    (["--multi_step", "--rl_only"], "--multi_step needs --max_completion_length (256) larger than --max_prompt_tokens"),
])
def test_incompatible_options_fail_at_parse_time_in_one_line(capsys: pytest.CaptureFixture, argv: list[str],
                                                             message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        grpo.parse_args(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) == 1 and message in err[0]


def test_multi_step_is_a_grpo_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        sft.parse_args(["--multi_step"])
    assert "--multi_step is an option of training/grpo.py" in capsys.readouterr().err
    project, training, _ = grpo.parse_args(["--multi_step", "--rl_only", "--max_prompt_tokens", "2048",
                                            "--max_completion_length", "8192", "--max_tool_calling_iterations", "6"])
    assert project.multi_step and training.max_tool_calling_iterations == 6


# ----------------------------------------------------------------------------------- smoke run

_NAME = re.compile(r'name="([^"]+)"')


def _scripted_tool_calls(tokenizer: Any, rng: random.Random) -> Any:
    """A logits processor that makes the model write one valid tool call per turn, then end its turn.

    The random tiny model cannot write a tool call (its text never parses as one, so no episode
    would get past its first step). This stands in for a tool-calling model: each turn it picks
    an action the way a random shopper would, from the page in the context (a name on the current
    page, sometimes terminate, sometimes without a rationale), and forces those tokens; after the
    session-over note it answers in plain text. Everything else is the real path: TRL's
    generation, parsing, tool loop, rewards and loss (on the model's own log-probabilities).
    """
    import torch
    from transformers import LogitsProcessor

    class ScriptedToolCalls(LogitsProcessor):
        def __init__(self) -> None:
            self.start = 0
            self.scripts: list[list[int]] | None = None

        def _script(self, context: str) -> list[int]:
            if SESSION_OVER in context[-2 * len(SESSION_OVER):]:
                answer = "The session is over."
            else:
                names = _NAME.findall(context.rsplit("## Current page", 1)[-1])
                why = {"rationale": "I want a closer look."} if rng.random() < 0.6 else {}
                if names and rng.random() < 0.8:
                    call = {"name": "click", "arguments": {"name": rng.choice(names), **why}}
                else:
                    call = {"name": "terminate", "arguments": why}
                answer = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
            return tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.scripts is None:
                self.start = input_ids.shape[1]
                self.scripts = [self._script(tokenizer.decode(row)) for row in input_ids.tolist()]
            position = input_ids.shape[1] - self.start
            forced = torch.full_like(scores, float("-inf"))
            for row, script in enumerate(self.scripts):
                forced[row, script[min(position, len(script) - 1)]] = 0.0
            return forced

    return ScriptedToolCalls


@pytest.mark.slow
def test_multi_step_grpo_plays_episodes_through_tools_and_learns_from_the_env_reward(
        tmp_path: Path, tiny_model_dir: Path, small_store_dir: Path, small_store: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers
    from trl.chat_template_utils import supports_tool_calling

    from agents.checkpoint import SUMMARY_FILE

    # The tiny model with room for a few turns: its rotary positions have no table, so raising the
    # declared context changes no weight and no output (TRL stops a conversation at this length).
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 6144}))

    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    processor = _scripted_tool_calls(tokenizer, random.Random(0))
    generate = transformers.GenerationMixin.generate

    def forced_generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        return generate(self, *args, logits_processor=transformers.LogitsProcessorList([processor()]), **kwargs)

    monkeypatch.setattr(getattr(transformers, config["architectures"][0]), "generate", forced_generate)
    episodes: list[tuple[float, Any, tuple[Any, ...]]] = []
    get_reward = OperaToolEnv.get_reward

    def recorded_reward(self: OperaToolEnv) -> float:
        value = get_reward(self)
        episodes.append((value, self.start, self.steps))
        return value

    monkeypatch.setattr(OperaToolEnv, "get_reward", recorded_reward)
    logs: list[dict[str, float]] = []
    out = grpo.main(*grpo.options(
        output_dir=str(tmp_path / "run"), rl_only=True, multi_step=True, model_name_or_path=str(model_dir),
        source=str(small_store_dir), max_prompt_tokens=1000, max_completion_length=1800, max_tool_calling_iterations=2,
        max_examples=2, max_steps=2, num_generations=2, per_device_train_batch_size=2, gradient_accumulation_steps=1,
        learning_rate=1e-4, warmup_steps=0, beta=0.0, logging_steps=1, save_steps=2, bf16=False),
        callbacks=[_record_logs(logs)])

    # Tool calls happened and every episode advanced: the second action came after the first page.
    assert len(episodes) == 4 and all(len(steps) == 2 for _, _, steps in episodes)
    step_logs = [log for log in logs if "tools/call_frequency" in log]
    assert len(step_logs) == 2 and all(log["tools/call_frequency"] == 2.0 for log in step_logs)
    assert all(log["tools/failure_frequency"] == 0.0 and log["multi_step/steps"] == 2.0 for log in step_logs)
    # The reward is the env's: replaying each episode's calls on a fresh env gives the same rewards,
    # and the GRPO reward of each step is the mean over its episodes (the metric has weight 0).
    replay = OperaEnv(store=small_store, **{**REPLAY, "max_prompt_tokens": 1000}, reward_config={"variant": "rl_only"})
    for value, (_, session_id, step_index), steps in episodes:
        replay.reset(options={"session_id": session_id, "step": step_index})
        rewards = [replay.step(step.completion)[1] for step in steps]
        assert [step.reward for step in steps] == rewards and value == pytest.approx(sum(rewards))
    for log, batch in zip(step_logs, (episodes[:2], episodes[2:])):
        mean = sum(value for value, _, _ in batch) / 2
        assert log["rewards/OperaToolEnv/mean"] == pytest.approx(mean) and log["reward"] == pytest.approx(mean)
    # A checkpoint and the final model, with a tokenizer that renders tools, and the recipe recorded.
    assert (out / "checkpoint-2" / "model.safetensors").is_file() and (out / "model.safetensors").is_file()
    assert supports_tool_calling(transformers.AutoTokenizer.from_pretrained(out))
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["conditions"]["recipe"]["project"]["multi_step"] is True and summary["global_step"] == 2


def _record_logs(logs: list[dict[str, float]]) -> Any:
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            recorded.append(dict(logs or {}))

    recorded = logs

    return Record()
