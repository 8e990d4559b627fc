"""The cache's atomic writes keep the umask's modes; its build lock makes a second process wait."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

from customer_env.cache import atomic_directory, atomic_write_text, build_lock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_to(value: int) -> None:
        os.umask(value)

    yield set_to
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700),
                                                              (0o002, 0o664, 0o775)])
def test_atomic_writes_get_the_modes_the_umask_gives(tmp_path: Path, umask, mask: int, file_mode: int,
                                                     dir_mode: int) -> None:
    umask(mask)
    atomic_write_text(tmp_path / "results.json", "{}\n")
    atomic_write_text(tmp_path / "results.json", "{\"again\": 1}\n")  # replacing keeps the rule
    with atomic_directory(tmp_path / "store") as tmp:
        (tmp / "inner").mkdir()
        (tmp / "inner" / "data.txt").write_text("x")
        # A writer that makes private files whatever the umask (safetensors: weights 0600).
        os.close(os.open(tmp / "inner" / "weights.bin", os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(tmp / "inner" / "weights.bin", 0o600)
        (tmp / "run.sh").write_text("#!/bin/sh\n")
        os.chmod(tmp / "run.sh", 0o700)
    # Before: tempfile's private 0600 file and 0700 directory whatever the umask.
    assert mode(tmp_path / "results.json") == file_mode
    assert (tmp_path / "results.json").read_text() == "{\"again\": 1}\n"
    assert mode(tmp_path / "store") == dir_mode
    assert mode(tmp_path / "store" / "inner") == dir_mode and mode(tmp_path / "store" / "inner" / "data.txt") == file_mode
    assert mode(tmp_path / "store" / "inner" / "weights.bin") == file_mode
    assert mode(tmp_path / "store" / "run.sh") == 0o700 | file_mode  # bits are added, never taken away
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "store"]  # no temporary left


def test_a_generated_store_is_readable_by_others_under_umask_022(tmp_path: Path, umask) -> None:
    from customer_env.synthetic import generate_store

    umask(0o022)
    root = tmp_path / "store"
    generate_store(root, users=2, sessions=2, seed=0, page_scale=0.0, progress=False)
    paths = [root, *root.rglob("*")]
    assert {mode(p) for p in paths if p.is_dir()} == {0o755}
    assert {mode(p) for p in paths if p.is_file()} == {0o644}


def test_safetensors_weights_in_a_cached_model_are_readable_under_umask_022(tmp_path: Path, umask) -> None:
    numpy_safetensors = pytest.importorskip("safetensors.numpy")
    import numpy as np

    umask(0o022)
    with atomic_directory(tmp_path / "model") as tmp:
        numpy_safetensors.save_file({"w": np.zeros(2, dtype=np.float32)}, str(tmp / "model.safetensors"))
    assert mode(tmp_path / "model" / "model.safetensors") == 0o644  # safetensors alone writes 0600


def test_a_failed_atomic_write_leaves_nothing(tmp_path: Path) -> None:
    class Unwritable:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        atomic_write_text(tmp_path / "out.json", Unwritable())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_directory(tmp_path / "store"):
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


_WAITER = textwrap.dedent("""
    import logging, sys, time
    from pathlib import Path
    from customer_env.cache import build_lock
    target, marks, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    (marks / f"arrived-{me}").touch()
    with build_lock(target):
        with open(marks / "holders", "a") as log:
            log.write(f"{me} in {time.monotonic()}\\n")
        time.sleep(0.5)
        with open(marks / "holders", "a") as log:
            log.write(f"{me} out {time.monotonic()}\\n")
""")


def test_build_lock_excludes_other_processes(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-c", _WAITER, str(tmp_path / "thing"), str(marks), str(i)],
                             env=env, stderr=subprocess.PIPE, text=True) for i in range(3)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    events = [line.split() for line in (marks / "holders").read_text().splitlines()]
    # Strictly alternating in/out of the same process: never two holders at once.
    assert [kind for _, kind, _ in events] == ["in", "out"] * 3
    assert all(events[i][0] == events[i + 1][0] for i in range(0, 6, 2))
    assert sum("waiting for another process" in e for e in errors) >= 1
