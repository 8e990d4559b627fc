"""A chat LLM as an agent, through the prompt every trainer and the environment share.

:class:`PromptingAgent` turns each observation into messages with
``customer_env.prompt.build_messages`` and returns the backend's text *as generated*: the
environment parses and scores it, so an unparsable answer is a format failure there, not an
error here. A failed generation (the backend gave up) yields its text (usually ""), which the
environment scores the same way. Both are counted in :attr:`PromptingAgent.stats`.

Example:
    >>> agent = make_prompting_agent(backend="openai", model="gpt-4.1")  # doctest: +SKIP
    >>> agent = make_prompting_agent(model="path/to/model", temperature=0.7, seed=1)  # doctest: +SKIP
    >>> agent.act(observation)  # doctest: +SKIP
    '{"rationale": "...", "action": {"type": "click", "name": "..."}}'
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Mapping, Sequence

from agents.backends import ChatBackend, Generation, SamplingParams
from agents.base import BaseAgent, Observation
from agents.registry import forwards_kwargs
from customer_env.prompt import SYSTEM_PROMPT, build_messages

logger = logging.getLogger(__name__)


class PromptingAgent(BaseAgent):
    """Ask a chat model for the next action.

    Args:
        backend: Any :class:`~agents.backends.ChatBackend`.
        params: Sampling parameters (default: the backend's own).
        system_prompt: Override for experiments only; the default is what training uses.
        name: A label for result files.
        constrain_actions: Constrain the action's name to the page's names while decoding
            (:mod:`agents.constraints`). Off by default: free generation is the paper's setting.

    Attributes:
        stats: ``requests``, ``generation_failures`` (the backend gave up), ``truncated`` (hit
            max_new_tokens), ``errors`` (Counter of failure messages, first 80 characters), and,
            from the environment's step ``info`` passed to :meth:`observe` (rollout does),
            ``unparsable`` (the answer is not format-valid) and ``ungrounded`` (format-valid, but
            its element is not on the page).
    """

    def __init__(self, backend: ChatBackend, *, params: SamplingParams | None = None,
                 system_prompt: str = SYSTEM_PROMPT, name: str = "prompting",
                 constrain_actions: bool = False) -> None:
        self.backend = backend
        self.constrain_actions = constrain_actions
        self.params = params
        self.system_prompt = system_prompt
        self.name = name
        self.stats: dict[str, Any] = {"requests": 0, "generation_failures": 0, "unparsable": 0,
                                      "ungrounded": 0, "truncated": 0, "errors": Counter()}

    def act(self, observation: Observation) -> str:
        return self.act_batch([observation])[0]

    def act_batch(self, observations: Sequence[Observation]) -> list[str]:
        conversations = [build_messages(o, self.system_prompt) for o in observations]
        try:
            if self.constrain_actions:
                from agents.constraints import ActionConstraint

                constraints = [ActionConstraint.from_observation(o) for o in observations]
                generations = self.backend.generate(conversations, self.params, constraints=constraints)
            else:
                generations = self.backend.generate(conversations, self.params)
        except Exception as exc:  # noqa: BLE001 - a broken backend must not end the rollout
            logger.warning("backend %s raised %s: %s", type(self.backend).__name__, type(exc).__name__, exc)
            generations = [Generation("", error=f"{type(exc).__name__}: {exc}")] * len(conversations)
        if len(generations) != len(conversations):
            message = f"backend returned {len(generations)} generations for {len(conversations)} prompts"
            generations = [Generation("", error=message)] * len(conversations)
        texts = []
        for observation, generation in zip(observations, generations):
            self._count(observation, generation)
            texts.append(generation.text)
        return texts

    def _count(self, observation: Observation, generation: Generation) -> None:
        self.stats["requests"] += 1
        if generation.error is not None:
            self.stats["generation_failures"] += 1
            self.stats["errors"][generation.error[:80]] += 1
            return
        if generation.finish_reason == "length":
            self.stats["truncated"] += 1

    def observe(self, info: Mapping[str, Any]) -> None:
        """Count the environment's verdict on the last answer (it parsed it once; no re-parse here)."""
        if not info.get("parse_ok", True):
            self.stats["unparsable"] += 1
        elif info.get("grounded") is False:
            self.stats["ungrounded"] += 1

    def describe(self) -> dict[str, Any]:
        stats = {**self.stats, "errors": dict(self.stats["errors"].most_common(10))}
        return {"class": type(self).__name__, "name": self.name, "backend": self.backend.describe(),
                "params": self.params.as_dict() if self.params else None,
                "constrain_actions": self.constrain_actions, "stats": stats}


#: The chat backends by name, imported on use.
BACKENDS = {"transformers": "agents.backends.transformers_backend:TransformersBackend",
            "openai": "agents.backends.openai_backend:OpenAIBackend"}


def backend_target(arguments: Mapping[str, Any]) -> Any:
    """What ``make_prompting_agent(**arguments)`` passes its ``**backend_kwargs`` to: the named
    backend's class (``"module:attribute"``); a backend object takes none.

    Raises:
        ValueError: for an unknown backend name.
    """
    name = arguments.get("backend", "transformers")
    if not isinstance(name, str):
        return _takes_nothing
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    return BACKENDS[name]


def _takes_nothing() -> None:
    """A backend object is used as it is: it takes no backend arguments."""


def make_backend(backend: str = "transformers", model: Any = None, *, tokenizer: Any = None,
                 params: SamplingParams | None = None, **kwargs: Any) -> ChatBackend:
    """Build a backend by name: ``transformers`` (model id / path / object) or ``openai``.

    Raises:
        ValueError: for an unknown backend name or a missing model.
    """
    if model is None:
        raise ValueError("a model is required (an id or local path; for openai the served model name)")
    if backend == "transformers":
        from agents.backends.transformers_backend import TransformersBackend

        return TransformersBackend(model, tokenizer, params=params, **kwargs)
    if backend == "openai":
        from agents.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(str(model), params=params, **kwargs)
    raise ValueError(f"unknown backend {backend!r}; expected 'transformers' or 'openai'")


@forwards_kwargs(choose=backend_target, fills=("model", "tokenizer", "params"))
def make_prompting_agent(backend: str | ChatBackend = "transformers", model: Any = None, *,
                         tokenizer: Any = None, max_new_tokens: int = 256, temperature: float = 0.0,
                         top_p: float = 1.0, seed: int = 0, name: str | None = None,
                         constrain_actions: bool = False, **backend_kwargs: Any) -> PromptingAgent:
    """The ``prompting`` agent of the registry.

    Args:
        backend: ``transformers``, ``openai``, or a backend object.
        model: Model id, path or object (transformers), or the served model's name (openai).
        tokenizer: Tokenizer object for a model object (transformers only).
        max_new_tokens, temperature, top_p, seed: Sampling (temperature 0: greedy).
        name: Label for result files (default: the model).
        constrain_actions: Constrain action names to the page's names (see :class:`PromptingAgent`).
        **backend_kwargs: Passed to the backend (``batch_size``, ``device``, ``base_url``,
            ``max_concurrency``, ...).
    """
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)
    if isinstance(backend, str):
        backend = make_backend(backend, model, tokenizer=tokenizer, params=params, **backend_kwargs)
    return PromptingAgent(backend, params=params, name=name or str(model or "prompting"),
                          constrain_actions=constrain_actions)
