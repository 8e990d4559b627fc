"""The trainers' options: TRL's parser, the project's dataclass, YAML configs in TRL's layout, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from training import grpo, sft
from training.model_setup import resolve_bf16
from training.options import ProjectOptions, build_training_args, resolve_resume
from training.run_summary import final_log, write_summary

ROOT = Path(__file__).resolve().parents[2]
CPU = ["--bf16", "false", "--dtype", "float32"]  # the shipped GPU configs, read on a machine without one


def test_flags_with_underscores_or_dashes_reach_all_three_dataclasses() -> None:
    project, training, model = sft.parse_args(["--learning-rate", "3e-4", "--max_steps", "7", "--use_peft",
                                               "--max_prompt_tokens", "512", "--max_grad_norm", "0.5",
                                               "--optim", "adafactor", "--model_name_or_path", "m"])
    assert (training.learning_rate, training.max_steps, training.max_grad_norm, training.optim) == (3e-4, 7, 0.5,
                                                                                                    "adafactor")
    assert (project.max_prompt_tokens, model.use_peft, model.model_name_or_path) == (512, True, "m")
    defaults = sft.parse_args([])
    assert defaults[0] == ProjectOptions()
    assert (defaults[1].output_dir, defaults[1].max_steps, defaults[1].max_completion_length) == ("runs/sft", 2000, 256)


def test_one_name_for_the_longest_completion() -> None:
    assert sft.parse_args(["--max_completion_length", "64"])[1].max_completion_length == 64
    assert grpo.parse_args(["--max_completion_length", "64"])[1].max_completion_length == 64
    with pytest.raises(SystemExit):
        sft.parse_args(["--max_completion_tokens", "64"])  # the old SFT name is gone


def test_yaml_config_in_trl_layout_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("env:\n  CUSTOMER_R1_TEST_VAR: set\nnum_generations: 4\nbeta: 0.0\nrl_only: true\n"
                    "learning_rate: 2.0e-6\nvllm_server_base_url: http://gpu1:8000\nlora_r: 8\n"
                    "reward_scale: log\npage_scale: 0.1\n")
    project, training, model = grpo.parse_args(["--config", str(path), "--num_generations", "16"])
    assert (training.num_generations, training.beta, training.learning_rate) == (16, 0.0, 2e-6)
    assert training.vllm_server_base_url == "http://gpu1:8000" and model.lora_r == 8
    assert (project.rl_only, project.reward_scale, project.store_spec().page_scale) == (True, "log", 0.1)
    assert os.environ.pop("CUSTOMER_R1_TEST_VAR") == "set"


@pytest.mark.parametrize("text, message", [
    ("learning_rat: 1.0\n", "Unknown arguments from config file: ['--learning_rat', '1.0']"),
    ("variant: fulll\n", "--variant: invalid choice 'fulll'"),
    ("source: hub\npage_scale: 0.1\n", "page_scale applies to the embedded store only"),
    ("fast_generation: true\nuse_vllm: true\n", "--fast_generation and --use_vllm"),
])
def test_bad_yaml_values_fail_at_parse_time_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exited:
        grpo.parse_args(["--config", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) == 1 and message in err[0] and err[0].startswith("training/grpo.py:")


@pytest.mark.parametrize("argv, message", [
    (["--reward_preset", "nope"], "invalid choice: 'nope'"),
    (["--fast_generation", "--use_vllm"], "--fast_generation and --use_vllm are two ways"),
    (["--remove_unused_columns", "true"], "--remove_unused_columns must stay false"),
    (["--reward_weights", "1.0", "0.0"], "--reward_weights is set from --reward_preset"),
])
def test_bad_flags_fail_in_one_line(capsys: pytest.CaptureFixture, argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit):
        grpo.parse_args(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_sft_refuses_grpo_only_options(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        sft.parse_args(["--rl_only"])
    assert "--rl_only is an option of training/grpo.py" in capsys.readouterr().err


@pytest.mark.slow
def test_a_bad_choice_fails_before_any_model_or_data_is_loaded(tmp_path: Path) -> None:
    env = {**os.environ, "CUSTOMER_R1_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "training/grpo.py", "--variant", "fulll"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stderr.splitlines() if "Warning" not in line and not line.startswith("  ")]
    assert done.returncode == 2 and lines == [
        "training/grpo.py: error: argument --variant: invalid choice: 'fulll' (choose from 'filtered', 'full')"]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))  # no store, no model


def test_help_lists_trl_options_with_their_help() -> None:
    from training.options import TrainingParser
    from trl import GRPOConfig, ModelConfig

    text = TrainingParser((ProjectOptions, GRPOConfig, ModelConfig), prog="grpo").format_help()
    for flag in ("--vllm_server_base_url", "--vllm_gpu_memory_utilization", "--vllm_tensor_parallel_size",
                 "--log_completions", "--push_to_hub", "--hub_model_id", "--eval_strategy", "--max_grad_norm",
                 "--optim", "--reward_preset {customer_r1,exact,shop_r1}", "--persona_mode {real,none,shuffled}"):
        assert flag in text, flag
    assert "Base URL for the vLLM server" in text and "(default: customer_r1)" in text


def test_shipped_gpu_configs_hold_only_known_options() -> None:
    configs = ROOT / "training" / "configs"
    project, training, model = sft.parse_args(["--config", str(configs / "sft_qwen2.5-7b.yaml"), *CPU])
    assert model.use_peft and model.lora_target_modules == "all-linear" and project.max_prompt_tokens == 16384
    assert project.source == "hub" and training.gradient_checkpointing and training.max_completion_length == 256
    project, training, model = grpo.parse_args(["--config", str(configs / "grpo_qwen2.5-7b.yaml"), *CPU])
    assert model.model_name_or_path == "runs/sft_qwen2.5-7b" and project.fast_generation
    assert training.num_generations == 8 and training.per_device_train_batch_size * \
        training.gradient_accumulation_steps == 64


def test_build_training_args_routes_names_and_refuses_unknown_ones() -> None:
    project, training, model = grpo.options(page_scale=0.1, temperature=0.5, use_peft=False, bf16=False)
    assert (project.page_scale, training.temperature, model.use_peft) == (0.1, 0.5, False)
    with pytest.raises(ValueError, match="unknown option 'lora'"):
        grpo.options(lora=False)
    with pytest.raises(ValueError, match="--fast_generation and --use_vllm"):
        build_training_args(type(training), {"fast_generation": True, "use_vllm": True, "bf16": False,
                                             "remove_unused_columns": False})


def test_resume_latest_finds_the_newest_checkpoint(tmp_path: Path) -> None:
    training = sft.parse_args(["--output_dir", str(tmp_path), "--resume_from_checkpoint", "latest"])[1]
    with pytest.raises(FileNotFoundError, match="no checkpoint-N"):
        resolve_resume(training)
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
    assert resolve_resume(training) == str(tmp_path / "checkpoint-10")
    assert resolve_resume(sft.parse_args([])[1]) is None


def test_bf16_is_off_on_a_cpu_and_refused_there() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_bf16(None) is False
    with pytest.raises(ValueError, match="bf16"):
        resolve_bf16(True)
    assert sft.parse_args([])[1].bf16 is False  # the scripts' default on this machine


def test_summary_is_written_atomically_and_final_log_merges(tmp_path: Path) -> None:
    path = write_summary(tmp_path, {"steps": 3})
    assert json.loads(path.read_text()) == {"steps": 3}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert final_log([{"loss": 2.0, "step": 1}, {"loss": 1.0, "step": 2}, {"train_runtime": 5}]) == {
        "loss": 1.0, "step": 2, "train_runtime": 5}


def test_cpu_compact_lm_head_gives_the_same_loss_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import trl.trainer.utils as trl_utils
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from training.model_setup import score_only_labelled_positions_on_cpu

    original = trl_utils._use_triton
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    add_fused_lm_head(model)
    ids = torch.randint(0, 97, (2, 12))
    labels = ids.clone()
    labels[:, :9] = -100  # a completion-only loss: the last three tokens

    def loss_and_grad() -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad()
        loss = model(input_ids=ids, labels=labels, fused_lm_head=True).loss
        loss.backward()
        return loss.detach(), model.model.layers[0].self_attn.q_proj.weight.grad.clone()

    monkeypatch.setattr(trl_utils, "_use_triton", original)
    reference = loss_and_grad()
    assert score_only_labelled_positions_on_cpu() and score_only_labelled_positions_on_cpu()  # idempotent
    assert trl_utils._use_triton(torch.device("cpu"))
    patched = loss_and_grad()
    torch.testing.assert_close(patched[0], reference[0])
    torch.testing.assert_close(patched[1], reference[1])
