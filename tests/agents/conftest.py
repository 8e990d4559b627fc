"""Shared fixtures of the agent tests: a tiny random chat model."""

from __future__ import annotations

import pytest

from customer_env.prompt import SYSTEM_PROMPT

_PAGES = [
    '<div name="nav_bar"><input name="nav_bar.search_input"/></div><div name="reviews">4.5 stars</div>',
    '<div name="search_result.red_mug.product_title">Red mug</div>',
]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random Llama-architecture chat model with a BPE tokenizer trained on prompt-like text."""
    from training.tiny_model import TinyModelSpec, build_tiny_model

    texts = [SYSTEM_PROMPT, *_PAGES, '{"rationale": "I like it.", "action": {"type": "click", "name": "reviews"}}'] * 3
    spec = TinyModelSpec(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048)
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts=texts, seed=0, spec=spec)
