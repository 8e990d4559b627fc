"""Fixtures of the training tests: a tiny model built on the small test store.

Fixtures:
    tiny_spec: A model shape small enough that a training step takes milliseconds on a CPU.
    tiny_model_dir: A tiny model and tokenizer built (once per session) on the small store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.tiny_model import TinyModelSpec

#: Prompt budget of the training smoke runs, in the tiny tokenizer's tokens.
SMOKE_PROMPT_TOKENS = 2048


@pytest.fixture(scope="session")
def tiny_spec() -> TinyModelSpec:
    return TinyModelSpec(vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=SMOKE_PROMPT_TOKENS + 256,
                         corpus_prompt_tokens=SMOKE_PROMPT_TOKENS)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, small_store: Any, tiny_spec: TinyModelSpec) -> Path:
    from training.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", store=small_store, spec=tiny_spec)
