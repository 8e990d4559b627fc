"""Two processes that both miss the pipeline's cache train it once: the second waits and reuses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: One process asking for the default checkpoint; training is replaced by a stand-in that records
#: each call and holds on until both processes have asked (the real one takes ~11 minutes).
_ENSURE_IN_A_PROCESS = """
import sys, time
from pathlib import Path
from training import pipeline
root, marks, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
pipeline.pipeline_dir = lambda config=None: root

def train(kind, config, root, runs, progress):
    with open(marks / "trained", "a") as log:
        log.write(me + "\\n")
    deadline = time.monotonic() + 60
    while len(list(marks.glob("arrived-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    runs[kind].mkdir(parents=True, exist_ok=True)
    (runs[kind] / pipeline.SUMMARY_FILE).write_text("{}")
    return runs[kind]

pipeline._train = train
(marks / f"arrived-{me}").touch()
print(pipeline.ensure_checkpoint("sft", progress=False))
"""


def test_concurrent_first_calls_train_once(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    root = tmp_path / "cache" / "checkpoints" / "pipeline-test"
    env = {**os.environ, "CUSTOMER_R1_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-c", _ENSURE_IN_A_PROCESS, str(root), str(marks), str(i)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    # Before: both processes missed the cache and both trained (two lines here).
    assert len((marks / "trained").read_text().split()) == 1
    assert {out.strip() for out, _ in outputs} == {str(root / "sft")}
    assert sum("waiting for another process" in err for _, err in outputs) == 1
