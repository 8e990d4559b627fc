"""Launches that would not do what they say are refused; the shipped accelerate configs are read
by accelerate as written (DeepSpeed and FSDP themselves need GPUs; see docs/TRAINING.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training import sft
from training.launch import launch_problem

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.mark.parametrize("environ, distributed_type, processes, fragment", [
    ({"WORLD_SIZE": "2"}, "NO", 1, "did not connect"),                    # torchrun/accelerate on CPUs without --use_cpu
    ({"WORLD_SIZE": "2", "ACCELERATE_USE_FSDP": "true"}, "MULTI_CPU", 2, "asks for FSDP"),
    ({"WORLD_SIZE": "2", "ACCELERATE_USE_DEEPSPEED": "true"}, "MULTI_CPU", 2, "asks for DeepSpeed"),
    ({"ACCELERATE_USE_FSDP": "true"}, "NO", 1, "asks for FSDP"),
])
def test_a_launch_that_did_not_take_effect_is_named(environ: dict[str, str], distributed_type: str, processes: int,
                                                    fragment: str) -> None:
    assert fragment in launch_problem(environ, distributed_type=distributed_type, num_processes=processes)


@pytest.mark.parametrize("environ, distributed_type, processes", [
    ({}, "NO", 1),                                                         # python training/sft.py
    ({"WORLD_SIZE": "2"}, "MULTI_CPU", 2),                                 # CPU processes over gloo
    ({"WORLD_SIZE": "8", "ACCELERATE_USE_FSDP": "true"}, "MULTI_GPU", 8),  # FSDP on GPUs
    ({"WORLD_SIZE": "8", "ACCELERATE_USE_DEEPSPEED": "true"}, "DEEPSPEED", 8),
    ({"ACCELERATE_USE_FSDP": "false"}, "NO", 1),
])
def test_working_launches_pass(environ: dict[str, str], distributed_type: str, processes: int) -> None:
    assert launch_problem(environ, distributed_type=distributed_type, num_processes=processes) is None


def test_the_scripts_refuse_an_fsdp_config_on_cpus_in_one_line(capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")  # what accelerate launch --config_file ..._fsdp2.yaml sets
    with pytest.raises(SystemExit) as exited:
        sft.parse_args(["--output_dir", "/tmp/unused", "--bf16", "false"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) == 1
    assert err[0].startswith("training/sft.py: error: the accelerate config asks for FSDP")


def _accelerate_launch(config: Path) -> tuple[Any, dict[str, str]]:
    """What ``accelerate launch --config_file CONFIG training/sft.py`` would start: accelerate's own
    validation of the file and the environment it hands the processes (nothing is started)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(config), "--main_process_port", "29500",
                                               "training/sft.py", "--use_peft", "false"])
    args, defaults, mixed_precision_from_file = _validate_launch_command(args)
    if args.use_deepspeed:
        # What accelerate's launch_command sets before its DeepSpeed launcher.
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_file else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        return args, prepare_deepspeed_cmd_env(args)[1]
    return args, prepare_multi_gpu_env(args)


@pytest.mark.parametrize("name, stage", [("accelerate_zero2.yaml", 2), ("accelerate_zero3.yaml", 3)])
def test_accelerate_reads_the_zero_configs(name: str, stage: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from accelerate.utils import DeepSpeedPlugin

    args, environ = _accelerate_launch(CONFIGS / name)
    assert args.use_deepspeed and args.num_processes == 8 and environ["ACCELERATE_MIXED_PRECISION"] == "bf16"
    assert environ["ACCELERATE_USE_DEEPSPEED"] == "true" and environ["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == str(stage)
    for key, value in environ.items():
        if key.startswith("ACCELERATE_"):
            monkeypatch.setenv(key, value)
    plugin = DeepSpeedPlugin()  # the plugin a launched process builds from that environment
    assert plugin.zero_stage == stage and plugin.deepspeed_config["zero_optimization"]["stage"] == stage
    if stage == 3:
        assert plugin.zero3_init_flag and plugin.deepspeed_config["zero_optimization"][
            "stage3_gather_16bit_weights_on_model_save"]


def test_accelerate_reads_the_fsdp2_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from accelerate.utils import FullyShardedDataParallelPlugin

    args, environ = _accelerate_launch(CONFIGS / "accelerate_fsdp2.yaml")
    assert args.use_fsdp and environ["ACCELERATE_USE_FSDP"] == "true" and environ["FSDP_VERSION"] == "2"
    for key, value in environ.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.cpu_ram_efficient_loading  # the full weights load on one process, the others get shards
    assert plugin.activation_checkpointing is False  # left to the trainers' --gradient_checkpointing


@pytest.mark.slow
def test_a_process_that_is_not_the_main_one_writes_and_prints_nothing(
        tmp_path: Path, tiny_model_dir: Path, small_store_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    from tests.training.conftest import SMOKE_PROMPT_TOKENS
    from training.options import StepSFTConfig

    # What TrainingArguments says on process 1 of 2 (save_on_each_node / log_on_each_node aside).
    monkeypatch.setattr(StepSFTConfig, "should_save", property(lambda self: False))
    monkeypatch.setattr(StepSFTConfig, "should_log", property(lambda self: False))
    out = tmp_path / "run"
    sft.main(*sft.options(model_name_or_path=str(tiny_model_dir), source=str(small_store_dir), output_dir=str(out),
                          max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_length=128, max_examples=4, max_steps=1,
                          per_device_train_batch_size=2, save_strategy="no", bf16=False))
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
    assert "[sft]" not in capsys.readouterr().out
