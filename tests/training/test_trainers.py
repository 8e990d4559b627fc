"""Smoke runs of the SFT and GRPO scripts on the tiny model and the small store (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.checkpoint import SUMMARY_FILE, resolve_checkpoint
from tests.training.conftest import SMOKE_PROMPT_TOKENS
from training import grpo, sft
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


def _sft_options(model: Path, store: Path, out: Path, **changes: Any) -> tuple[Any, Any, Any]:
    return sft.options(**{**dict(model_name_or_path=str(model), output_dir=str(out), source=str(store),
                                 max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_length=128, max_examples=12,
                                 max_steps=3, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                                 learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=2, bf16=False),
                          **changes})


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, small_store_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("sft") / "run"
    return sft.main(*_sft_options(tiny_model_dir, small_store_dir, out))


def test_sft_smoke_writes_model_tokenizer_card_and_summary(sft_run: Path, small_store_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = json.loads((sft_run / SUMMARY_FILE).read_text())
    assert summary["kind"] == "sft" and summary["global_step"] == 3
    assert summary["data"]["kept"] == 12
    assert summary["tiny_model"] is True and summary["lora"] is False  # tiny: full fine-tuning
    assert len(summary["dataset_fingerprint"]) == 16
    assert "loss" in summary["final_log"]
    assert summary["provenance"]["fingerprints"]["dataset"] == summary["dataset_fingerprint"]
    card = (sft_run / "README.md").read_text()
    assert "customer-r1" in card and "- sft" in card and "# Model Card for run" in card
    AutoModelForCausalLM.from_pretrained(sft_run)
    AutoTokenizer.from_pretrained(sft_run)


def test_the_checkpoint_describes_how_it_was_trained(sft_run: Path, small_store_dir: Path,
                                                    tiny_model_dir: Path) -> None:
    conditions = resolve_checkpoint(sft_run).conditions
    assert conditions.kind == "sft" and conditions.data.source == str(small_store_dir)
    assert (conditions.max_prompt_tokens, conditions.max_completion_length) == (SMOKE_PROMPT_TOKENS, 128)
    assert conditions.tokenizer == str(tiny_model_dir) and len(conditions.tokenizer_fingerprint) == 16
    assert conditions.recipe["training"]["learning_rate"] == 1e-3 and conditions.recipe["model"]["use_peft"] is False
    from customer_env.data import open_store

    assert conditions.store_fingerprint == open_store(str(small_store_dir)).fingerprint


@pytest.fixture(scope="module")
def step_data(tiny_model_dir: Path, small_store: Any) -> Any:
    """One export of the small store's training steps, shared by the runs below."""
    from agents.checkpoint import load_tokenizer

    return load_step_data(load_tokenizer(str(tiny_model_dir), padding_side="left"), small_store,
                          max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_length=128, max_examples=16)


def test_the_step_dataset_is_exported_once_then_read_from_its_cache(tiny_model_dir: Path, small_store: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.checkpoint import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir), padding_side="left")
    options = dict(max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_length=128, sessions=2)
    first = load_step_data(tokenizer, small_store, **options)

    def no_export(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cached export should have been read")

    monkeypatch.setattr("customer_env.export.export_step_dataset", no_export)
    second = load_step_data(tokenizer, small_store, **options)
    assert (first.report["cached"], second.report["cached"]) == (False, True)
    assert second.fingerprint == first.fingerprint and second.dataset.to_list() == first.dataset.to_list()
    with pytest.raises(AssertionError, match="cached export"):  # another budget is another export
        load_step_data(tokenizer, small_store, **{**options, "max_prompt_tokens": SMOKE_PROMPT_TOKENS // 2})


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
        sft.main(*options, train_data=step_data, callbacks=[_interrupt_after(3)])
    assert (out / "checkpoint-2").is_dir() and not (out / SUMMARY_FILE).exists()  # unfinished
    steps: list[int] = []
    options = _sft_options(tiny_model_dir, small_store_dir, out, max_steps=4, save_steps=2,
                           resume_from_checkpoint="latest")
    sft.main(*options, train_data=step_data, callbacks=[_record_steps(steps)])
    assert steps == [2, 3, 4]  # restarts from checkpoint-2 and continues to max_steps
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["global_step"] == 4 and summary["resumed_from"] == str(out / "checkpoint-2")


def _grpo_options(out: Path, **changes: Any) -> tuple[Any, Any, Any]:
    return grpo.options(**{**dict(output_dir=str(out), max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_steps=2,
                                  num_generations=2, per_device_train_batch_size=4, gradient_accumulation_steps=1,
                                  max_completion_length=16, learning_rate=1e-4, beta=0.0, logging_steps=1,
                                  save_steps=10**9, bf16=False), **changes})


def test_grpo_from_sft_logs_reward_components_and_per_type_accuracy(tmp_path: Path, sft_run: Path,
                                                                   step_data: Any) -> None:
    out = grpo.main(*_grpo_options(tmp_path / "r1", model_name_or_path=str(sft_run)), train_data=step_data)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["kind"] == "customer_r1" and summary["global_step"] == 2 and summary["start"] == str(sft_run)
    assert summary["conditions"]["max_completion_length"] == 16  # GRPO's own completion length
    logged = summary["final_log"]
    assert {"reward", "customer_r1/action", "customer_r1/format", "customer_r1/exact"} <= set(logged)
    assert any(key.startswith("accuracy/") for key in logged)
    assert logged["rewards/accuracy_by_type/mean"] == pytest.approx(logged["customer_r1/exact"])


def test_grpo_rl_only_with_fast_generation_and_resume(tmp_path: Path, tiny_model_dir: Path, step_data: Any) -> None:
    out = tmp_path / "rl_only"
    options = dict(rl_only=True, model_name_or_path=str(tiny_model_dir), fast_generation=True, save_steps=1)
    with pytest.raises(Interrupt):
        grpo.main(*_grpo_options(out, **options), train_data=step_data, callbacks=[_interrupt_after(2)])
    # The interruption came before step 2's checkpoint was written: training resumes from step 1.
    assert (out / "checkpoint-1").is_dir() and not (out / "checkpoint-2").exists()
    steps: list[int] = []
    grpo.main(*_grpo_options(out, **options, resume_from_checkpoint="latest"), train_data=step_data,
              callbacks=[_record_steps(steps)])
    assert steps == [1, 2]
    assert json.loads((out / SUMMARY_FILE).read_text())["conditions"]["recipe"]["project"]["rl_only"] is True


def test_grpo_refuses_a_missing_or_unfinished_sft_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--rl_only"):
        grpo.main(*_grpo_options(tmp_path / "x", model_name_or_path=str(tmp_path / "missing")))
    with pytest.raises(FileNotFoundError, match="no finished SFT run"):  # a model, but no training summary
        grpo.main(*_grpo_options(tmp_path / "x", model_name_or_path=str(tiny_model_dir)))


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
