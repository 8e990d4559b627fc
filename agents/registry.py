"""Agents by name: ``make``, ``register``, ``available``.

Built-in agents are registered as ``"module:attribute"`` strings and imported on first use, so
that listing or making a model-free agent never imports torch or transformers.

Example:
    >>> import agents
    >>> "frequency" in agents.available()
    True
    >>> agents.register("leave", lambda **kw: LeaveAgent(), overwrite=True)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable, Sequence

from agents.base import Agent

AgentFactory = Callable[..., Agent]

_BUILTIN: dict[str, str] = {
    "random": "agents.baselines:RandomAgent",
    "frequency": "agents.baselines:FrequencyAgent",
    "persona_frequency": "agents.baselines:PersonaFrequencyAgent",
    "prompting": "agents.prompting:make_prompting_agent",
    "sft": "agents.checkpoint:make_sft_agent",
    "customer_r1": "agents.checkpoint:make_customer_r1_agent",
}

_REGISTRY: dict[str, AgentFactory | str] = dict(_BUILTIN)


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
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    return entry


def make(name: str, **kwargs: Any) -> Agent:
    """Build the agent registered under ``name`` with ``kwargs``.

    Raises:
        KeyError: naming the unknown agent and the available ones.
    """
    return factory(name)(**kwargs)


def parse_agent_args(pairs: Sequence[str]) -> dict[str, Any]:
    """Agent keyword arguments from ``KEY=VALUE`` pairs (the scripts' ``--agent-arg``); values are JSON
    when they parse (numbers, true, lists), else strings.

    Raises:
        SystemExit: naming a pair without ``=`` or without a key.

    Example:
        >>> parse_agent_args(["batch_size=8", "backend=openai"])
        {'batch_size': 8, 'backend': 'openai'}
    """
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--agent-arg expects KEY=VALUE, got {pair!r}")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs
