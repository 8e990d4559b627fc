"""examples/simulate.py: the table, the plot, the run files, resume, the recordings as reference, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.examples.test_run_commands import load


def test_the_command_writes_the_table_the_plot_and_refuses_bad_input(small_store_dir: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    simulate = load("simulate")

    out = tmp_path / "sim"
    base = ["--personas", "2", "--episodes", "1", "--source", str(small_store_dir), "--out", str(out), "--quiet",
            "--bootstrap", "30", "--max-steps", "8", "--no-reference-law"]
    assert simulate.main(["--agent", "frequency", *base]) == 0
    printed = capsys.readouterr().out
    assert "action-type JSD" in printed and "Per persona" in printed
    assert {p.name for p in out.iterdir()} >= {"frequency", "reference", "comparison.json", "comparison.md",
                                               "comparison.png"}
    assert (out / "comparison.png").stat().st_size > 1000
    # One line per agent across comparison folders; a folder without a comparison is one line on stderr.
    from agents.simulation_report import main as summary

    assert summary([str(out)]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.startswith("| frequency | ") and row.count("[") >= 4
    (tmp_path / "empty").mkdir()
    assert summary([str(out), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "empty" in err and "not found" in err
    # The same --out again without --resume or --overwrite is refused, naming the folder.
    assert simulate.main(["--agent", "frequency", *base]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert simulate.main(["--agent", "frequency", *base, "--resume"]) == 0
    capsys.readouterr()
    for bad, message in ((["--agent", "no_such_agent"], "no_such_agent"),
                         (["--agent", "random:colour=red"], "takes no option 'colour'"),
                         (["--agent", "random", "--agent-arg", "seed"], "KEY=VALUE")):
        assert simulate.main([*bad, *base[:-1], "--overwrite"]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        simulate.main(["--agent", "random", *base, "--against", "nobody"])
    assert simulate.main(["--agent", "random", "--personas", "99", *base[2:], "--overwrite"]) == 2
    assert "the store has 4 users" in capsys.readouterr().err


def test_the_command_compares_with_the_recordings(small_store_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    simulate = load("simulate")

    out = tmp_path / "rec"
    assert simulate.main(["--agent", "reference_shopper", "--against", "recorded", "--personas", "2", "--episodes",
                          "2", "--source", str(small_store_dir), "--out", str(out), "--quiet", "--bootstrap", "30",
                          "--no-reference-law"]) == 0
    assert "recorded sessions" in capsys.readouterr().out
    payload = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert payload["against"] == "recorded" and payload["runs"]["reference"] is None
    assert not (out / "reference").exists()
    assert payload["comparison"]["overall"]["sessions"]["reference"] == payload["reference_run"]["recorded_sessions"]
