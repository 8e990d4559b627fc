"""The embedded benchmark's ceiling: ``oracle`` and ``oracle_shuffled_persona``.

**These agents use hidden state no agent has.** At every step of a session of a store this
project's generator wrote (the embedded store, or a store from ``python -m
customer_env.synthetic``), :class:`OracleAgent` replays the generator's own walk of that session
up to the step, from its true state (the shopper's intent, whether the visit buys, its
engagement, how many products it will examine, the cart, what it viewed), and answers with the
most probable next action of the walk from there
(:meth:`customer_env.synthetic.fork.GeneratorFork.next_action`: exact by enumeration, see there
for what is sampled). No observation shows that state, so the score is an upper bound for the
store, not a baseline: a model matches it only by inferring those latent draws.

``oracle_shuffled_persona`` continues from the same true state with another user's behaviour
profile (the same derangement of users as the environment's ``persona_mode="shuffled"``): the
gap between the two is what knowing the persona is worth at best.

The agent knows its session from ``reset(info)`` (``session_id``, ``step_index``) and counts
steps from there (following the step info's ``scored_step_index`` where ``observe`` gets it);
each observation's URL is checked against the replayed step, so an agent that lost count fails
loudly. It keeps per-session state, so it has no ``act_batch`` (rollout plays
one session at a time). It refuses what it cannot replay with a one-line error: the hub's real
OPeRA, a directory that is not a generated store, another generator version, the full variant,
a session the generator did not write.

Example:
    >>> import agents
    >>> oracle = agents.make("oracle")                      # doctest: +SKIP
    >>> oracle.reset({"session_id": sid, "step_index": 0})  # doctest: +SKIP
    >>> oracle.act(observation)                             # doctest: +SKIP
    '{"rationale": "...", "action": {"type": "click", "name": "nav_bar.search_input"}}'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from agents.base import Observation
from agents.registry import forwards_kwargs
from customer_env.actions import format_completion
from customer_env.synthetic.fork import METHODS, GenerationInputs, GeneratorFork
from customer_env.synthetic.rows import page_url

ORACLE_NOTE = "uses the generator's hidden session state, which no agent observes"


def _from_manifest(root: Path) -> GenerationInputs:
    try:
        return GenerationInputs.from_store(root)
    except ValueError as error:
        raise ValueError(f"oracle: {error}") from None


def _generation_inputs(store: Any, source: Any, store_dir: Any) -> GenerationInputs:
    """What the evaluated store was generated from, or a one-line ValueError."""
    if store_dir is not None:
        return _from_manifest(Path(store_dir))
    if source == "hub":
        raise ValueError("oracle: source='hub' is the real OPeRA, which has no generator to fork; the oracle "
                         "replays stores written by customer_env.synthetic (the embedded store or a generated one)")
    if source not in (None, "embedded"):
        return _from_manifest(Path(source))
    from customer_env.data.embedded import DEFAULT_SESSIONS, DEFAULT_USERS

    # Every embedded store (any page scale) is generated from these; pages do not change sessions.
    return GenerationInputs(seed=0, users=DEFAULT_USERS, sessions=DEFAULT_SESSIONS)


class OracleAgent:
    """The generator's most probable next action from the session's true hidden state.

    Args:
        store: An opened store of the same source (rollout passes the training store): its
            variant must be ``filtered`` and its sessions must be the generator's.
        source: The data source: None / ``"embedded"`` or a generated store's directory.
        seed: Seeds sampled continuations (enumeration, the default, needs none).
        shuffled_persona: Continue with another user's profile (``oracle_shuffled_persona``).
        shuffle_seed: Seed of the user derangement (the environment's ``shuffle_seed``).
        method: ``"enumerate"`` (exact) or ``"sample"``.
        samples: Continuations per step for ``"sample"`` (and the enumeration's fallback).
        store_dir: A generated store's directory, overriding ``source``.

    Raises:
        ValueError: A source, store or option it cannot replay (one line each).
    """

    def __init__(
        self,
        store: Any = None,
        source: Any = None,
        seed: int = 0,
        *,
        shuffled_persona: bool = False,
        shuffle_seed: int = 0,
        method: str = "enumerate",
        samples: int = 256,
        store_dir: str | Path | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"oracle: method must be one of {METHODS}, got {method!r}")
        if samples < 1:
            raise ValueError(f"oracle: samples must be >= 1, got {samples}")
        variant = getattr(store, "variant", "filtered")
        if variant != "filtered":
            raise ValueError(f"oracle: replays the filtered variant only (its steps are the walk's), got {variant!r}")
        self.inputs = _generation_inputs(store, source, store_dir)
        self.fork = GeneratorFork(self.inputs)
        if store is not None:
            foreign = [sid for sid in store.session_ids if sid not in set(self.fork.session_ids)]
            if foreign:
                raise ValueError(f"oracle: {len(foreign)} sessions of the store (e.g. {foreign[0]!r}) are not the "
                                 f"generator's for {self.inputs}; pass store_dir= the store's directory")
        self.seed, self.method, self.samples = seed, method, samples
        self.shuffled_persona, self.shuffle_seed = shuffled_persona, shuffle_seed
        self._donors: dict[str, str] = {}
        if shuffled_persona:
            from customer_env.env_options import _derangement  # the environment's shuffled mode

            self._donors = _derangement(sorted(self.fork.profiles), shuffle_seed)
        self._session: str | None = None
        self._step = 0

    def reset(self, info: Mapping[str, Any] | None = None) -> None:
        """Start a session: ``info`` is the environment's reset info (``session_id``, ``step_index``).

        Raises:
            ValueError: No session id, or a session the generator did not write.
        """
        session_id = (info or {}).get("session_id")
        if not session_id:
            raise ValueError("oracle: reset(info) needs the environment's info with its 'session_id'")
        try:
            planned = self.fork.planned(str(session_id))
        except KeyError as error:
            raise ValueError(f"oracle: {error.args[0]}") from None
        step = int((info or {}).get("step_index", 0))
        if not 0 <= step < len(planned.sim.steps):
            raise ValueError(f"oracle: step_index {step} is not a step of session {session_id!r}")
        self._session, self._step = str(session_id), step

    def act(self, observation: Observation) -> str:
        """The wire JSON of the most probable next action of the walk at the current step."""
        if self._session is None:
            raise RuntimeError("oracle: act() before reset(info): it needs the session id the environment gives")
        planned = self.fork.planned(self._session)
        if self._step >= len(planned.sim.steps):
            raise RuntimeError(f"oracle: session {self._session!r} has {len(planned.sim.steps)} steps; "
                               "act() was called after its last one")
        step = planned.sim.steps[self._step]
        url = observation.get("url")
        if url and url != page_url(step.view, self.fork.catalogue):
            raise RuntimeError(f"oracle: out of step in session {self._session!r}: the observation shows {url!r}, "
                               f"step {self._step} of the replay is on another page")
        donor = self._donors.get(planned.user.user_id) if self.shuffled_persona else None
        law = self.fork.next_action(self._session, self._step, persona_user_id=donor, method=self.method,
                                    samples=self.samples, seed=self.seed)
        self._step += 1
        action, probability = law.outcomes[0]
        rationale = (f"Oracle ({ORACLE_NOTE}): the walk's most probable next action, p={probability:.2f} "
                     f"({law.method} over {law.paths} continuations).")
        return format_completion(action, rationale)

    def observe(self, info: Mapping[str, Any]) -> None:
        """After each step: follow the environment's count (the step it scored) where it gives one."""
        scored = info.get("scored_step_index")
        if self._session is not None and isinstance(scored, int) and info.get("session_id") in (None, self._session):
            self._step = scored + 1

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "hidden_state": ORACLE_NOTE, "method": self.method,
                "samples": self.samples if self.method == "sample" else None, "seed": self.seed,
                "shuffled_persona": self.shuffled_persona,
                "shuffle_seed": self.shuffle_seed if self.shuffled_persona else None,
                "generation": dict(vars(self.inputs))}


@forwards_kwargs(OracleAgent, fills=("shuffled_persona",))
def make_shuffled_persona_oracle(
    store: Any = None, source: Any = None, seed: int = 0, **kwargs: Any
) -> OracleAgent:
    """``oracle_shuffled_persona``: :class:`OracleAgent` continuing with another user's profile."""
    return OracleAgent(store=store, source=source, seed=seed, shuffled_persona=True, **kwargs)
