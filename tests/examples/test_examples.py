"""The example scripts end to end on the small generated store."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rollout_script_writes_samples_and_results(small_store_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code = load("rollout").main(["--agent", "frequency", "--source", str(small_store_dir), "--sessions", "1",
                                 "--out", str(out), "--bootstrap", "20"])
    printed = capsys.readouterr().out
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    results = json.loads((out / "results.json").read_text())
    assert code == 0 and samples and results["agent_name"] == "frequency"
    assert results["config"]["data"]["split"] == "test" and results["metrics"]["n_steps"] == len(samples)
    assert printed.count(" | agent ") == len(samples)  # one line per step without --quiet
    assert "| exact_match |" in printed


def test_rollout_script_quiet_and_agent_args(small_store_dir, capsys):
    load("rollout").main(["--agent", "random", "--source", str(small_store_dir), "--sessions", "1", "--quiet",
                          "--bootstrap", "0", "--agent-arg", 'input_texts=["mug"]', "--seed", "3"])
    printed = capsys.readouterr().out
    assert " | agent " not in printed and "| format_validity | 100.00 |" in printed


def test_compare_writes_a_table_and_a_plot(small_store_dir, tmp_path, capsys):
    out = tmp_path / "cmp"
    load("compare").main(["--agents", "random,frequency", "--ablations", "--source", str(small_store_dir),
                          "--sessions", "2", "--split", "train", "--bootstrap", "0", "--out", str(out)])
    table = (out / "comparison.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| random") or line.startswith("| frequency")]
    assert len(rows) == 6 and "| frequency [shuffled] |" in table
    assert (out / "distributions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table.strip() in capsys.readouterr().out
    steps = {json.loads((d / "results.json").read_text())["metrics"]["n_steps"] for d in out.iterdir() if d.is_dir()}
    assert len(steps) == 1  # every run replayed the same steps


@pytest.mark.parametrize("argv, message", [
    (["--agents", "random,nosuch"], "unknown agent 'nosuch'; available: "),
    (["--agents", "random", "--agent", "customer_r1:checkpont=runs/x"], "agent 'customer_r1' takes no option 'checkpont'"),
    (["--agent", "random:seed=many"], "agent 'random': option 'seed' expects an integer, got 'many'"),
    (["--agents", "random,frequency", "--baseline", "persona_frequency"], "--baseline 'persona_frequency' is none"),
    (["--agents", "random,random"], "two runs would both be labelled 'random'"),
])
def test_compare_checks_every_agent_before_any_run(small_store_dir, tmp_path, capsys, argv, message):
    out = tmp_path / "cmp"
    code = load("compare").main([*argv, "--source", str(small_store_dir), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.strip().count("\n") == 0 and message in captured.err
    assert captured.out == "" and not out.exists()  # nothing ran, nothing written


def test_compare_with_options_labels_baseline_intervals_and_plots(small_store_dir, tmp_path, capsys):
    out = tmp_path / "cmp"
    code = load("compare").main(["--agents", "frequency", "--agent", "random:seed=1", "--agent", "random:seed=2",
                                 "--baseline", "frequency", "--source", str(small_store_dir), "--split", "train",
                                 "--sessions", "6", "--bootstrap", "50", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    table = (out / "comparison.md").read_text()
    assert "| random[seed=1] | " in table and "| random[seed=2] | " in table and "| minus frequency |" in table
    assert "WARNING: only 6 sessions evaluated" in table and table.strip() in captured.out
    summary = json.loads((out / "comparison.json").read_text())
    assert set(summary["paired"]) == {"random[seed=1]", "random[seed=2]"}
    assert summary["paired"]["random[seed=1]"]["baseline"] == "frequency"
    assert summary["runs"]["random[seed=2]"]["options"] == {"seed": 2}
    diff = summary["paired"]["random[seed=1]"]["difference"]["exact_match"]
    runs = summary["runs"]
    assert diff["value"] == pytest.approx(runs["random[seed=1]"]["headline"]["exact_match"]["value"]
                                          - runs["frequency"]["headline"]["exact_match"]["value"])
    results = json.loads((out / "random_seed_2" / "results.json").read_text())
    assert results["label"] == "random[seed=2]" and results["agent"]["class"] == "RandomAgent"
    for png in ("distributions.png", "exact_match.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for label in ("frequency", "random[seed=1]", "random[seed=2]"):  # each progress bar names its run
        assert f"{label}: " in captured.err


def test_rollout_script_checks_agent_args_first(small_store_dir, capsys):
    code = load("rollout").main(["--agent", "random", "--source", str(small_store_dir), "--agent-arg", "sed=1"])
    captured = capsys.readouterr()
    assert code == 2 and "rollout.py: error: agent 'random' takes no option 'sed'" in captured.err
    assert captured.out == ""


def test_score_predictions_counts_every_problem(small_store_dir, tmp_path, capsys):
    from customer_env.data import open_store

    store = open_store(str(small_store_dir), split="train")  # the test split has one session
    sid = store.session_ids[0]
    steps = store.session(sid).steps
    lines = [json.dumps({"session_id": sid, "step_index": s.index, "rationale": "mine",
                         "action": s.action.to_wire()}) for s in steps]
    lines[0] = json.dumps({"session_id": sid, "step_index": 0,
                           "completion": json.dumps({"rationale": "r", "action": steps[0].action.to_wire()})})
    lines += ["not json {", json.dumps({"session_id": sid}), json.dumps([1, 2]),
              lines[1],                                                       # duplicate
              json.dumps({"session_id": "nobody", "step_index": 0, "action": {"type": "terminate"}}),  # extra
              json.dumps({"session_id": sid, "step_index": 999, "action": {"type": "terminate"}}),     # extra
              ""]
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.json"
    load("score_predictions").main([str(path), "--source", str(small_store_dir), "--split", "train",
                                    "--only-predicted-sessions",
                                    "--bootstrap", "0", "--out", str(out)])
    printed = capsys.readouterr().out
    n = len(steps)
    assert f"malformed line {n + 1}: not JSON" in printed and f"malformed line {n + 2}: " in printed
    assert f"duplicate line {n + 4}" in printed and "extra: nobody step 0" in printed
    scores = json.loads(out.read_text())
    assert scores["counts"] == {"scored": n, "missing": 0, "extra": 2, "duplicates": 1, "malformed": 3,
                                "invalid": 0, "ungrounded": 0}
    assert scores["metrics"]["headline"]["exact_match"]["value"] == 1.0  # the gold actions, copied

    # Without --only-predicted-sessions every other session's steps are missing: failures.
    load("score_predictions").main([str(path), "--source", str(small_store_dir), "--split", "train", "--bootstrap", "0",
                                    "--out", str(out)])
    scores = json.loads(out.read_text())
    total = sum(len(store.session(s)) for s in store.session_ids)
    assert scores["counts"]["missing"] == total - n and scores["counts"]["scored"] == total
    assert scores["metrics"]["headline"]["exact_match"]["value"] == pytest.approx(n / total)


def test_third_party_agent_example_runs(small_store_dir, capsys):
    assert load("third_party_agent").main(["--sessions", "1", "--source", str(small_store_dir)]) == 0
    printed = capsys.readouterr().out
    assert "total reward" in printed and "| exact_match |" in printed


@pytest.fixture
def pipeline_like_checkpoint(tmp_path, monkeypatch):
    """A tiny checkpoint whose summary says it was trained on the embedded store at page scale 0.02 with a
    1024-token budget, standing in for the pipeline's default ``customer_r1`` checkpoint."""
    import shutil

    import agents.checkpoint
    from agents.checkpoint import SUMMARY_FILE, TrainingConditions
    from customer_env.data import embedded
    from customer_env.data.spec import StoreSpec
    from training.tiny_model import TinyModelSpec, build_tiny_model

    monkeypatch.setattr(embedded, "DEFAULT_USERS", 3)  # a small "embedded" store: generated in a second
    monkeypatch.setattr(embedded, "DEFAULT_SESSIONS", 8)
    spec = TinyModelSpec(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1536)
    model = build_tiny_model(tmp_path / "model", texts=['<div name="reviews">x</div> {"action": "click"}'] * 20,
                             spec=spec)
    run = tmp_path / "customer_r1"
    shutil.copytree(model, run)
    conditions = TrainingConditions(kind="customer_r1", data=StoreSpec(page_scale=0.02), max_prompt_tokens=1024,
                                    max_completion_length=64, tokenizer=str(model))
    (run / SUMMARY_FILE).write_text(json.dumps({"kind": "customer_r1", "conditions": conditions.to_dict()}))
    monkeypatch.setattr(agents.checkpoint, "default_checkpoint", lambda kind: run)
    return run


