"""GRPO resumed from a checkpoint continues exactly as the uninterrupted run (model, optimizer, RNG).

A run whose rewards are all 0 has all-zero advantages: its gradients are 0, the weights never
move, and any resume "matches". So this run's rewards must vary within each group. The tiny
policy does not write parseable wire JSON yet, so every project reward is 0 for it; the test
adds a reward that is never constant, the character-level similarity of the completion to the
gold action's wire JSON (``difflib``), to the environment's own (which stays in, and is 0). Everything else is
``training/grpo.py`` as a user runs it, from the same options.

The uninterrupted run saves checkpoint-2 and checkpoint-4. A run killed after its step-2
checkpoint leaves an output directory holding only checkpoint-2: the resumed run starts from a
copy of exactly that and trains to step 4. On the CPU (``use_cpu``) every operation is the same,
in the same order, so the logged rewards, gradient norms, lengths and entropies of steps 3 and 4, and the
final weights, are compared for equality, not within a tolerance. The control resumes from a
checkpoint without its optimizer state (Adam's moments) and must end elsewhere: the comparison
sees a lost optimizer state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from training import grpo

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")

#: Logged keys that measure time, not training.
TIMING_KEYS = {"step_time", "train_runtime", "train_samples_per_second", "train_steps_per_second"}
#: The prompt budget of these runs: small prompts keep the 8 GRPO steps cheap on a CPU.
BUDGET = 1024


def gold_similarity(prompts: Any = None, completions: Any = (), **columns: Any) -> list[float]:
    """Each completion's ``difflib`` similarity ratio to its gold action's wire JSON, in [0, 1]."""
    from difflib import SequenceMatcher

    from customer_env.actions import format_completion
    from customer_env.export import GOLD_COLUMNS, gold_from_columns
    from training.grpo_rewards import completion_text

    golds = [format_completion(gold_from_columns(*(columns[c][i] for c in GOLD_COLUMNS)), "")
             for i in range(len(completions))]
    return [SequenceMatcher(None, completion_text(c), gold).ratio() for c, gold in zip(completions, golds)]


@pytest.fixture
def varying_reward(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's reward (and per-type accuracy) plus :func:`gold_similarity`, weight 1."""
    import training.grpo_rewards

    environment_reward = training.grpo_rewards.reward_functions

    def with_text_reward(*args: Any, **kwargs: Any) -> tuple[list[Any], list[float]]:
        funcs, weights = environment_reward(*args, **kwargs)
        return [*funcs, gold_similarity], [*weights, 1.0]

    monkeypatch.setattr(training.grpo_rewards, "reward_functions", with_text_reward)


@pytest.fixture(scope="module")
def step_data(tiny_model_dir: Path, small_store: Any) -> Any:
    from agents.checkpoint import load_tokenizer
    from training.step_data import load_step_data

    return load_step_data(load_tokenizer(str(tiny_model_dir), padding_side="left"), small_store,
                          max_prompt_tokens=BUDGET, max_completion_length=128, persona_mode="none", max_examples=8)


def _options(out: Path, model: Path, **changes: Any) -> tuple[Any, Any, Any]:
    return grpo.options(**{**dict(output_dir=str(out), rl_only=True, model_name_or_path=str(model),
                                  max_prompt_tokens=BUDGET, persona_mode="none", max_steps=4, save_steps=2,
                                  num_generations=2, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                                  max_completion_length=16, learning_rate=3e-3, warmup_steps=0, beta=0.0,
                                  logging_steps=1, seed=7, bf16=False, use_cpu=True), **changes})


def _killed_after_checkpoint_2(run: Path, dest: Path, *, keep_optimizer: bool = True) -> Path:
    """The output directory a run killed after writing checkpoint-2 leaves behind."""
    shutil.copytree(run / "checkpoint-2", dest / "checkpoint-2")
    if not keep_optimizer:
        (dest / "checkpoint-2" / "optimizer.pt").unlink()
    return dest


def _logs(run: Path) -> dict[int, dict[str, float]]:
    """Per step, what the run logged (losses, rewards, lengths, ...) without the timings."""
    state = json.loads((run / "checkpoint-4" / "trainer_state.json").read_text())
    return {entry["step"]: {k: v for k, v in entry.items() if k not in TIMING_KEYS}
            for entry in state["log_history"] if "loss" in entry}


def _weights(directory: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


def _max_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def test_grpo_resumed_from_a_checkpoint_matches_the_uninterrupted_run(
        tmp_path: Path, tiny_model_dir: Path, step_data: Any, varying_reward: None) -> None:
    uninterrupted = grpo.main(*_options(tmp_path / "whole", tiny_model_dir), train_data=step_data)
    logs = _logs(uninterrupted)
    assert sorted(logs) == [1, 2, 3, 4]
    for step, entry in logs.items():  # a run that learns: rewards differ within groups, gradients flow
        assert entry["reward"] > 0 and entry["reward_std"] > 0 and entry["frac_reward_zero_std"] == 0, (step, entry)
        assert entry["grad_norm"] > 0, (step, entry)
        assert entry["rewards/customer_r1_reward/mean"] == 0  # the environment's reward alone: all 0
    final = _weights(uninterrupted)
    assert _max_difference(final, _weights(tmp_path / "whole" / "checkpoint-2")) > 1e-4  # steps 3, 4 moved it

    resumed_dir = _killed_after_checkpoint_2(uninterrupted, tmp_path / "resumed")
    resumed = grpo.main(*_options(resumed_dir, tiny_model_dir, resume_from_checkpoint="latest"),
                        train_data=step_data)
    summary = json.loads((resumed / "training_summary.json").read_text())
    assert summary["resumed_from"] == str(resumed_dir / "checkpoint-2") and summary["global_step"] == 4
    resumed_logs = _logs(resumed)
    assert {s: resumed_logs[s] for s in (3, 4)} == {s: logs[s] for s in (3, 4)}  # equal, not close
    assert _max_difference(_weights(resumed), final) == 0.0

    # Without its optimizer state the resumed run's first update differs, and so does the end.
    control = _killed_after_checkpoint_2(uninterrupted, tmp_path / "control", keep_optimizer=False)
    grpo.main(*_options(control, tiny_model_dir, resume_from_checkpoint="latest"), train_data=step_data)
    assert _logs(control)[3] == logs[3]  # the same weights and samples at step 3 ...
    assert _logs(control)[4] != logs[4] and _max_difference(_weights(control), final) > 1e-4  # ... not after
