"""Chat backends: turn chat conversations into completion texts.

A backend has ``generate(conversations, params=None) -> list[Generation]``. It never raises for
one bad generation: that item comes back with ``error`` set (and usually empty ``text``), so a
rollout keeps going and counts it. Two are built in, each importing its heavy dependency lazily:

* :class:`~agents.backends.transformers_backend.TransformersBackend`: a local model in process;
* :class:`~agents.backends.openai_backend.OpenAIBackend`: any OpenAI-compatible HTTP endpoint.

Example:
    >>> SamplingParams(temperature=0.0).greedy
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Protocol, Sequence

Conversation = Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class SamplingParams:
    """How to generate.

    Attributes:
        max_new_tokens: Most tokens to generate per completion.
        temperature: 0 for greedy decoding, else the sampling temperature.
        top_p: Nucleus sampling mass (sampling only).
        seed: Seed of the sampling; the same seed and inputs give the same outputs.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def with_overrides(self, **overrides: Any) -> "SamplingParams":
        """A copy with the given fields replaced (None values ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Generation:
    """One completion, or the reason there is none.

    Attributes:
        text: The generated text ("" when generation failed).
        error: Why generation failed, or None.
        finish_reason: ``stop`` (end of turn) or ``length`` (hit max_new_tokens), when known.
        prompt_tokens: Prompt length in tokens, when known.
        completion_tokens: Generated tokens, when known.
    """

    text: str
    error: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ChatBackend(Protocol):
    """What :class:`agents.prompting.PromptingAgent` needs from a backend."""

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams | None = None) -> list[Generation]:
        """One :class:`Generation` per conversation, in order; failures are items, not raises."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready configuration for result files."""
        ...


__all__ = ["ChatBackend", "Conversation", "Generation", "SamplingParams"]
