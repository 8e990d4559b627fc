"""Every command line refuses bad input in one line on stderr, with exit status 2, before any work.

Each case runs a command line's real entry point in this process (``runpy``: the script's
``if __name__ == "__main__"`` block, or ``python -m``'s module), with ``sys.argv`` set. What
would be heavy work (opening or generating a store, building or loading a model or a trainer,
training the default pipeline, exporting step data) raises :class:`HeavyWork`, and the cache
directory must stay empty: a refusal that comes after any of it fails the test. The bad inputs
are the kinds a user types: an abbreviated or unknown flag, an invalid choice, a missing file or
directory, an unknown agent, an unfinished checkpoint, a count out of range.

:func:`test_every_command_line_is_in_the_table` finds every entry point in the repository, so a
new command line cannot go untested.
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Command lines run as ``python -m MODULE``; the others as ``python PATH``.
MODULES = {"training/evaluate_pipeline.py": "training.evaluate_pipeline", "agents/merge.py": "agents.merge",
           "agents/serve.py": "agents.serve", "customer_env/export.py": "customer_env.export",
           "customer_env/synthetic/__main__.py": "customer_env.synthetic",
           "customer_env/data/measure.py": "customer_env.data.measure",
           **{f"benchmarks/{name}.py": f"benchmarks.{name}"
              for name in ("data_load", "env_throughput", "grpo_rollout", "prompt_budget", "shop_render")},
           "agents/simulation_report.py": "agents.simulation_report"}
SCRIPTS = ["examples/rollout.py", "examples/compare.py", "examples/score_predictions.py", "examples/view.py",
           "examples/simulate.py",
           "examples/third_party_agent.py", "training/sft.py", "training/grpo.py", "training/profile_grpo_step.py"]
MISSING = "/nonexistent/customer-r1-test"


class HeavyWork(AssertionError):
    """Work a refused command line must not have started."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise HeavyWork(f"{what} was called before the command line was refused")

    return refuse


