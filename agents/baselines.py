"""Model-free floors: ``random``, ``frequency``, ``persona_frequency``, ``markov`` and ``persona_markov``.

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

**markov** is the most common next action given the page kind and the previous action, counted on
the training split: the page kind is read from the URL (:func:`page_kind`: home, search, product,
reviews, cart, checkout, other), the previous action from the last ``Step N:`` line of the
observation's history (:func:`previous_action`; none at a session's start). Contexts are tried
from the most specific down (the previous action's exact name, its :func:`name_pattern`, its type
alone); within one, next actions are tried by count, first as recorded, then by name pattern
mapped onto the first page element with that pattern (a product card never seen in training is
still "the first result's title"). The first that applies to the page wins; when no context of
the page kind applies, the ``frequency`` rule answers (``backed_off`` counts it).

**persona_markov** adds the shown persona's user's own counts (the user is found as for
``persona_frequency``) with weight ``personal_weight`` per step against the population's. On a
validation split of the training sessions the weight 0.5 did best (25.6% exact match against
24.9% for ``markov``; 5 gave 24.9%, 20 gave 23.4%; generator 1.0.0, and 27.0% against 26.8% on
1.1.0): the population's sequences carry most of what counting can know.

Example:
    >>> agent = RandomAgent(seed=1)
    >>> agent.act({"actionable_names": ""})
    '{"rationale": "I pick something at random.", "action": {"type": "terminate"}}'
"""

from __future__ import annotations

import hashlib
import json
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


class PersonaIndex:
    """Which training user an observation's persona text belongs to, and each user's sessions.

    The observation carries no user id, so the user is the training user whose persona text
    equals the observation's ``persona`` (whitespace-normalised); two users with one persona text
    cannot be told apart, so such texts match nobody. ``matched`` / ``unmatched`` count lookups.
    """

    def __init__(self, store: Any) -> None:
        self.sessions_by_user: dict[str, list[Session]] = defaultdict(list)
        for sid in store.session_ids:
            session = store.session(sid)
            self.sessions_by_user[session.user_id].append(session)
        by_text: dict[str, set[str]] = defaultdict(set)
        for user_id, user in store.users.items():
            text = _normalise(user.persona.to_text())
            if text:
                by_text[text].add(user_id)
        self.by_text = {text: next(iter(ids)) for text, ids in by_text.items() if len(ids) == 1}
        self.matched_users: Counter = Counter()
        self.unmatched = 0

    @property
    def matched(self) -> int:
        return sum(self.matched_users.values())

    def user_for(self, observation: Observation) -> str | None:
        """The training user whose persona text the observation shows, or None (counted)."""
        user_id = self.by_text.get(_normalise(observation.get("persona", "")))
        if user_id is None:
            self.unmatched += 1
        else:
            self.matched_users[user_id] += 1
        return user_id


class PersonaFrequencyAgent(FrequencyAgent):
    """:class:`FrequencyAgent` on the statistics of the user whose persona the observation shows."""

    def __init__(self, store: Any = None) -> None:
        super().__init__(store=store)
        self.personas = PersonaIndex(self.store)
        self.tables = {user: FrequencyTable.from_sessions(s) for user, s in self.personas.sessions_by_user.items()}

    @property
    def matched_users(self) -> Counter:
        return self.personas.matched_users

    @property
    def unmatched_personas(self) -> int:
        return self.personas.unmatched

    def user_for(self, observation: Observation) -> str | None:
        """The training user whose persona text the observation shows, or None."""
        return self.personas.user_for(observation)

    def table_for(self, observation: Observation) -> FrequencyTable | None:
        user_id = self.user_for(observation)
        return self.tables.get(user_id) if user_id is not None else None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "users_with_sessions": len(self.tables),
                "matched_steps": self.personas.matched, "unmatched_steps": self.personas.unmatched}


# --------------------------------------------------------------------------------------------
# markov: the most common next action given the page kind and the previous action
# --------------------------------------------------------------------------------------------

MARKOV_RATIONALE = "This is what shoppers most often do next on a page like this after what I just did."

