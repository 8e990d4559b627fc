"""Agents by name: ``make``, ``register``, ``available``.

Built-in agents are registered as ``"module:attribute"`` strings and imported on first use, so
that listing or making a model-free agent never imports torch or transformers.

A factory that passes its ``**kwargs`` on to another callable says where with
:func:`forwards_kwargs`, so that agent options can be checked against the whole chain of
signatures before anything is built (``agents.agent_spec``).

Example:
    >>> import agents
    >>> "frequency" in agents.available()
    True
    >>> agents.register("leave", lambda **kw: LeaveAgent(), overwrite=True)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TypeVar

from agents.base import Agent

AgentFactory = Callable[..., Agent]

_BUILTIN: dict[str, str] = {
    "random": "agents.baselines:RandomAgent",
    "frequency": "agents.baselines:FrequencyAgent",
    "persona_frequency": "agents.baselines:PersonaFrequencyAgent",
    "markov": "agents.baselines:MarkovAgent",
    "persona_markov": "agents.baselines:PersonaMarkovAgent",
    "prompting": "agents.prompting:make_prompting_agent",
    "sft": "agents.checkpoint:make_sft_agent",
    "customer_r1": "agents.checkpoint:make_customer_r1_agent",
    "oracle": "agents.oracle:OracleAgent",
    "oracle_shuffled_persona": "agents.oracle:make_shuffled_persona_oracle",
    "reference_shopper": "agents.reference_shopper:ReferenceShopperAgent",
}

_REGISTRY: dict[str, AgentFactory | str] = dict(_BUILTIN)

#: Agents that read the generator's hidden session state (``agents.oracle``), which no
#: observation shows: ceiling rows in every table (``agents.compare``,
#: ``training.evaluate_pipeline``), never competitors or baselines.
HIDDEN_STATE_AGENTS: frozenset[str] = frozenset({"oracle", "oracle_shuffled_persona"})
#: How a table marks their rows.
CEILING_MARK = "ceiling: uses hidden state"

_F = TypeVar("_F", bound=Callable[..., Any])
#: A callable, or where to import it from (``"module:attribute"``).
Target = Callable[..., Any] | str


@dataclass(frozen=True)
class KwargsForwarding:
    """Where a factory's ``**kwargs`` go (declared with :func:`forwards_kwargs`).

    Attributes:
        target: The callable that receives them, or its ``"module:attribute"`` (None with ``choose``).
        choose: Picks the target from the arguments given to the factory (e.g. by a backend
            name); raises ValueError for a bad choice.
        fills: The target's parameters that the factory sets itself (a caller cannot set them).
    """

    target: Target | None = None
    choose: Callable[[Mapping[str, Any]], Target] | None = None
    fills: frozenset[str] = frozenset()

    def resolve(self, given: Mapping[str, Any]) -> Callable[..., Any]:
        """The callable that receives the ``**kwargs`` of a factory called with ``given``."""
        target = self.choose(given) if self.choose is not None else self.target
        if target is None:
            raise ValueError("a kwargs forwarding names no target")
        return _load(target) if isinstance(target, str) else target


def forwards_kwargs(target: Target | None = None, *, choose: Callable[[Mapping[str, Any]], Target] | None = None,
                    fills: Iterable[str] = ()) -> Callable[[_F], _F]:
    """Declare that the decorated factory passes its ``**kwargs`` on to another callable.

    Args:
        target: The receiving callable or its ``"module:attribute"``.
        choose: Instead of ``target``: picks the receiver from the factory's arguments.
        fills: Parameters of the receiver that the factory sets itself.

    Example:
        >>> @forwards_kwargs("agents.prompting:make_prompting_agent", fills=("backend", "model"))
        ... def make_mine(path: str, **kwargs): ...
        >>> sorted(kwargs_forwarding(make_mine).fills)
        ['backend', 'model']
    """
    if (target is None) == (choose is None):
        raise ValueError("forwards_kwargs needs exactly one of target and choose")

    def mark(fn: _F) -> _F:
        fn.__kwargs_forwarding__ = KwargsForwarding(target, choose, frozenset(fills))  # type: ignore[attr-defined]
        return fn

    return mark


def kwargs_forwarding(fn: Callable[..., Any]) -> KwargsForwarding | None:
    """What :func:`forwards_kwargs` declared for ``fn`` (None: undeclared)."""
    declared = getattr(fn, "__kwargs_forwarding__", None)
    return declared if isinstance(declared, KwargsForwarding) else None


def _load(target: str) -> Callable[..., Any]:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def register(name: str, factory: AgentFactory, *, overwrite: bool = False) -> None:
    """Register ``factory(**kwargs) -> Agent`` under ``name``.

    Raises:
        ValueError: when ``name`` is taken and ``overwrite`` is False, or is empty.
        TypeError: when ``factory`` is not callable.
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"agent name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for agent {name!r} must be callable, got {type(factory).__name__}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"agent {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = factory


def available() -> list[str]:
    """Registered agent names, sorted."""
    return sorted(_REGISTRY)


def factory(name: str) -> AgentFactory:
    """The factory registered under ``name`` (a built-in is imported now).

    Raises:
        KeyError: naming the unknown agent and the available ones.
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown agent {name!r}; available: {', '.join(available())}")
    entry = _REGISTRY[name]
    return _load(entry) if isinstance(entry, str) else entry


def make(name: str, **kwargs: Any) -> Agent:
    """Build the agent registered under ``name`` with ``kwargs``.

    Raises:
        KeyError: naming the unknown agent and the available ones.
    """
    return factory(name)(**kwargs)