@pytest.fixture
def no_heavy_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every loader of data, models and trainers raises :class:`HeavyWork`; a fresh, empty cache."""
    import transformers

    import agents.checkpoint
    import customer_env.data.embedded
    import customer_env.data.hub
    import customer_env.data.local
    import customer_env.synthetic
    import customer_env.synthetic.generate
    import training.pipeline
    import training.step_data
    import training.tiny_model
    from customer_env.data.spec import StoreSpec

    for owner, name in [(StoreSpec, "open"), (customer_env.data.local.LocalSource, "__init__"),
                        (customer_env.data.hub.HubSource, "__init__"),
                        (customer_env.data.embedded, "embedded_store_dir"),
                        (customer_env.synthetic, "generate_store"), (customer_env.synthetic.generate, "generate_store"),
                        (training.pipeline, "ensure_checkpoint"), (training.tiny_model, "tiny_base_model_dir"),
                        (training.step_data, "load_step_data"), (agents.checkpoint, "load_model"),
                        (agents.checkpoint, "load_checkpoint"), (transformers.PreTrainedModel, "__init__"),
                        (transformers.Trainer, "__init__")]:
        monkeypatch.setattr(owner, name, _refuse(f"{getattr(owner, '__name__', owner)}.{name}"))
    cache = tmp_path / "cache"
    monkeypatch.setenv("CUSTOMER_R1_CACHE", str(cache))
    monkeypatch.chdir(ROOT)
    return cache


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Inputs that exist but are wrong: an interrupted training run, a model with no summary."""
    root = tmp_path_factory.mktemp("bad_inputs")
    (root / "interrupted" / "checkpoint-2").mkdir(parents=True)
    (root / "interrupted" / "checkpoint-2" / "config.json").write_text("{}")
    (root / "no_summary").mkdir()
    (root / "no_summary" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (root / "empty.jsonl").write_text("")
    return {"INTERRUPTED": str(root / "interrupted"), "NO_SUMMARY": str(root / "no_summary"),
            "OUT": str(root / "out"), "JSONL": str(root / "empty.jsonl")}


#: (command line, argv, the text its one error line must contain). Kinds: abbreviated flag, choice,
#: missing file or directory, unknown agent, unusable checkpoint, count out of range.
CASES = [
    ("examples/rollout.py", ["--agent", "random", "--sess", "2"], "unrecognized arguments: --sess 2"),
    ("examples/rollout.py", ["--agent", "random", "--persona-mode", "fake"], "--persona-mode: invalid choice: 'fake'"),
    ("examples/rollout.py", ["--agent", "nosuch"], "unknown agent 'nosuch'"),
    ("examples/rollout.py", ["--agent", "random", "--source", MISSING], f"--source {MISSING}: no such directory"),
    ("examples/rollout.py", ["--agent", "sft", "--checkpoint", MISSING], f"checkpoint directory {MISSING} does not"),
    ("examples/rollout.py", ["--agent", "sft", "--checkpoint", "INTERRUPTED"], "is an unfinished training run"),
    ("examples/rollout.py", ["--agent", "sft", "--checkpoint", "NO_SUMMARY"], "allow_unfinished=True"),
    ("examples/rollout.py", ["--agent", "random", "--sessions", "0"], "--sessions: expected a positive integer"),
    ("examples/rollout.py", ["--agent", "random", "--agent-arg", "seed"], "--agent-arg expects KEY=VALUE"),
    ("examples/compare.py", ["--agents", "random,nosuch", "--out", "OUT"], "unknown agent 'nosuch'"),
    ("examples/compare.py", ["--agents", "random", "--sess", "2", "--out", "OUT"], "unrecognized arguments: --sess"),
    ("examples/compare.py", ["--agents", "random", "--split", "fake", "--out", "OUT"], "--split: invalid choice"),
    ("examples/compare.py", ["--agents", "random", "--source", MISSING, "--out", "OUT"], f"--source {MISSING}"),
    ("examples/compare.py", ["--agent", f"sft:checkpoint={MISSING}", "--out", "OUT"], f"directory {MISSING} does not"),
    ("examples/compare.py", ["--agent", "sft:checkpoint=INTERRUPTED", "--out", "OUT"], "unfinished training run"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--pers", "2"], "unrecognized arguments: --pers 2"),
    ("examples/simulate.py", ["--agent", "nosuch", "--out", "OUT"], "unknown agent 'nosuch'"),
    ("examples/simulate.py", ["--agent", "random:colour=red", "--out", "OUT"], "takes no option 'colour'"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--against", "fake"], "--against: invalid choice"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--personas", "0"],
     "--personas: expected a positive integer"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--page-scale", "-1"], "--page-scale: expected a"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--source", MISSING], f"--source: {MISSING}: no such"),
    ("examples/simulate.py", ["--agent", "sft", "--checkpoint", MISSING, "--out", "OUT"], f"directory {MISSING} does not"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--agent-arg", "seed"], "--agent-arg expects KEY=VALUE"),
    ("examples/simulate.py", ["--agent", "random", "--out", "OUT", "--resume", "--overwrite"], "exclude each other"),
    ("examples/score_predictions.py", [f"{MISSING}.jsonl"], f"{MISSING}.jsonl: no such file"),
    ("examples/score_predictions.py", ["JSONL", "--only"], "unrecognized arguments: --only"),
    ("examples/score_predictions.py", ["JSONL", "--source", MISSING], f"--source {MISSING}: no such directory"),
    ("examples/view.py", [MISSING], f"{MISSING}: no such run directory"),
    ("examples/view.py", [MISSING, "--skip"], "unrecognized arguments: --skip"),
    ("examples/third_party_agent.py", ["--sess", "1"], "unrecognized arguments: --sess 1"),
    ("examples/third_party_agent.py", ["--source", MISSING], f"--source {MISSING}: no such directory"),
    ("training/sft.py", ["--learning_rat", "1e-5", "--output_dir", "OUT"], "'--learning_rat', '1e-5'"),
    ("training/sft.py", ["--persona_mode", "fake", "--output_dir", "OUT"], "--persona-mode: invalid choice: 'fake'"),
    ("training/sft.py", ["--config", f"{MISSING}.yaml"], f"--config {MISSING}.yaml: no such file"),
    ("training/sft.py", ["--model_name_or_path", MISSING], f"--model_name_or_path {MISSING}: checkpoint directory"),
    ("training/sft.py", ["--source", MISSING], f"--source {MISSING}: no such directory"),
    ("training/sft.py", ["--resume_from_checkpoint", MISSING], f"--resume_from_checkpoint {MISSING}: no such"),
    ("training/grpo.py", ["--learning_rat", "1e-5", "--rl_only"], "'--learning_rat', '1e-5'"),
    ("training/grpo.py", ["--reward_preset", "fake"], "--reward-preset: invalid choice: 'fake'"),
    ("training/grpo.py", ["--model_name_or_path", MISSING], "train the SFT run first"),
    ("training/grpo.py", ["--model_name_or_path", "NO_SUMMARY"], "no finished SFT run at"),
    ("training/grpo.py", ["--config", f"{MISSING}.yaml", "--rl_only"], f"--config {MISSING}.yaml: no such file"),
    ("training/evaluate_pipeline.py", ["--boot", "10"], "unrecognized arguments: --boot 10"),
    ("training/evaluate_pipeline.py", ["--source", MISSING], f"--source {MISSING}: no such directory"),
    ("training/evaluate_pipeline.py", ["--sessions", "0"], "--sessions: expected a positive integer, got 0"),
    ("training/profile_grpo_step.py", ["--prompt_tok", "8"], "'--prompt_tok', '8'"),
    ("training/profile_grpo_step.py", ["--shape", "fake"], "--shape: invalid choice: 'fake'"),
    ("benchmarks/data_load.py", ["--rep", "1"], "unrecognized arguments: --rep 1"),
    ("benchmarks/data_load.py", ["--store", MISSING], f"--store: {MISSING}: no such directory"),
    ("benchmarks/env_throughput.py", ["--store", MISSING], f"--store: {MISSING}: no such directory"),
    ("benchmarks/env_throughput.py", ["--clock", "fake"], "--clock: invalid choice: 'fake'"),
    ("benchmarks/env_throughput.py", ["--rep", "1"], "unrecognized arguments: --rep 1"),
    ("benchmarks/env_throughput.py", ["--bs4-parsers", "fake"], "--bs4-parsers must name some of"),
    ("benchmarks/prompt_budget.py", ["--store", MISSING], f"--store: {MISSING}: no such directory"),
    ("benchmarks/prompt_budget.py", ["--budgets", "x"], "--budgets: 'x' is not a comma-separated list"),
    ("benchmarks/prompt_budget.py", ["--sess", "2"], "unrecognized arguments: --sess 2"),
    ("benchmarks/shop_render.py", ["--store", MISSING], f"--store: {MISSING}: no such directory"),
    ("benchmarks/shop_render.py", ["--rep", "1"], "unrecognized arguments: --rep 1"),
    ("benchmarks/shop_render.py", ["--law-sessions", "-1"], "--law-sessions: expected an integer >= 0"),
    ("agents/simulation_report.py", [MISSING], f"{MISSING}: no such directory"),
    ("agents/simulation_report.py", [".", "--fo"], "unrecognized arguments: --fo"),
    ("benchmarks/grpo_rollout.py", ["--shape", "fake"], "--shape: invalid choice: 'fake'"),
    ("benchmarks/grpo_rollout.py", ["--rep", "1"], "unrecognized arguments: --rep 1"),
    ("customer_env/export.py", ["--out", "OUT", "--source", MISSING], f"--source {MISSING}: no such directory"),
    ("customer_env/export.py", ["--out", "OUT", "--sess", "1"], "unrecognized arguments: --sess 1"),
    ("customer_env/export.py", ["--out", "OUT", "--persona-mode", "fake"], "--persona-mode: invalid choice"),
    ("customer_env/export.py", ["--out", "OUT", "--tokenizer", MISSING], f"--tokenizer {MISSING}: cannot be loaded"),
    ("customer_env/synthetic/__main__.py", ["--out", "OUT", "--sess", "1"], "unrecognized arguments: --sess 1"),
    ("customer_env/synthetic/__main__.py", ["--out", "OUT", "--users", "x"], "--users: invalid int value: 'x'"),
    ("customer_env/data/measure.py", ["--source", MISSING], f"--source {MISSING}: no such directory"),
    ("customer_env/data/measure.py", ["--no-p"], "unrecognized arguments: --no-p"),
    ("agents/merge.py", [MISSING, "--out", "OUT"], f"shard {MISSING}: "),
    ("agents/merge.py", [MISSING, "--out", "OUT", "--over"], "unrecognized arguments: --over"),
    ("agents/serve.py", ["--model", MISSING], f"--model {MISSING}: checkpoint directory"),
    ("agents/serve.py", ["--model", MISSING, "--host", "8.8.8.8"], "refusing to bind to '8.8.8.8'"),
    ("agents/serve.py", ["--model", MISSING, "--max-new", "4"], "unrecognized arguments: --max-new 4"),
]


def _run(command: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int | str | None:
    """Run the command line's entry point as ``python`` would; its exit status."""
    monkeypatch.setattr(sys, "argv", [command, *argv])
    try:
        if command in MODULES:
            runpy.run_module(MODULES[command], run_name="__main__", alter_sys=False)
        else:
            runpy.run_path(str(ROOT / command), run_name="__main__")
    except SystemExit as exited:
        return exited.code
    return None


@pytest.mark.filterwarnings("ignore:.*found in sys.modules after import of package:RuntimeWarning")  # runpy, -m
@pytest.mark.parametrize("command, argv, message", CASES, ids=[f"{c}:{' '.join(a)}" for c, a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2_before_any_work(command: str, argv: list[str], message: str,
                                                          paths: dict[str, str], no_heavy_work: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    argv = [paths.get(a, a) for a in argv]
    argv = [re.sub(r"(?<=checkpoint=)[A-Z_]+$", lambda m: paths.get(m.group(0), m.group(0)), a) for a in argv]
    code = _run(command, argv, monkeypatch)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(err) == 1 and message in err[0] and ": error: " in err[0], err
    assert not no_heavy_work.exists() or not any(no_heavy_work.iterdir())  # nothing cached: no store, no model
    assert not Path(paths["OUT"]).exists()  # nothing written


def test_every_command_line_is_in_the_table() -> None:
    found = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("tests/", ".")) or "/." in relative:
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "__main__.py" or re.search(r'^if __name__ == "__main__":', text, re.M):
            found.add(relative)
    assert found == set(MODULES) | set(SCRIPTS)
    assert {c for c, _, _ in CASES} == found
    abbreviated = {c for c, a, m in CASES if "unrecognized arguments" in m or "'--" in m}
    assert abbreviated == found  # every command line refuses an abbreviated flag


@pytest.mark.slow
def test_a_refused_trainer_command_line_exits_2_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """The headline case end to end: ``--learning_rat`` once silently started a run."""
    import os

    env = {**os.environ, "CUSTOMER_R1_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "training/sft.py", "--learning_rat", "1e-5", "--max_steps", "1",
                           "--output_dir", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "training/sft.py: error: Some specified arguments are not used by the HfArgumentParser: "
        "['--learning_rat', '1e-5']"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
