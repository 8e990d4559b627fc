"""The trainers under two CPU processes (``accelerate launch``, gloo), against one process.

Each test launches the scripts the way README.md documents (``accelerate launch --multi_gpu
--num_processes 2 training/<script>.py --use_cpu true ...``) on the tiny test model and the small
store, with a free loopback port, one thread per process, and a timeout that kills the whole
process group, so a hung rank fails the test instead of hanging CI. The one-process reference
runs in this process with the same global batch (per-device batch 4 against 2 x 2).

Loss tolerance: the two layouts compute the same float32 sums in a different order (each rank sums
its half of the completion tokens and gradients, then an all-reduce adds the halves), so they agree
to a few float32 roundings: measured, at most 1.3e-7 of the loss over 10 steps. A relative 1e-5
(about 80 float32 epsilons) is far above that and far below a real fault: the first loss of half
the batch, what two ranks reading the same half would log, differs by 6e-4.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.checkpoint import SUMMARY_FILE
from tests.training.conftest import SMOKE_PROMPT_TOKENS
from training import grpo, sft

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

ROOT = Path(__file__).resolve().parents[2]
#: Relative tolerance of a loss (or gradient norm) between one and two processes (see above).
LOSS_RTOL = 1e-5
#: Seconds a launch may take before its process group is killed (about 30 s on 2 busy cores).
LAUNCH_TIMEOUT = 300
SFT_STEPS = 3
#: TRL prints GRPO's completion table with rich: wide lines, one sample, keep that quick.
QUIET_TABLES = {"COLUMNS": "2000"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accelerate() -> list[str]:
    script = Path(sys.executable).with_name("accelerate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "accelerate.commands.accelerate_cli"]


def launch(script: str, *args: str, cache: Path, processes: int = 2) -> str:
    """Run ``accelerate launch --multi_gpu --num_processes N SCRIPT ARGS --use_cpu true``; its output."""
    command = [*_accelerate(), "launch", "--multi_gpu", "--num_processes", str(processes),
               "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
               script, *args, "--use_cpu", "true", "--ddp_timeout", "120"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUSTOMER_R1_CACHE": str(cache), **QUIET_TABLES,
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", start_new_session=True)
    try:
        output, _ = process.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{script} under {processes} processes ran past {LAUNCH_TIMEOUT} s:\n{output[-4000:]}")
    assert process.returncode == 0, f"{' '.join(command)} exited {process.returncode}:\n{output[-6000:]}"
    return output


def _flags(options: dict[str, Any]) -> list[str]:
    return [item for name, value in options.items() for item in (f"--{name}", str(value))]


def _logged(run: Path, step: int) -> list[dict[str, Any]]:
    """The training log entries (one per step) from checkpoint-``step``'s trainer state."""
    state = json.loads((run / f"checkpoint-{step}" / "trainer_state.json").read_text())
    return [entry for entry in state["log_history"] if "loss" in entry]


def _assert_close(one: float, two: float, what: str) -> None:
    assert two == pytest.approx(one, rel=LOSS_RTOL, abs=1e-7), f"{what}: one process {one!r}, two {two!r}"


def _exports(output: str) -> list[str]:
    """The step exports that ran: each progress bar draws its 0% state once, when it starts.

    Its 100% state is no count: tqdm may draw it twice for one bar (the last update, then close).
    """
    return re.findall(r"exporting steps:\s+0%\|", output)


def _lines(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


def _sft_options(model: Path, store: Path, out: Path, per_device: int) -> dict[str, Any]:
    return dict(model_name_or_path=model, source=store, output_dir=out, max_prompt_tokens=SMOKE_PROMPT_TOKENS,
                max_completion_length=128, max_examples=16, max_steps=SFT_STEPS,
                per_device_train_batch_size=per_device, gradient_accumulation_steps=1, learning_rate=1e-3,
                lr_scheduler_type="constant", warmup_steps=0, logging_steps=1, save_steps=1, save_total_limit=5,
                bf16=False)


@pytest.fixture(scope="module")
def sft_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, small_store_dir: Path) -> dict[str, Any]:
    """SFT on one process (batch 4, here) and on two (2 x 2, launched, from an empty cache)."""
    root = tmp_path_factory.mktemp("sft_mp")
    one = sft.main(*sft.options(**_sft_options(tiny_model_dir, small_store_dir, root / "one", 4)))
    two = root / "two"
    output = launch("training/sft.py", *_flags(_sft_options(tiny_model_dir, small_store_dir, two, 2)),
                    cache=root / "cache")
    return {"one": one, "two": two, "output": output, "root": root}