#: URL path patterns of the page kinds, tried in order (Amazon's URL layout, as OPeRA records it).
_PAGE_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reviews", re.compile(r"/product-reviews/|/customer-reviews/")),
    ("product", re.compile(r"/dp/|/gp/product/|/gp/aw/d/")),
    ("cart", re.compile(r"/cart")),
    ("checkout", re.compile(r"/checkout|/gp/buy/|/buy/")),
    ("search", re.compile(r"^/s(?:/|$)|/s\?|^/b(?:/|$)")),
    ("home", re.compile(r"^/?$")),
)
_STEP_LINE = re.compile(r"^Step (\d+): (\{.*?\})(?: \| Rationale: .*)?$")
START = "(start)"


def page_kind(url: str) -> str:
    """The kind of page a URL shows: home, search, product, reviews, cart, checkout or other.

    Example:
        >>> page_kind("https://www.amazon.com/s?k=mug"), page_kind("https://www.amazon.com/A-Mug/dp/B0X")
        ('search', 'product')
        >>> page_kind("https://www.amazon.com/?ref=nav"), page_kind("")
        ('home', 'other')
    """
    if not url:
        return "other"
    path = re.sub(r"^[a-z]+://[^/]+", "", url.strip()).split("?", 1)[0].split("#", 1)[0]
    for kind, pattern in _PAGE_KIND_PATTERNS:
        if pattern.search(path):
            return kind
    return "other"


def name_pattern(name: str) -> str:
    """A name with its instance-specific middle replaced by ``*``: first and last segment kept.

    Product cards and option buttons repeat one structure with a different middle
    (``search_result.<product>.product_title``); the pattern is what such names share.

    Example:
        >>> name_pattern("search_result.red_mug_12oz.product_title"), name_pattern("nav_bar.cart")
        ('search_result.*.product_title', 'nav_bar.cart')
    """
    parts = name.split(".")
    return name if len(parts) <= 2 else f"{parts[0]}.*.{parts[-1]}"


def previous_action(observation: Observation) -> Action | None:
    """The last past action listed in the observation's history (None at the session's start)."""
    for line in reversed(observation.get("history", "").splitlines()):
        match = _STEP_LINE.match(line.strip())
        if match is None:
            continue
        try:
            wire = json.loads(match.group(2))
        except ValueError:
            continue
        if isinstance(wire, dict) and isinstance(wire.get("type"), str):
            name, text = wire.get("name"), wire.get("text")
            return Action(wire["type"], name if isinstance(name, str) else None,
                          text if isinstance(text, str) else None)
    return None


def _context_keys(kind: str, previous: Action | None) -> tuple[tuple[str, str], ...]:
    """The table keys of a (page kind, previous action), most specific first."""
    if previous is None:
        return ((kind, START),)
    if not previous.name:
        return ((kind, previous.type),)
    exact = f"{previous.type}:{previous.name}"
    pattern = f"{previous.type}:{name_pattern(previous.name)}"
    keys = [(kind, exact)] + ([(kind, pattern)] if pattern != exact else [])
    return (*keys, (kind, previous.type))


@dataclass
class MarkovTable:
    """Next actions counted by (page kind, previous action) context, exact and by name pattern.

    ``exact[key]`` counts the next actions ``(type, name, text)``; ``patterns[key]`` counts them
    with the name replaced by its :func:`name_pattern`, so a pattern seen in training (the top
    search result's title, say) can be mapped onto a page whose instances are new.
    """

    exact: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    patterns: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    steps: int = 0

    @classmethod
    def from_sessions(cls, sessions: Iterable[Session]) -> "MarkovTable":
        table = cls()
        for session in sessions:
            previous: Action | None = None
            for step in session.steps:
                table.add(page_kind(step.url or ""), previous, step.action)
                previous = step.action
        return table

    def add(self, kind: str, previous: Action | None, action: Action) -> None:
        if not action.is_predictable or (action.type != "terminate" and not action.name):
            return
        self.steps += 1
        text = (action.text or "") if action.type == "input" else None
        for key in _context_keys(kind, previous):
            self.exact[key][(action.type, action.name, text)] += 1
            pattern = name_pattern(action.name) if action.name else None
            self.patterns[key][(action.type, pattern, text)] += 1

    def choose(self, kind: str, previous: Action | None, names: Sequence[str], *,
               personal: "MarkovTable | None" = None, personal_weight: float = 0.0) -> Action | None:
        """The most common next action of the most specific context that applies to the page.

        For each context (exact previous action, its name pattern, its type alone), the exact
        next actions are tried by count, then the patterns (mapped to the first page element
        that has the pattern: results pages favour the top); the first one on the page wins.
        With ``personal`` (one user's table), counts are ``global + personal_weight * personal``.
        """
        on_page = set(names)
        for key in _context_keys(kind, previous):
            for (kind_, name, text), _ in _by_count(_merged(self.exact, personal and personal.exact, key,
                                                           personal_weight)):
                if kind_ == "terminate":
                    return Action("terminate")
                if name in on_page:
                    return Action(kind_, name, text)
            for (kind_, pattern, text), _ in _by_count(_merged(self.patterns, personal and personal.patterns, key,
                                                               personal_weight)):
                if kind_ == "terminate":
                    return Action("terminate")
                match = next((n for n in names if name_pattern(n) == pattern), None)
                if match is not None:
                    return Action(kind_, match, text)
        return None


