"""How OperaEnv's constructor options are checked and resolved into what an episode needs.

Kept apart from :mod:`customer_env.env` so the environment's module reads as its dynamics;
every function here raises a ``ValueError`` that names the offending option.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

from customer_env.constants import SURVEY_SECTIONS
from customer_env.data.spec import StoreSpec
from customer_env.data.persona import persona_from_survey
from customer_env.prompt import HFTokenCounter, TokenCounter, default_counter
from customer_env.records import Persona, Step
from customer_env.rewards import REWARD_PRESETS

PersonaSpec = Union[str, Mapping[str, Any], Persona, None]
RewardSpec = Union[str, Callable[..., Any]]


def is_scored(step: Step) -> bool:
    """Whether the agent predicts this step: a click or input on a named element, or terminate.

    Example:
        >>> from customer_env.records import Action
        >>> is_scored(Step("s", "a", 0, "t", Action("scroll")))
        False
    """
    action = step.action
    return action.is_predictable and (action.type == "terminate" or bool(action.name))


def _open(store: Any, **store_options: Any) -> Any:
    """The given store (checked against ``variant`` and ``split``), or the one a spec names.

    ``store`` is an opened store, a :class:`~customer_env.data.spec.StoreSpec`, or None; the
    keyword options (``source``, ``variant``, ``split``, ``revision``, ``page_scale``, ``strict``;
    None when not given) are the spec's fields, written out as ``gym.make`` keywords.
    """
    given = {k: v for k, v in store_options.items() if v is not None and v is not False}
    if store is None:
        return StoreSpec(**given).open()
    if isinstance(store, StoreSpec):
        if given:
            raise ValueError(f"give either store=StoreSpec(...) or its options {sorted(given)}, not both")
        return store.open()
    opening = sorted(set(given) - {"variant", "split"})
    if opening:
        raise ValueError(f"give either store= or the options that open one ({', '.join(opening)}=), not both")
    for option in ("variant", "split"):
        value = given.get(option)
        if value is not None and value != getattr(store, option, value):
            raise ValueError(f"{option}={value!r} but the given store holds {getattr(store, option)!r}")
    return store


def _check_choice(option: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{option}={value!r} is not one of {list(choices)}")


def _reward_config(reward: RewardSpec, config: Any) -> Any:
    """The config object ``compute_reward`` takes; a dict gives the fields of a preset's config."""
    if not isinstance(config, Mapping):
        return config
    config_cls = REWARD_PRESETS[reward][1] if isinstance(reward, str) else None
    if config_cls is None:
        if isinstance(reward, str):
            raise ValueError(f"reward preset {reward!r} takes no reward_config, got {sorted(config)}")
        return dict(config)  # a custom reward callable gets the mapping as it is
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown {config_cls.__name__} field(s) {unknown}; known: {sorted(known)}")
    return config_cls(**config)


def _token_counter(tokenizer: Any) -> Any:
    if tokenizer is None:
        return default_counter()
    if isinstance(tokenizer, str):
        from transformers import AutoTokenizer  # heavy: only when a tokenizer is named

        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    if isinstance(tokenizer, TokenCounter) and not hasattr(tokenizer, "encode"):
        return tokenizer  # already a token counter
    return HFTokenCounter(tokenizer)


def _resolve_persona(persona: PersonaSpec, store: Any) -> tuple[str | None, str | None]:
    """(the user whose sessions to replay, or None for all; the counterfactual persona text)."""
    if persona is None:
        return None, None
    if isinstance(persona, Persona):
        return None, persona.to_text()
    if isinstance(persona, Mapping):
        if not any(section in persona for section in SURVEY_SECTIONS):
            raise ValueError(f"a persona dict must be survey-shaped, with at least one of the sections "
                             f"{list(SURVEY_SECTIONS)}; got keys {sorted(persona)[:8]}")
        return None, persona_from_survey("custom", persona).to_text()
    if isinstance(persona, str):
        if persona in store.users:
            return persona, None
        if not persona.strip() or len(persona.split()) == 1:
            raise ValueError(f"persona={persona!r} is not a user of this store ({len(store.users)} "
                             "users); pass a user id from store.users, or persona text (several words)")
        return None, persona.strip()
    raise TypeError(f"persona must be None, a user id, a survey dict, a Persona or text; "
                    f"got {type(persona).__name__}")


def _select_sessions(store: Any, user_id: str | None, sessions: Sequence[str] | int | None) -> list[str]:
    if user_id is not None:
        pool = [session.session_id for session in store.sessions_of(user_id)]
    else:
        pool = list(store.session_ids)
    if sessions is None:
        chosen = pool
    elif isinstance(sessions, (int, np.integer)) and not isinstance(sessions, bool):
        if sessions <= 0:
            raise ValueError(f"sessions={sessions} must be a positive count or a list of ids")
        count = min(int(sessions), len(pool))
        chosen = [pool[int(i)] for i in np.linspace(0, len(pool) - 1, count).round()] if count else []
    else:
        known = set(pool)
        missing = [sid for sid in sessions if sid not in known]
        if missing:
            scope = f"user {user_id!r}" if user_id is not None else "this store"
            raise ValueError(f"{len(missing)} session id(s) not in {scope}, e.g. {missing[0]!r}")
        chosen = list(dict.fromkeys(sessions))
    if not chosen:
        raise ValueError(f"no session to replay (store {store.description!r}, persona user "
                         f"{user_id!r}, sessions={sessions!r})")
    unscored = [sid for sid in chosen if not any(map(is_scored, store.session(sid).steps))]
    if unscored:
        raise ValueError(f"{len(unscored)} selected session(s) have no action to predict (no click, "
                         f"input or terminate), e.g. {unscored[0]!r}; select other sessions")
    return chosen


def _derangement(users: Sequence[str], seed: int) -> dict[str, str]:
    """Map every user to a different one: a cycle through a seeded random order of the users."""
    if len(users) < 2:
        raise ValueError(f"persona_mode='shuffled' needs at least two users, the store has {len(users)}")
    order = [users[i] for i in np.random.default_rng(seed).permutation(len(users))]
    return {user: order[(k + 1) % len(order)] for k, user in enumerate(order)}
