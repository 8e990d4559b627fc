"""Smoke runs of the SFT and GRPO scripts on the tiny model and the small store (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.training.conftest import SMOKE_PROMPT_TOKENS
from training.config import SUMMARY_FILE
from training.grpo import GRPOOptions
from training.grpo import main as grpo_main
from training.sft import SFTOptions
from training.sft import main as sft_main
from training.step_data import load_step_data

pytestmark = pytest.mark.slow


class Interrupt(Exception):
    """Stands for a crash or a Ctrl-C in the middle of training."""


def _interrupt_after(step: int) -> Any:
    from transformers import TrainerCallback

    class InterruptAfter(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step >= step:
                raise Interrupt(f"interrupted after step {state.global_step}")

    return InterruptAfter()


def _record_steps(steps: list[int]) -> Any:
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            steps.append(state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            steps.append(state.global_step)

    return Record()


def _sft_options(model: Path, store: Path, out: Path, **changes: Any) -> SFTOptions:
    options = SFTOptions(model=str(model), output_dir=str(out), source=str(store),
                         max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_tokens=128, max_examples=12,
                         max_steps=3, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                         learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=2, bf16=False)
    for key, value in changes.items():
        setattr(options, key, value)
    return options


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, small_store_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("sft") / "run"
    return sft_main(_sft_options(tiny_model_dir, small_store_dir, out))


def test_sft_smoke_writes_model_tokenizer_and_summary(sft_run: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = json.loads((sft_run / SUMMARY_FILE).read_text())
    assert summary["kind"] == "sft" and summary["global_step"] == 3
    assert summary["data"]["kept"] == 12
    assert summary["tiny_model"] is True and summary["lora"] is False  # tiny: full fine-tuning
    assert len(summary["dataset_fingerprint"]) == 16
    assert "loss" in summary["final_log"]
    AutoModelForCausalLM.from_pretrained(sft_run)
    AutoTokenizer.from_pretrained(sft_run)


@pytest.fixture(scope="module")
def step_data(tiny_model_dir: Path, small_store: Any) -> Any:
    """One export of the small store's training steps, shared by the runs below."""
    from training.config import load_tokenizer

    return load_step_data(load_tokenizer(str(tiny_model_dir), padding_side="left"), store=small_store,
                          max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_tokens=128, max_examples=16)


def test_step_data_reports_what_it_skipped(step_data: Any) -> None:
    report = step_data.report
    assert report["kept"] == 16 and report["rows"] >= 16
    assert report["rows"] - report.get("sampled_from", report["kept"]) == sum(report["skipped"].values())
    assert 0 < report["max_prompt_tokens"] <= SMOKE_PROMPT_TOKENS + 32
    assert set(report["rationale_sources"]) <= {"human", "template"}


def test_sft_resumes_after_an_interruption(tmp_path: Path, tiny_model_dir: Path, small_store_dir: Path,
                                           step_data: Any) -> None:
    out = tmp_path / "run"
    options = _sft_options(tiny_model_dir, small_store_dir, out, max_steps=4, save_steps=2)
    with pytest.raises(Interrupt):
        sft_main(options, train_data=step_data, callbacks=[_interrupt_after(3)])
    assert (out / "checkpoint-2").is_dir() and not (out / SUMMARY_FILE).exists()  # unfinished
    steps: list[int] = []
    options.resume = True
    sft_main(options, train_data=step_data, callbacks=[_record_steps(steps)])
    assert steps == [2, 3, 4]  # restarts from checkpoint-2 and continues to max_steps
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["global_step"] == 4 and summary["resumed_from"] == "True"


def _grpo_options(out: Path, **changes: Any) -> GRPOOptions:
    options = GRPOOptions(output_dir=str(out), max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_steps=2,
                          num_generations=2, per_device_train_batch_size=4, gradient_accumulation_steps=1,
                          max_completion_length=16, learning_rate=1e-4, beta=0.0, logging_steps=1,
                          save_steps=10**9, bf16=False)
    for key, value in changes.items():
        setattr(options, key, value)
    return options


def test_grpo_from_sft_logs_reward_components_and_per_type_accuracy(tmp_path: Path, sft_run: Path,
                                                                   step_data: Any) -> None:
    out = grpo_main(_grpo_options(tmp_path / "r1", sft_checkpoint=str(sft_run)), train_data=step_data)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["kind"] == "customer_r1" and summary["global_step"] == 2 and summary["start"] == str(sft_run)
    logged = summary["final_log"]
    assert {"reward", "customer_r1/action", "customer_r1/format", "customer_r1/exact"} <= set(logged)
    assert any(key.startswith("accuracy/") for key in logged)
    assert logged["rewards/accuracy_by_type/mean"] == pytest.approx(logged["customer_r1/exact"])


def test_grpo_rl_only_with_fast_generation_and_resume(tmp_path: Path, tiny_model_dir: Path, step_data: Any) -> None:
    out = tmp_path / "rl_only"
    options = _grpo_options(out, rl_only=True, model=str(tiny_model_dir), fast_generation=True, save_steps=1)
    with pytest.raises(Interrupt):
        grpo_main(options, train_data=step_data, callbacks=[_interrupt_after(2)])
    # The interruption came before step 2's checkpoint was written: training resumes from step 1.
    assert (out / "checkpoint-1").is_dir() and not (out / "checkpoint-2").exists()
    steps: list[int] = []
    options.resume = True
    grpo_main(options, train_data=step_data, callbacks=[_record_steps(steps)])
    assert steps == [1, 2]
    assert json.loads((out / SUMMARY_FILE).read_text())["config"]["rl_only"] is True


def test_grpo_refuses_a_missing_sft_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--rl_only"):
        grpo_main(_grpo_options(tmp_path / "x", sft_checkpoint=str(tmp_path / "missing")))


def test_trained_checkpoints_load_as_agents(sft_run: Path, small_store: Any) -> None:
    import agents
    from customer_env.env import OperaEnv

    env = OperaEnv(store=small_store, max_prompt_tokens=SMOKE_PROMPT_TOKENS)
    observation, _ = env.reset(seed=0)
    agent = agents.make("sft", checkpoint=str(sft_run), max_new_tokens=24)
    text = agent.act(observation)
    assert isinstance(text, str)
    _, reward, *_ = env.step(text)  # whatever the tiny model wrote, the env scores it
    assert isinstance(reward, float)
