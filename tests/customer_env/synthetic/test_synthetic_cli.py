"""``python -m customer_env.synthetic`` generates a store and prints its summary and calibration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from customer_env.synthetic.__main__ import main

ARGS = ["--users", "3", "--sessions", "9", "--seed", "5", "--page-scale", "0.02", "--quiet"]


def test_main_prints_summary_and_calibration_then_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "store"
    assert main(["--out", str(out), *ARGS]) == 0
    printed = capsys.readouterr().out
    assert "test_sessions:" in printed and "page_length_median:" in printed
    assert "click type review %" in printed and "published" in printed
    assert "published marginals: MISSED: " in printed  # three users cannot match 51 users' mix
    assert (out / "OPeRA_filtered" / "session" / "train" / "train.parquet").is_file()
    assert main(["--out", str(out), *ARGS]) == 2
    assert "not empty" in capsys.readouterr().err


def test_module_runs_and_is_reproducible_across_processes(tmp_path):
    """Two interpreters with different hash seeds write byte-identical stores."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"store{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "customer_env.synthetic", "--out", str(out), *ARGS, "--full"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(
            {str(p.relative_to(out)): p.read_bytes() for p in sorted(Path(out).rglob("*")) if p.is_file()}
        )
    assert outputs[0] == outputs[1]
