"""What an agent is: anything with ``act(observation) -> wire JSON text``.

The environment's observation is a dict of strings (``persona``, ``history``, ``url``, ``page``,
``actionable_names``); the answer is the Customer-R1 wire text, a JSON object with a rationale
and an action (``customer_env.actions.format_completion`` writes one). Nothing else is required
of a third-party agent: rollout calls :meth:`BaseAgent.act_batch` and :meth:`BaseAgent.reset`
only where they exist.

:meth:`BaseAgent.reset` receives the environment's reset ``info`` at the start of each session
(session id, user id, persona mode, ...); :meth:`BaseAgent.observe`, where it exists, the step's
``info`` after each answer (the answer as the environment parsed and scored it). The built-in agents use only what the observation shows,
so that persona ablations affect them exactly as they affect a language model.

Rollout advances several sessions in lockstep for an agent with ``act_batch``, so one batch can
mix observations of different sessions. An agent that keeps per-session state between calls
must therefore either not define ``act_batch`` (rollout then plays one session at a time) or be
run with ``batch_size=1``. Everything the built-in agents need is in the observation.

Example:
    >>> class AlwaysLeave:
    ...     def act(self, observation):
    ...         return '{"rationale": "Nothing here for me.", "action": {"type": "terminate"}}'
    >>> isinstance(AlwaysLeave(), Agent)
    True
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from agents.redaction import redact

Observation = Mapping[str, str]


@runtime_checkable
class Agent(Protocol):
    """The one method every agent has."""

    def act(self, observation: Observation) -> str:
        """The wire JSON text (rationale and action) for one observation."""
        ...


class BaseAgent:
    """Convenience base class: batching by a loop and a no-op reset.

    Subclasses implement :meth:`act`; a model-backed agent overrides :meth:`act_batch` to batch.

    Example:
        >>> class Leave(BaseAgent):
        ...     def act(self, observation):
        ...         return '{"rationale": "", "action": {"type": "terminate"}}'
        >>> len(Leave().act_batch([{}, {}]))
        2
    """

    def act(self, observation: Observation) -> str:
        raise NotImplementedError

    def act_batch(self, observations: Sequence[Observation]) -> list[str]:
        """One completion per observation, in order (default: :meth:`act` in a loop)."""
        return [self.act(observation) for observation in observations]

    def reset(self, info: Mapping[str, Any] | None = None) -> None:
        """Called before each session with the environment's reset ``info`` (may be None)."""

    def observe(self, info: Mapping[str, Any]) -> None:
        """Called after each step with the step's ``info``: the parsed answer (``parse_ok``,
        ``parse_error_code``, ``grounded``, ...), the reward and the gold action. No-op here."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready configuration recorded in rollout results (override to add fields)."""
        return {"class": type(self).__name__}


def act_many(agent: Agent, observations: Sequence[Observation]) -> list[str]:
    """``agent.act_batch`` when it exists, else ``act`` on each observation.

    Raises:
        TypeError: when the agent returns a non-string, or a batch of the wrong length.
    """
    batch = getattr(agent, "act_batch", None)
    outputs = list(batch(observations)) if callable(batch) else [agent.act(o) for o in observations]
    if len(outputs) != len(observations):
        raise TypeError(f"{type(agent).__name__}.act_batch returned {len(outputs)} completions "
                        f"for {len(observations)} observations")
    for text in outputs:
        if not isinstance(text, str):
            raise TypeError(f"{type(agent).__name__} returned {type(text).__name__}, expected the wire JSON str")
    return outputs


def reset_agent(agent: Agent, info: Mapping[str, Any] | None) -> None:
    """Call ``agent.reset`` if it has one, passing ``info`` when the method accepts an argument."""
    reset = getattr(agent, "reset", None)
    if not callable(reset):
        return
    try:
        params = inspect.signature(reset).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: try the common form
        reset(info)
        return
    takes_argument = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)
    reset(info) if takes_argument else reset()


def observe_agent(agent: Agent, info: Mapping[str, Any]) -> None:
    """Call ``agent.observe(info)`` if the agent has one (after each step; see the module docstring)."""
    observe = getattr(agent, "observe", None)
    if callable(observe):
        observe(info)


def describe_agent(agent: Agent) -> dict[str, Any]:
    """The agent's ``describe()`` if it has one, else its class name; credentials in URLs redacted.

    This is what result files record, so a third-party agent's ``base_url`` with a password in
    it is written as ``https://***@host/...`` (see :mod:`agents.redaction`).
    """
    describe = getattr(agent, "describe", None)
    return redact(dict(describe())) if callable(describe) else {"class": type(agent).__name__}
