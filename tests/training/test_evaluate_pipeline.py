"""training.evaluate_pipeline: every agent, the ceiling rows, paired intervals, evaluation.json's shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training import evaluate_pipeline
from training.evaluate_pipeline import gap_closed, session_bootstrap


def test_session_bootstrap_and_gap_closed():
    per_session = {"a": [1.0, 1.0], "b": [0.0, 0.0, 0.0, 1.0]}
    whole = session_bootstrap(per_session, n_bootstrap=500)
    assert whole["value"] == pytest.approx(3 / 6) and whole["low"] <= whole["value"] <= whole["high"]
    assert session_bootstrap(per_session, n_bootstrap=0) == {"value": 0.5, "low": 0.5, "high": 0.5}
    assert gap_closed(0.3, 0.2, 0.6) == pytest.approx(0.25)
    assert gap_closed(0.3, 0.2, None) is None and gap_closed(0.3, 0.2, 0.1) is None


@pytest.mark.slow
def test_writes_evaluation_json_in_the_documented_shape(tmp_path, monkeypatch, tiny_model_dir, small_store_dir):
    """A finished (two-step) SFT run behind sft and customer_r1, the real oracles, the documented file."""
    from training import sft
    from tests.training.conftest import SMOKE_PROMPT_TOKENS

    run = sft.main(*sft.options(model_name_or_path=str(tiny_model_dir), output_dir=str(tmp_path / "sft"),
                                source=str(small_store_dir), max_prompt_tokens=SMOKE_PROMPT_TOKENS,
                                max_completion_length=128, max_examples=8, max_steps=2, per_device_train_batch_size=2,
                                gradient_accumulation_steps=1, learning_rate=1e-3, warmup_steps=0, bf16=False))
    monkeypatch.setattr("training.pipeline.ensure_checkpoint", lambda kind, **kw: Path(run))
    tmp_path = tmp_path / "eval"
    # The small store's train split: its test split has one user, too few for a shuffled persona.
    results = evaluate_pipeline.main(["--out", str(tmp_path), "--source", str(small_store_dir), "--split", "train",
                                      "--sessions", "4", "--bootstrap", "50"])
    written = json.loads((tmp_path / "evaluation.json").read_text())
    assert written == json.loads(json.dumps(results))
    names = {"frequency", "persona_frequency", "markov", "persona_markov", "sft", "customer_r1",
             "customer_r1 (no persona)", "customer_r1 (shuffled persona)"}
    assert set(written["agents"]) == names and set(written["ceiling"]) == {"oracle", "oracle_shuffled_persona"}
    for entry in [*written["agents"].values(), *written["ceiling"].values()]:
        for metric in ("exact_match", "reward"):
            assert set(entry[metric]) == {"value", "low", "high"}
            assert entry[metric]["low"] <= entry[metric]["value"] <= entry[metric]["high"]
        assert 0 <= entry["exact_match"]["value"] <= 1 and isinstance(entry["distinct_answers"], int)
    assert all(entry["uses_hidden_state"] for entry in written["ceiling"].values())
    best = written["best_baseline"]
    assert written["agents"][best]["exact_match"]["value"] == max(
        written["agents"][b]["exact_match"]["value"] for b in evaluate_pipeline.BASELINES)
    pairs = {(p["a"], p["b"]) for p in written["paired"]}
    assert {("sft", best), ("customer_r1", "sft"), ("customer_r1", "customer_r1 (shuffled persona)"),
            ("oracle", "oracle_shuffled_persona")} <= pairs
    for pair in written["paired"]:
        assert pair["low"] <= pair["diff"] <= pair["high"]
    assert {"frequency", "sft", "oracle", "total"} <= set(written["wall_s"])
    assert written["provenance"]["checkpoints"] and np.isfinite(written["agents"]["sft"]["reward"]["value"])


def _stand_in_checkpoints(monkeypatch, tmp_path):
    """The pipeline's two checkpoint agents replaced by the markov agent: no training, no model."""
    import agents
    from agents import registry
    from agents.baselines import MarkovAgent

    monkeypatch.setattr("training.pipeline.ensure_checkpoint", lambda kind, **kw: tmp_path / kind)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    for name in ("sft", "customer_r1"):
        agents.register(name, lambda store=None, **kw: MarkovAgent(store=store), overwrite=True)


def test_the_real_oracles_are_the_ceiling_rows_and_close_no_gap_of_their_own(tmp_path, monkeypatch, small_store_dir):
    _stand_in_checkpoints(monkeypatch, tmp_path)
    out = tmp_path / "eval"
    # The small store's train split: its test split has one user, too few for a shuffled persona.
    results = evaluate_pipeline.main(["--out", str(out), "--source", str(small_store_dir), "--split", "train",
                                      "--sessions", "4", "--bootstrap", "20"])
    written = json.loads((out / "evaluation.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert set(written["ceiling"]) == {"oracle", "oracle_shuffled_persona"}
    assert not set(written["ceiling"]) & set(written["agents"])  # a ceiling is never a competitor
    oracle = written["ceiling"]["oracle"]["exact_match"]["value"]
    best = written["agents"][written["best_baseline"]]["exact_match"]["value"]
    assert written["provenance"]["ceiling_available"] is True
    for entry in written["agents"].values():
        expected = None if oracle <= best else (entry["exact_match"]["value"] - best) / (oracle - best)
        assert entry["gap_closed"] == (pytest.approx(expected) if expected is not None else None)
        assert all(0 <= v <= 1 for v in entry["by_type"].values())
    assert ("oracle", "oracle_shuffled_persona") in {(p["a"], p["b"]) for p in written["paired"]}
    assert not (out / "evaluation.json.tmp").exists() and [p.name for p in out.iterdir()] == ["evaluation.json"]


def test_data_the_generator_did_not_write_has_no_ceiling_row_and_says_why(tmp_path, monkeypatch, small_store_dir):
    import agents

    _stand_in_checkpoints(monkeypatch, tmp_path)

    def refuse(**_):
        raise ValueError("oracle: not a generated store")

    for name in ("oracle", "oracle_shuffled_persona"):
        agents.register(name, refuse, overwrite=True)
    results = evaluate_pipeline.main(["--source", str(small_store_dir), "--split", "train", "--sessions", "4",
                                      "--bootstrap", "0"])
    assert results["ceiling"] == {} and results["provenance"]["ceiling_available"] is False
    assert "no ceiling row oracle: oracle: not a generated store" in results["notes"]
    assert all(entry["gap_closed"] is None for entry in results["agents"].values())
    assert "customer_r1 (shuffled persona)" in results["agents"]
