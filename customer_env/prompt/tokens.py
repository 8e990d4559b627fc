"""Token counters for the prompt budget.

The renderer needs to know how many tokens a piece of text costs. Two counters are provided:

* :class:`CharRatioCounter` (the default) estimates ``ceil(len(text) / chars_per_token)``. The
  default ratio, 3.0 characters per token, is deliberately pessimistic for the text we render:
  compressed Amazon pages are dominated by long underscore-separated slugs, prices and ratings,
  and Qwen2-family tokenizers split every digit into its own token, so real ratios on these pages
  are about 3.3-4.5. Over-counting only wastes a little context; under-counting would overflow it.
* :class:`HFTokenCounter` counts exactly with a Hugging Face tokenizer (no special tokens added).
  Use it when the model is known: it is what training and evaluation should use.

Example:
    >>> CharRatioCounter().count("abcdef")
    2
    >>> default_counter().count("")
    0
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

#: Characters per token assumed by the default estimator (see the module docstring).
DEFAULT_CHARS_PER_TOKEN = 3.0


@runtime_checkable
class TokenCounter(Protocol):
    """Anything that can count the tokens of a text."""

    def count(self, text: str) -> int:
        """The number of tokens ``text`` costs (no special tokens)."""
        ...


class CharRatioCounter:
    """Fast, tokenizer-free estimate: ``ceil(len(text) / chars_per_token)``.

    Args:
        chars_per_token: Assumed characters per token; smaller is more conservative.

    Example:
        >>> CharRatioCounter(chars_per_token=4.0).count("x" * 9)
        3
    """

    def __init__(self, chars_per_token: float = DEFAULT_CHARS_PER_TOKEN) -> None:
        if chars_per_token <= 0:
            raise ValueError(f"chars_per_token must be positive, got {chars_per_token}")
        self.chars_per_token = float(chars_per_token)

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def __repr__(self) -> str:
        return f"CharRatioCounter(chars_per_token={self.chars_per_token})"


class HFTokenCounter:
    """Exact counts with a Hugging Face tokenizer, without special tokens.

    Recent results are memoised (bounded LRU) because the renderer counts the same system
    prompt, persona and history many times while it searches for the largest page that fits.

    Args:
        tokenizer: A ``transformers`` tokenizer (anything with ``encode(text,
            add_special_tokens=False)``).
        cache_size: How many distinct texts to remember.

    Example:
        >>> from transformers import AutoTokenizer  # doctest: +SKIP
        >>> HFTokenCounter(AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B-Instruct")).count("hi")  # doctest: +SKIP
        1
    """

    def __init__(self, tokenizer: Any, cache_size: int = 256) -> None:
        if not hasattr(tokenizer, "encode"):
            raise TypeError(f"tokenizer must have an encode() method, got {type(tokenizer).__name__}")
        self.tokenizer = tokenizer
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size

    def count(self, text: str) -> int:
        if not text:
            return 0
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        n = len(self.tokenizer.encode(text, add_special_tokens=False))
        self._cache[text] = n
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return n

    def __repr__(self) -> str:
        return f"HFTokenCounter({type(self.tokenizer).__name__})"


def default_counter() -> TokenCounter:
    """The counter used when none is given: :class:`CharRatioCounter` with the default ratio."""
    return CharRatioCounter()