def test_sft_on_two_processes_matches_one_and_writes_once(sft_runs: dict[str, Any]) -> None:
    one, two, output = sft_runs["one"], sft_runs["two"], sft_runs["output"]
    logged_one, logged_two = _logged(one, SFT_STEPS), _logged(two, SFT_STEPS)
    assert [e["step"] for e in logged_two] == list(range(1, SFT_STEPS + 1))
    for a, b in zip(logged_one, logged_two):
        # Step 1: the same batch through the same weights; later steps also need the averaged gradient.
        _assert_close(a["loss"], b["loss"], f"loss at step {a['step']}")
        _assert_close(a["grad_norm"], b["grad_norm"], f"gradient norm at step {a['step']}")
    # The step dataset was exported once (by the main process) and read from the cache by the other.
    assert len(_exports(output)) == 1, output[-3000:]
    # Only the main process logs and writes: one data line, one done line, one summary.
    assert len(_lines(output, "[sft] data:")) == 1 and len(_lines(output, "[sft] done:")) == 1
    summary = json.loads((two / SUMMARY_FILE).read_text())
    assert summary["launch"] == {"num_processes": 2, "distributed_type": "MULTI_CPU", "backend": "gloo",
                                 "global_batch_size": 4}
    assert summary["global_step"] == SFT_STEPS and summary["data"]["kept"] == 16
    assert json.loads((one / SUMMARY_FILE).read_text())["launch"]["num_processes"] == 1
    assert (two / "README.md").is_file() and (two / "model.safetensors").is_file()
    # A checkpoint holds one model and optimizer, and each process's own random state (to resume it).
    checkpoint = sorted(p.name for p in (two / "checkpoint-1").iterdir())
    assert {"model.safetensors", "optimizer.pt", "rng_state_0.pth", "rng_state_1.pth"} <= set(checkpoint)


def test_sft_resumes_on_two_processes_where_it_stopped(sft_runs: dict[str, Any], tiny_model_dir: Path,
                                                       small_store_dir: Path) -> None:
    # The run as a crash after checkpoint-1 would leave it: no later checkpoint, no final model.
    resumed = sft_runs["root"] / "resumed"
    resumed.mkdir()
    shutil.copytree(sft_runs["two"] / "checkpoint-1", resumed / "checkpoint-1")
    output = launch("training/sft.py", *_flags(_sft_options(tiny_model_dir, small_store_dir, resumed, 2)),
                    "--resume_from_checkpoint", "latest", cache=sft_runs["root"] / "cache")
    uninterrupted, again = _logged(sft_runs["two"], SFT_STEPS), _logged(resumed, SFT_STEPS)
    assert [e["step"] for e in again] == list(range(1, SFT_STEPS + 1))  # step 1 from the checkpoint's log
    for a, b in zip(uninterrupted[1:], again[1:]):  # steps 2 and 3 trained again: the same batches and updates
        _assert_close(a["loss"], b["loss"], f"resumed loss at step {a['step']}")
    summary = json.loads((resumed / SUMMARY_FILE).read_text())
    assert summary["resumed_from"] == str(resumed / "checkpoint-1") and summary["global_step"] == SFT_STEPS
    assert not _exports(output)  # the shared cache already holds the export


def _grpo_options(model: Path, store: Path, out: Path, per_device: int) -> dict[str, Any]:
    return dict(rl_only=True, fast_generation=True, model_name_or_path=model, source=store, output_dir=out,
                max_prompt_tokens=SMOKE_PROMPT_TOKENS, max_completion_length=48, max_examples=16, max_steps=2,
                num_generations=2, per_device_train_batch_size=per_device, gradient_accumulation_steps=1,
                learning_rate=1e-4, beta=0.0, logging_steps=1, save_steps=1, log_completions=True,
                num_completions_to_print=1, bf16=False)


def _completion_rows(run: Path, step: int) -> list[dict[str, Any]]:
    import pandas as pd

    table = pd.read_parquet(run / "completions" / f"completions_{step:05d}.parquet")
    return [{key: (json.dumps(value.tolist() if hasattr(value, "tolist") else value, default=str)
                   if key in ("prompt", "completion") else value) for key, value in row.items()}
            for row in table.to_dict("records")]


def test_grpo_groups_on_two_processes_sample_and_score_what_one_process_does(
        tmp_path: Path, tiny_model_dir: Path, small_store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in QUIET_TABLES.items():
        monkeypatch.setenv(name, value)
    one = grpo.main(*grpo.options(**_grpo_options(tiny_model_dir, small_store_dir, tmp_path / "one", 4)))
    two = tmp_path / "two"
    output = launch("training/grpo.py", *_flags(_grpo_options(tiny_model_dir, small_store_dir, two, 2)),
                    cache=tmp_path / "cache")
    for step in (1, 2):
        rows_one, rows_two = _completion_rows(one, step), _completion_rows(two, step)
        assert len(rows_two) == 4  # 2 prompts x 2 completions per step
        key = lambda row: (row["prompt"], row["sample_seed"])  # noqa: E731
        by_seed_one = {key(r): r for r in rows_one}
        # The same prompts, seeds, completions token for token, rewards and advantages.
        assert sorted(by_seed_one) == sorted(key(r) for r in rows_two)
        for row in rows_two:
            expected = by_seed_one[key(row)]
            assert row["completion"] == expected["completion"], f"step {step}: another completion was sampled"
            for column in ("customer_r1_reward", "accuracy_by_type", "advantage"):
                assert row[column] == pytest.approx(expected[column], abs=1e-6), (step, column)
        # Each process generated its own prompts' whole groups (per-device batch 2 = one group).
        assert {r["generation_process"] for r in rows_one} == {0}
        prompts = {process: {r["prompt"] for r in rows_two if r["generation_process"] == process}
                   for process in (0, 1)}
        assert all(len(p) == 1 for p in prompts.values()) and prompts[0] != prompts[1]
    for a, b in zip(_logged(one, 2), _logged(two, 2), strict=True):
        for name in ("loss", "entropy", "reward", "completions/mean_length"):
            _assert_close(a[name], b[name], f"{name} at step {a['step']}")
    assert len(_lines(output, "[grpo] data:")) == 1 and len(_lines(output, "[grpo] done:")) == 1
    assert json.loads((two / SUMMARY_FILE).read_text())["launch"]["num_processes"] == 2
