"""Token counters: the default estimate and exact counts through a Hugging Face tokenizer."""

from __future__ import annotations

import math

import pytest

from customer_env.prompt import CharRatioCounter, HFTokenCounter, TokenCounter, default_counter, render_observation
from customer_env.prompt.render import DEFAULT_TEMPLATE_MARGIN


def test_char_ratio_counter_rounds_up():
    counter = CharRatioCounter()
    assert counter.count("") == 0
    assert counter.count("a") == 1
    assert counter.count("x" * 301) == math.ceil(301 / counter.chars_per_token)
    assert CharRatioCounter(4.0).count("x" * 8) == 2
    with pytest.raises(ValueError, match="chars_per_token"):
        CharRatioCounter(0)


def test_default_counter_is_a_token_counter():
    assert isinstance(default_counter(), TokenCounter)


def _word_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {"[UNK]": 0, "<s>": 1, "rice": 2, "cooker": 3}
    model = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    model.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    # A template that would add <s> if special tokens were not turned off.
    model.post_processor = tokenizers.processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]", bos_token="<s>")


def test_hf_counter_counts_without_special_tokens():
    tokenizer = _word_tokenizer()
    counter = HFTokenCounter(tokenizer)
    assert counter.count("rice cooker") == 2
    assert len(tokenizer("rice cooker")["input_ids"]) == 3  # the template really adds one
    assert counter.count("") == 0
    assert counter.count("rice cooker") == 2  # memoised path
    with pytest.raises(TypeError, match="encode"):
        HFTokenCounter(object())


def test_the_renderer_budget_uses_the_given_counter():
    counter = HFTokenCounter(_word_tokenizer())
    rendered = render_observation("I cook rice.", [], '<a name="x">rice cooker</a>', max_tokens=5000,
                                  counter=counter)
    expected = sum(counter.count(m["content"]) for m in rendered.messages) + DEFAULT_TEMPLATE_MARGIN
    assert rendered.prompt_tokens == expected
