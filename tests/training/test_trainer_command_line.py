"""The trainers' command lines refuse bad input in one line, before anything loads (``training.options``).

The table of every command line is ``tests/test_command_lines.py``; here are the trainer parser's
own cases: ``--config`` spellings and files, the library warnings of a refused command line, and
``check_inputs``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from training import grpo, sft


def _refusal(capsys: pytest.CaptureFixture, parse, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        parse(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exited.value.code == 2 and len(err) == 1, err
    return err[0]


def test_config_files_missing_malformed_or_spelt_with_equals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert "--config needs a FILE.yaml" in _refusal(capsys, sft.parse_args, ["--config"])
    assert f"--config {tmp_path}: is a directory" in _refusal(capsys, sft.parse_args, ["--config", str(tmp_path)])
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rate: [1\n")
    assert f"--config {bad}: not YAML" in _refusal(capsys, sft.parse_args, ["--config", str(bad)])
    bad.write_text("- a list\n")
    assert "must contain a YAML mapping" in _refusal(capsys, sft.parse_args, ["--config", str(bad)])
    good = tmp_path / "good.yaml"
    good.write_text("learning_rate: 3.0e-4\n")
    assert sft.parse_args([f"--config={good}"])[1].learning_rate == 3e-4  # TRL reads only "--config FILE"


def test_an_abbreviated_flag_is_refused_and_the_libraries_warnings_are_not_printed(
        capsys: pytest.CaptureFixture) -> None:
    # The defaults pass gradient_checkpointing, which transformers 5 warns about: not on a refusal.
    line = _refusal(capsys, sft.parse_args, ["--learning_rat", "1e-5"])
    assert line.startswith("training/sft.py: error: ") and "'--learning_rat', '1e-5'" in line
    assert sft.parse_args(["--learning_rate", "1e-5"])[1].learning_rate == 1e-5


def test_check_inputs_refuses_what_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 tiny_model_dir: Path, small_store_dir: Path) -> None:
    missing = str(tmp_path / "missing")
    checked = lambda argv: sft.parse_args(argv, check_inputs=True)  # noqa: E731 - what __main__ calls
    assert f"--source {missing}: no such directory" in _refusal(capsys, checked, ["--source", missing])
    assert f"--model_name_or_path {missing}:" in _refusal(capsys, checked, ["--model_name_or_path", missing])
    assert "--resume_from_checkpoint latest: no checkpoint-N" in _refusal(
        capsys, checked, ["--output_dir", str(tmp_path), "--resume_from_checkpoint", "latest"])
    assert sft.parse_args(["--source", missing])[0].source == missing  # parsed only: no check
    project, _, model = checked(["--source", str(small_store_dir), "--model_name_or_path", str(tiny_model_dir)])
    assert project.source == str(small_store_dir) and model.model_name_or_path == str(tiny_model_dir)
    # GRPO starts from a finished SFT run unless --rl_only.
    grpo_checked = lambda argv: grpo.parse_args(argv, check_inputs=True)  # noqa: E731
    assert "no finished SFT run" in _refusal(capsys, grpo_checked, ["--model_name_or_path", str(tiny_model_dir)])
    assert grpo_checked(["--rl_only", "--model_name_or_path", str(tiny_model_dir)])[0].rl_only