@pytest.mark.slow
def test_rollout_and_compare_evaluate_a_checkpoint_the_same_way(pipeline_like_checkpoint, tmp_path, capsys):
    common = ["--split", "train", "--sessions", "2", "--bootstrap", "0"]
    load("rollout").main(["--agent", "customer_r1", "--quiet", "--out", str(tmp_path / "roll"),
                          "--agent-arg", "max_new_tokens=8", *common])
    printed = capsys.readouterr().out
    assert "[rollout] evaluating on the embedded store at page scale 0.02" in printed
    load("compare").main(["--agents", "frequency", "--agent", "customer_r1:max_new_tokens=8",
                          "--out", str(tmp_path / "cmp"), *common])
    assert "[compare] evaluating on the embedded store at page scale 0.02" in capsys.readouterr().out
    rolled = json.loads((tmp_path / "roll" / "results.json").read_text())
    compared = json.loads((tmp_path / "cmp" / "customer_r1" / "results.json").read_text())
    for results in (rolled, compared):
        assert results["config"]["data"]["page_scale"] == 0.02 and results["env"]["max_prompt_tokens"] == 1024
        assert results["env"]["max_prompt_tokens_from"] == "checkpoint"
    assert rolled["metrics"]["headline"] == compared["metrics"]["headline"]
    samples = [[json.loads(line)["completion"] for line in (d / "samples.jsonl").read_text().splitlines()]
               for d in (tmp_path / "roll", tmp_path / "cmp" / "customer_r1")]
    assert samples[0] == samples[1]  # the same prompts, so the same answers
    # The frequency baseline was evaluated on the same pages.
    assert json.loads((tmp_path / "cmp" / "frequency" / "results.json").read_text())["config"]["data"]["page_scale"] == 0.02


def test_an_explicit_page_scale_is_kept_and_the_difference_noted(pipeline_like_checkpoint):
    from agents.rollout import RolloutConfig, plan_evaluation
    from customer_env.data.spec import StoreSpec

    plan = plan_evaluation(RolloutConfig(data=StoreSpec(page_scale=0.05)),
                           {"customer_r1": ("customer_r1", {}), "frequency": ("frequency", {})})
    assert plan.config.data.page_scale == 0.05 and set(plan.checkpoints) == {"customer_r1"}
    assert plan.notes == ["customer_r1 was trained at page scale 0.02, evaluated at 0.05"]
    assert plan.agent_kwargs["customer_r1"]["checkpoint"] == str(pipeline_like_checkpoint)
    untouched = plan_evaluation(RolloutConfig(), {"frequency": ("frequency", {})})
    assert untouched.config == RolloutConfig() and untouched.notes == [] and not untouched.checkpoints


def test_checkpoints_trained_at_different_scales_need_a_choice(pipeline_like_checkpoint, tmp_path):
    import shutil

    from agents.checkpoint import SUMMARY_FILE
    from agents.rollout import RolloutConfig, plan_evaluation

    other = tmp_path / "other"
    shutil.copytree(pipeline_like_checkpoint, other)
    summary = json.loads((other / SUMMARY_FILE).read_text())
    summary["conditions"]["data"]["page_scale"] = 0.1
    (other / SUMMARY_FILE).write_text(json.dumps(summary))
    with pytest.raises(ValueError, match=r"different page scales \(customer_r1: 0.02, sft: 0.1\)"):
        plan_evaluation(RolloutConfig(), {"customer_r1": ("customer_r1", {}), "sft": ("sft", {"checkpoint": str(other)})})
