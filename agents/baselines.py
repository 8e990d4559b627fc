"""Model-free floors: ``random``, ``frequency`` and ``persona_frequency``.

Every learned agent must beat these. They read only the observation (and, for the frequency
agents, statistics of the training split), and answer in the wire format.

**random** picks uniformly among the page's candidate actions: a click on each actionable name,
an input on each name whose last dotted segment contains ``input`` (e.g. ``nav_bar.search_input``;
the observation does not say which elements take text), and terminate. Its generator is seeded
from ``seed`` and the observation's content, so the same observation always gets the same answer
whatever the order or batching.

**frequency** maps the training split's most common behaviour onto the current page:

1. Action types are tried from the most common in training down; the first one applicable wins
   (terminate always is; a click needs a labelled name on the page; an input needs an input name).
2. A click takes the most common training click type that some page element has, the element's
   type being its gold-standard click type (:class:`customer_env.metrics.ClickTypeLookup` over the
   training clicks). Elements clicked in training are considered first; only when none of the
   page's recorded elements has a training click type do labels guessed from name patterns (last
   / first dotted segment, else ``other``) count. Among the page elements of the chosen type, it
   clicks the one clicked most often in training; ties (and never-clicked names) go to the name
   whose last dotted segment was clicked most often, then to the first on the page.
3. An input targets the page name most often typed into in training (else one whose last dotted
   segment matches a training input's), with that name's most common text (else the overall one).

**persona_frequency** uses the same rule on the statistics of one user's own training sessions,
falling back to the global statistics when the user's do not apply to the page. The observation
carries no user id, so the user is the training user whose persona text equals the observation's
``persona`` (whitespace-normalised). Thus the persona ablations act on it as on a language model:
with no persona or an unknown one it behaves as ``frequency``, with a shuffled persona it follows
the shown persona's user. ``matched_users`` / ``unmatched_personas`` count what happened.

Example:
    >>> agent = RandomAgent(seed=1)
    >>> agent.act({"actionable_names": ""})
    '{"rationale": "I pick something at random.", "action": {"type": "terminate"}}'
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from agents.base import BaseAgent, Observation
from customer_env.actions import format_completion
from customer_env.data.spec import StoreSpec
from customer_env.metrics import ClickTypeLookup
from customer_env.prompt.observation import actionable_names
from customer_env.records import Action, Session

RANDOM_RATIONALE = "I pick something at random."
FREQUENCY_RATIONALE = "This is what shoppers most often do on a page like this."


#: The observation's actionable names, in page order, without blanks or repeats.
page_names = actionable_names


def _is_input_name(name: str) -> bool:
    return "input" in name.rsplit(".", 1)[-1]


def _last_segment(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class RandomAgent(BaseAgent):
    """A uniformly random valid action on the current page (see the module docstring).

    Args:
        seed: Seed; the same seed and observation give the same action.
        input_texts: Texts to type for an input (one drawn at random); default ``("",)``.
    """

    def __init__(self, seed: int = 0, input_texts: Sequence[str] | None = None) -> None:
        self.seed = seed
        self.input_texts = tuple(input_texts) if input_texts else ("",)

    def act(self, observation: Observation) -> str:
        names = page_names(observation)
        candidates = [Action("click", n) for n in names]
        candidates += [Action("input", n, "") for n in names if _is_input_name(n)]
        candidates.append(Action("terminate"))
        rng = random.Random(self._observation_seed(observation))
        action = rng.choice(candidates)
        if action.type == "input":
            action = Action("input", action.name, rng.choice(self.input_texts))
        return format_completion(action, RANDOM_RATIONALE)

    def _observation_seed(self, observation: Observation) -> int:
        digest = hashlib.sha256(str(self.seed).encode())
        for key in sorted(observation):
            digest.update(f"\0{key}\0{observation[key]}".encode())
        return int.from_bytes(digest.digest()[:8], "big")

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "seed": self.seed}


@dataclass
class FrequencyTable:
    """Counts of what shoppers did in a set of training sessions."""

    action_types: Counter = field(default_factory=Counter)
    click_types: Counter = field(default_factory=Counter)
    clicked_names: Counter = field(default_factory=Counter)
    clicked_suffixes: Counter = field(default_factory=Counter)
    input_names: Counter = field(default_factory=Counter)
    input_suffixes: Counter = field(default_factory=Counter)
    input_texts: Counter = field(default_factory=Counter)
    input_texts_by_name: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def from_sessions(cls, sessions: Iterable[Session]) -> "FrequencyTable":
        table = cls()
        for session in sessions:
            for step in session.steps:
                table.add(step.action)
        return table

    def add(self, action: Action) -> None:
        if not action.is_predictable:
            return
        self.action_types[action.type] += 1
        if action.type == "click" and action.name:
            self.click_types[action.click_type or "other"] += 1
            self.clicked_names[action.name] += 1
            self.clicked_suffixes[_last_segment(action.name)] += 1
        elif action.type == "input" and action.name:
            self.input_names[action.name] += 1
            self.input_suffixes[_last_segment(action.name)] += 1
            self.input_texts[action.text or ""] += 1
            self.input_texts_by_name[action.name][action.text or ""] += 1

    def choose(self, names: Sequence[str], lookup: ClickTypeLookup) -> Action | None:
        """The most frequent applicable action on a page with ``names``, or None if none applies."""
        for action_type in _ranked(self.action_types):
            if action_type == "terminate":
                return Action("terminate")
            if action_type == "click":
                # Elements recorded in training first; labels guessed from name patterns second.
                for label_of in (lookup.known.get, lookup.click_type):
                    by_type: dict[str, list[str]] = defaultdict(list)
                    for name in names:
                        by_type[label_of(name)].append(name)
                    for click_type in _ranked(self.click_types):
                        if by_type.get(click_type):
                            return Action("click", self._best(by_type[click_type], self.clicked_names,
                                                              self.clicked_suffixes))
            if action_type == "input":
                targets = [n for n in names if self.input_names[n] or self.input_suffixes[_last_segment(n)]]
                if targets:
                    name = self._best(targets, self.input_names, self.input_suffixes)
                    texts = self.input_texts_by_name.get(name) or self.input_texts
                    return Action("input", name, _ranked(texts)[0] if texts else "")
        return None

    @staticmethod
    def _best(candidates: Sequence[str], by_name: Counter, by_suffix: Counter) -> str:
        order = {name: i for i, name in enumerate(candidates)}
        return max(candidates, key=lambda n: (by_name[n], by_suffix[_last_segment(n)], -order[n]))


def _ranked(counts: Counter) -> list[str]:
    """Keys by descending count, ties by key, so results never depend on insertion order."""
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if counts[k] > 0]


def _open_training_store(store: Any) -> Any:
    """An opened store as it is; a :class:`StoreSpec` opened; None: the embedded train split."""
    if store is None:
        store = StoreSpec(split="train")
    return store.open() if isinstance(store, StoreSpec) else store


class FrequencyAgent(BaseAgent):
    """The training split's most common behaviour, mapped onto the current page.

    Args:
        store: The sessions to count: an opened ``OperaStore``, or a
            :class:`~customer_env.data.spec.StoreSpec` to open (None: the embedded train split).
    """

    def __init__(self, store: Any = None) -> None:
        self.store = _open_training_store(store)
        sessions = list(self.store.iter_sessions())
        self.table = FrequencyTable.from_sessions(sessions)
        self.lookup = ClickTypeLookup.from_sessions(sessions)

    def table_for(self, observation: Observation) -> FrequencyTable | None:
        """A more specific table for this observation (None: the global one only)."""
        return None

    def act(self, observation: Observation) -> str:
        names = page_names(observation)
        specific = self.table_for(observation)
        action = (specific.choose(names, self.lookup) if specific is not None else None) \
            or self.table.choose(names, self.lookup) or Action("terminate")
        return format_completion(action, FREQUENCY_RATIONALE)

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "train_split": self.store.split,
                "train_fingerprint": getattr(self.store, "fingerprint", None),
                "train_steps": sum(self.table.action_types.values())}


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class PersonaFrequencyAgent(FrequencyAgent):
    """:class:`FrequencyAgent` on the statistics of the user whose persona the observation shows."""

    def __init__(self, store: Any = None) -> None:
        super().__init__(store=store)
        sessions_by_user: dict[str, list[Session]] = defaultdict(list)
        for sid in self.store.session_ids:
            session = self.store.session(sid)
            sessions_by_user[session.user_id].append(session)
        self.tables = {user: FrequencyTable.from_sessions(s) for user, s in sessions_by_user.items()}
        by_text: dict[str, set[str]] = defaultdict(set)
        for user_id, user in self.store.users.items():
            text = _normalise(user.persona.to_text())
            if text:
                by_text[text].add(user_id)
        # Two users with one persona text cannot be told apart: such texts match nobody.
        self.persona_index = {text: next(iter(ids)) for text, ids in by_text.items() if len(ids) == 1}
        self.matched_users: Counter = Counter()
        self.unmatched_personas = 0

    def user_for(self, observation: Observation) -> str | None:
        """The training user whose persona text the observation shows, or None."""
        return self.persona_index.get(_normalise(observation.get("persona", "")))

    def table_for(self, observation: Observation) -> FrequencyTable | None:
        user_id = self.user_for(observation)
        if user_id is None:
            self.unmatched_personas += 1
            return None
        self.matched_users[user_id] += 1
        return self.tables.get(user_id)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "users_with_sessions": len(self.tables),
                "matched_steps": sum(self.matched_users.values()), "unmatched_steps": self.unmatched_personas}
