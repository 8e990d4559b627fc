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
                                "invalid": 0}
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
