"""Agents that predict a shopper's next action, all behind one interface.

An agent is any object with ``act(observation) -> str`` (the Customer-R1 wire JSON). Built in:
``random``, ``frequency`` and ``persona_frequency`` (model-free floors), ``prompting`` (any chat
model through a transformers or OpenAI-compatible backend), ``sft`` and ``customer_r1`` (trained
checkpoints). ``agents.rollout`` runs any of them through the OPeRA environment.

Example:
    >>> import agents
    >>> agent = agents.make("random", seed=0)
    >>> agent.act({"persona": "", "history": "", "url": "", "page": "", "actionable_names": ""})
    '{"rationale": "I pick something at random.", "action": {"type": "terminate"}}'
"""

from __future__ import annotations

from agents.base import Agent, BaseAgent
from agents.registry import available, make, register

__all__ = ["Agent", "BaseAgent", "available", "make", "register"]
