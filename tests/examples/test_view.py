"""examples/view.py: the viewer's command line on real rollout runs and on bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_dirs(small_store_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("view_cli")
    rollout = load("rollout")
    for name, sessions in (("frequency", "2"), ("random", "3")):
        assert rollout.main(["--agent", name, "--source", str(small_store_dir), "--split", "train", "--sessions",
                             sessions, "--quiet", "--bootstrap", "0", "--out", str(out / name)]) == 0
    return out


def test_one_and_two_runs(run_dirs, capsys):
    capsys.readouterr()
    view = load("view")
    assert view.main([str(run_dirs / "frequency")]) == 0
    printed = capsys.readouterr().out
    steps = len((run_dirs / "frequency" / "samples.jsonl").read_text().splitlines())
    assert f"frequency: {steps} steps" in printed and (run_dirs / "frequency" / "view.html").is_file()
    assert view.main([str(run_dirs / "frequency"), str(run_dirs / "random"), "--label", "A", "--label", "B"]) == 0
    printed = capsys.readouterr().out
    assert "aligned " in printed and " only in A, " in printed and " only in B" in printed
    page = (run_dirs / "frequency" / "view_vs_random.html").read_text()
    assert page.count('<article class="step"') == int(printed.split("aligned ")[1].split(" ")[0])


def test_bad_input_fails_in_one_line(run_dirs, tmp_path, capsys):
    view = load("view")
    bad = tmp_path / "bad"
    bad.mkdir()
    lines = (run_dirs / "random" / "samples.jsonl").read_text().splitlines()
    lines.insert(2, '{"session_id": "s", "step_index": ')
    (bad / "samples.jsonl").write_text("\n".join(lines) + "\n")
    assert view.main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad / 'samples.jsonl'}:3: not JSON" in err
    assert view.main([str(bad), "--skip-bad", "--out", str(tmp_path / "v.html")]) == 0
    assert "1 sample lines skipped: 1 malformed_json" in capsys.readouterr().out
    assert view.main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"view: error: {tmp_path / 'missing'}: no such run directory\n"
    assert view.main([str(run_dirs)]) == 2  # the folder above two runs
    assert "pass one or two of its run directories: frequency, random" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        view.main([str(bad), "--label", "A", "--label", "B"])
    assert exit_info.value.code == 2 and "--label: give one per run" in capsys.readouterr().err