def _merged(counts: dict, personal: dict | None, key: Any, weight: float) -> Counter | None:
    base = counts.get(key)
    extra = personal.get(key) if personal else None
    if not extra or weight <= 0:
        return base
    merged: Counter = Counter({k: float(v) for k, v in (base or {}).items()})
    for k, v in extra.items():
        merged[k] += weight * v
    return merged


def _by_count(counts: Counter | None) -> list[tuple[Any, int]]:
    """Items by descending count, ties by their repr, so results never depend on insertion order."""
    if not counts:
        return []
    return sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))


class MarkovAgent(FrequencyAgent):
    """The most common next action given the page kind and the previous action (see the module docstring).

    Args:
        store: As for :class:`FrequencyAgent` (the training split).
    """

    def __init__(self, store: Any = None) -> None:
        super().__init__(store=store)
        self.markov = MarkovTable.from_sessions(self.store.iter_sessions())
        self.backed_off = 0

    def markov_for(self, observation: Observation) -> MarkovTable | None:
        """A more specific table for this observation (None: the global one only)."""
        return None

    def act(self, observation: Observation) -> str:
        names = page_names(observation)
        kind, previous = page_kind(observation.get("url", "")), previous_action(observation)
        action = None
        for table in (self.markov_for(observation), self.markov):
            if table is not None and action is None:
                action = table.choose(kind, previous, names)
        if action is None:  # no context of this page kind applies: the frequency rule
            self.backed_off += 1
            return super().act(observation)
        return format_completion(action, MARKOV_RATIONALE)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "markov_steps": self.markov.steps, "backed_off_steps": self.backed_off}


class PersonaMarkovAgent(MarkovAgent):
    """:class:`MarkovAgent` with the shown persona's user's own counts weighted in.

    The user is found as for ``persona_frequency`` (the training user whose persona text the
    observation shows); the next-action counts of each context are then ``global +
    personal_weight * user's``, so the user's habits (their queries, brands, options) win where
    they have any, and the population's everywhere else.

    Args:
        store: As for :class:`FrequencyAgent` (the training split).
        personal_weight: Weight of one of the user's own steps against one of the population's.
    """

    def __init__(self, store: Any = None, personal_weight: float = 0.5) -> None:
        super().__init__(store=store)
        self.personal_weight = personal_weight
        self.personas = PersonaIndex(self.store)
        self.user_tables = {user: MarkovTable.from_sessions(sessions)
                            for user, sessions in self.personas.sessions_by_user.items()}

    def act(self, observation: Observation) -> str:
        user = self.personas.user_for(observation)
        names = page_names(observation)
        kind, previous = page_kind(observation.get("url", "")), previous_action(observation)
        action = self.markov.choose(kind, previous, names, personal=self.user_tables.get(user) if user else None,
                                    personal_weight=self.personal_weight)
        if action is None:
            self.backed_off += 1
            return FrequencyAgent.act(self, observation)
        return format_completion(action, MARKOV_RATIONALE)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "personal_weight": self.personal_weight,
                "matched_steps": self.personas.matched, "unmatched_steps": self.personas.unmatched}
