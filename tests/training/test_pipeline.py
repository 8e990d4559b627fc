"""The embedded default pipeline: trains once (tiny model -> pretrain -> SFT -> GRPO), then reuses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import pipeline
from agents.checkpoint import SUMMARY_FILE, resolve_checkpoint
from training.pipeline import PipelineConfig, ensure_checkpoint
from training.tiny_model import TinyModelSpec

pytestmark = pytest.mark.slow

#: A recipe small enough for a test: few sessions, a tiny model, two SFT steps, one GRPO step.
SMALL = PipelineConfig(
    page_scale=0.02,
    max_prompt_tokens=2048,
    sessions=4,
    model=TinyModelSpec(vocab_size=1024, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048 + 256,
                        page_scale=0.02, corpus_sessions=4),
    pretrain_examples=4,
    pretrain={"max_steps": 1, "per_device_train_batch_size": 4, "logging_steps": 1},
    sft_examples=8,
    grpo_examples=4,
    sft={"max_steps": 2, "per_device_train_batch_size": 4, "logging_steps": 1},
    grpo={"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 4, "max_completion_length": 16,
          "logging_steps": 1, "fast_generation": True},
)


def test_trains_once_then_reuses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    sft_dir = ensure_checkpoint("sft", progress=False, config=SMALL)
    recipe = json.loads((sft_dir / SUMMARY_FILE).read_text())["conditions"]["recipe"]
    assert recipe["training"]["output_dir"] == str(sft_dir)
    assert "# Model Card for sft" in (sft_dir / "README.md").read_text()  # not the temporary directory's name

    def no_training(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the cached SFT checkpoint should have been reused")

    monkeypatch.setattr("training.sft.main", no_training)
    r1_dir = ensure_checkpoint("customer_r1", progress=False, config=SMALL)  # GRPO only: SFT is cached
    assert r1_dir.parent == sft_dir.parent and r1_dir.name == "customer_r1"
    assert not list(sft_dir.glob("checkpoint-*"))  # intermediate checkpoints are not cached
    assert json.loads((r1_dir / SUMMARY_FILE).read_text())["start"] == str(sft_dir)

    monkeypatch.setattr("training.grpo.main", no_training)
    assert ensure_checkpoint("customer_r1", progress=False, config=SMALL) == r1_dir
    summary = json.loads((r1_dir.parent / "pipeline_summary.json").read_text())
    assert {"tiny_model", "export", "pretrain", "sft", "grpo"} <= set(summary["stage_seconds"])
    pretrained = json.loads((r1_dir.parent / "pretrain" / SUMMARY_FILE).read_text())
    assert pretrained["conditions"]["recipe"]["training"]["completion_only_loss"] is False
    assert json.loads((sft_dir / SUMMARY_FILE).read_text())["base_model"] == str(r1_dir.parent / "pretrain")
    assert summary["data"]["kept"] + sum(summary["data"]["skipped"].values()) == summary["data"]["rows"]
    assert summary["provenance"]["fingerprints"]["dataset"] == summary["dataset_fingerprint"]
    # Each checkpoint says what it was trained on: the resolver reads it for evaluation.
    conditions = resolve_checkpoint(r1_dir).conditions
    assert conditions.data.is_embedded and conditions.data.page_scale == SMALL.page_scale
    assert (conditions.kind, conditions.max_prompt_tokens, conditions.max_completion_length) == (
        "customer_r1", SMALL.max_prompt_tokens, SMALL.grpo["max_completion_length"])


def test_the_recipe_keys_the_cache() -> None:
    assert SMALL.key("store-a") == SMALL.key("store-a")
    assert SMALL.key("store-a") != SMALL.key("store-b")
    assert PipelineConfig().key("store-a") != SMALL.key("store-a")
    with pytest.raises(ValueError, match="unknown checkpoint kind"):
        ensure_checkpoint("dpo", config=SMALL)
    assert pipeline.AGENT_NEW_TOKENS + PipelineConfig().max_prompt_tokens == PipelineConfig().model.max_position_embeddings
