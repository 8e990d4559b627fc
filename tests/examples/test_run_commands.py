"""The run options of the example scripts, and a rollout process killed midway, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A rollout command whose agent takes SLOW_S seconds per step (so it can be killed midway).
SLOW_ROLLOUT = """
import importlib.util, os, sys, time
import agents
from agents.baselines import RandomAgent

class SlowRandom(RandomAgent):
    def act(self, observation):
        time.sleep(float(os.environ.get("SLOW_S", "0")))
        return super().act(observation)

agents.register("slow_random", lambda seed=0: SlowRandom(seed=seed), overwrite=True)
spec = importlib.util.spec_from_file_location("rollout_example", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.main(sys.argv[2:]))
"""


def rollout_command(tmp_path, small_store_dir, out, *extra):
    script = tmp_path / "slow_rollout.py"
    script.write_text(SLOW_ROLLOUT)
    return [sys.executable, str(script), str(ROOT / "examples" / "rollout.py"), "--agent", "slow_random",
            "--source", str(small_store_dir), "--split", "train", "--sessions", "5", "--bootstrap", "100",
            "--quiet", "--out", str(out), *extra]


def environment(slow_s):
    return {**os.environ, "SLOW_S": str(slow_s), "PYTHONPATH": str(ROOT)}


def wait_for_lines(path, n, process, limit_s=120):
    deadline = time.time() + limit_s
    while time.time() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {n} lines (process returned {process.poll()})")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_killed_rollout_process_resumes_to_the_uninterrupted_files(how, small_store_dir, tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    done = subprocess.run(rollout_command(tmp_path, small_store_dir, full), env=environment(0),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    process = subprocess.Popen(rollout_command(tmp_path, small_store_dir, cut), env=environment(0.2),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_lines(cut / "samples.jsonl", 6, process)
    process.send_signal(getattr(signal, how))
    _, err = process.communicate(timeout=60)
    total = full.joinpath("samples.jsonl").read_bytes().count(b"\n")
    kept = cut.joinpath("samples.jsonl").read_bytes().count(b"\n")
    assert 6 <= kept < total and not (cut / "results.json").exists()
    if how == "SIGINT":
        assert process.returncode == 130 and "interrupted; the scored steps are in" in err and "--resume" in err
    again = subprocess.run(rollout_command(tmp_path, small_store_dir, cut), env=environment(0),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.strip().count("\n") == 0 and "--resume" in again.stderr
    resumed = subprocess.run(rollout_command(tmp_path, small_store_dir, cut, "--resume"), env=environment(0),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {kept} steps replayed from the samples file, {total - kept} played now" in resumed.stdout
    assert (cut / "samples.jsonl").read_bytes() == (full / "samples.jsonl").read_bytes()
    metrics = [json.loads((d / "results.json").read_text())["metrics"] for d in (full, cut)]
    assert metrics[0] == metrics[1]


def load(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_options_are_refused_in_one_line_before_any_work(small_store_dir, tmp_path, capsys):
    base = ["--agent", "random", "--source", str(small_store_dir), "--split", "train", "--sessions", "2",
            "--bootstrap", "0", "--quiet"]
    rollout = load("rollout")
    assert rollout.main([*base, "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    for extra, expected in [
        (["--out", str(tmp_path / "run")], "already holds a run"),
        (["--resume"], "--resume and --overwrite need --out"),
        (["--out", str(tmp_path / "run"), "--resume", "--overwrite"], "exclude each other"),
        (["--out", str(tmp_path / "run"), "--resume", "--seed", "4"], "resume refused: .* config.seed is 4 here"),
        (["--shard", "9/8"], "argument --shard: expected I/N"),
        (["--shard", "3/3", "--sessions", "2"], "only 2 sessions are selected, so at most 2 shards"),
    ]:
        with pytest.raises(SystemExit) as exited:
            code = rollout.main([*base, *extra])
            raise SystemExit(code)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and __import__("re").search(expected, err), (extra, err)
        assert err.strip().splitlines()[-1].split(": error: ")[-1]  # the error line names the problem
    compare = load("compare")
    args = ["--agents", "random", "--source", str(small_store_dir), "--split", "train", "--sessions", "2",
            "--bootstrap", "0", "--out", str(tmp_path / "cmp")]
    assert compare.main(args) == 0
    with pytest.raises(SystemExit) as exited:
        compare.main(args)
    assert exited.value.code == 2 and "already holds a comparison" in capsys.readouterr().err
    assert compare.main([*args, "--resume"]) == 0
    capsys.readouterr()
    assert compare.main(["--agents", "frequency", *args[2:], "--resume"]) == 2  # other runs planned there
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resume refused: " in err and "planned runs ['random']" in err
