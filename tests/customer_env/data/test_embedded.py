"""The embedded store is generated once into the cache, named by version and parameters, reused."""

from __future__ import annotations

import threading

import pytest

from customer_env.data import embedded
from customer_env.synthetic import GENERATOR_VERSION, MANIFEST_NAME


@pytest.fixture
def small_default(monkeypatch, tmp_path):
    """A private cache and a tiny "default" size, so each test generates in well under a second."""
    monkeypatch.setenv("CUSTOMER_R1_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embedded, "DEFAULT_USERS", 3)
    monkeypatch.setattr(embedded, "DEFAULT_SESSIONS", 8)
    calls = []
    real = embedded.generate_store

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(embedded, "generate_store", counting)
    return calls


def test_generated_on_first_use_then_reused(small_default, tmp_path, caplog):
    caplog.set_level("INFO", logger="customer_env.data.embedded")
    root = embedded.embedded_store_dir(page_scale="compact")
    assert root.parent == tmp_path / "cache" / "stores"
    assert (root / MANIFEST_NAME).is_file() and (root / "OPeRA_filtered" / "action").is_dir()
    assert f"v{GENERATOR_VERSION}" in root.name and "scale0.05" in root.name and "sessionsplit" in root.name
    assert small_default[0]["page_scale"] == embedded.COMPACT_PAGE_SCALE
    assert any("generating" in r.message for r in caplog.records)
    assert any("ready in" in r.message for r in caplog.records)
    assert embedded.embedded_store_dir(page_scale=0.05) == root
    assert len(small_default) == 1


def test_parameters_give_distinct_directories(small_default):
    a = embedded.embedded_store_dir(page_scale=0.0)
    b = embedded.embedded_store_dir(page_scale=0.0, user_disjoint=True)
    c = embedded.embedded_store_dir(page_scale=0.0, seed=1)
    assert len({a, b, c}) == 3 and "userdisjoint" in b.name and "seed1" in c.name


def test_concurrent_first_use_generates_once(small_default):
    roots = []
    threads = [
        threading.Thread(target=lambda: roots.append(embedded.embedded_store_dir(page_scale=0.0)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(roots)) == 1 and len(roots) == 3
    assert len(small_default) == 1
    leftovers = [p.name for p in roots[0].parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []


def test_an_incomplete_directory_is_regenerated(small_default):
    name = embedded.embedded_store_name(page_scale=0.0)
    broken = embedded.cache_dir("stores") / name
    (broken / "OPeRA_filtered").mkdir(parents=True)
    root = embedded.embedded_store_dir(page_scale=0.0)
    assert root == broken and (root / MANIFEST_NAME).is_file()


@pytest.mark.parametrize("bad", [-0.5, float("nan"), "huge"])
def test_bad_page_scales_are_rejected(bad):
    with pytest.raises(ValueError, match="page_scale"):
        embedded.resolve_page_scale(bad)


def test_page_scale_names():
    assert embedded.resolve_page_scale(None) == 1.0
    assert embedded.resolve_page_scale("compact") == embedded.COMPACT_PAGE_SCALE
    assert embedded.resolve_page_scale("0.25") == 0.25


_GENERATE_IN_A_PROCESS = """
import sys, time
from pathlib import Path
from customer_env.data import embedded
marks, me = Path(sys.argv[1]), sys.argv[2]
embedded.DEFAULT_USERS, embedded.DEFAULT_SESSIONS = 3, 8
real = embedded.generate_store

def generate(*args, **kwargs):
    with open(marks / "generated", "a") as log:
        log.write(me + "\\n")
    deadline = time.monotonic() + 60  # hold on until the other process has asked too
    while len(list(marks.glob("arrived-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    return real(*args, **kwargs)

embedded.generate_store = generate
(marks / f"arrived-{me}").touch()
print(embedded.embedded_store_dir(page_scale=0.0))
"""


def test_two_processes_generate_once_and_share_the_store(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "CUSTOMER_R1_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    runs = [subprocess.Popen([sys.executable, "-c", _GENERATE_IN_A_PROCESS, str(marks), str(i)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    assert len((marks / "generated").read_text().split()) == 1
    roots = {out.strip() for out, _ in outputs}
    assert len(roots) == 1 and (Path(roots.pop()) / MANIFEST_NAME).is_file()
    assert sum("waiting for another process" in err for _, err in outputs) == 1
