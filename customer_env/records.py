"""Typed records of the OPeRA data: actions, steps, sessions, users and their personas.

These are the only types that cross the boundary between the data layer and everything above it
(environment, agents, trainers). They are immutable and hold decoded values: JSON that the
dataset stores inside strings is already parsed here.

Page HTML is deliberately *not* a field of :class:`Step`: pages are most of the dataset's bytes,
so the store hands them out lazily per session (``OperaStore.pages(session_id)``).

Example:
    >>> a = Action(type="click", name="nav_bar.cart_button", click_type="nav_bar")
    >>> a.to_wire()
    {'type': 'click', 'name': 'nav_bar.cart_button'}
    >>> a.matches(Action.from_wire({"type": "click", "name": "nav_bar.cart_button"}))
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from customer_env.constants import ACTION_TYPES


@dataclass(frozen=True)
class Action:
    """One action: what the shopper did (or what an agent predicts they do).

    Attributes:
        type: ``click``, ``input`` or ``terminate`` (the full variant adds ``scroll``,
            ``navigation`` and ``tab_activate``).
        name: The target element's semantic id (the page's ``name`` attribute); None for terminate.
        text: The typed text of an ``input``; None otherwise.
        click_type: One of the 13 click types for a recorded click; None for other types and for
            predictions (an agent does not emit it).
    """

    type: str
    name: str | None = None
    text: str | None = None
    click_type: str | None = None

    def to_wire(self) -> dict[str, str]:
        """The action object of the Customer-R1 wire format (no click type: agents never emit it)."""
        wire: dict[str, str] = {"type": self.type}
        if self.type in ("click", "input") and self.name is not None:
            wire["name"] = self.name
        if self.type == "input":
            wire["text"] = self.text if self.text is not None else ""
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> "Action":
        """Build an action from a wire action object (already validated by the parser)."""
        return cls(type=str(wire["type"]), name=wire.get("name"), text=wire.get("text"))

    def matches(self, other: "Action") -> bool:
        """Exact-match correctness as the paper defines it (``docs/METRICS.md``).

        The types must be equal; a click also needs the same name; an input the same name and the
        same text; a terminate nothing else. Names and texts are compared after stripping leading
        and trailing whitespace, case-sensitively. The click type is never compared.

        Example:
            >>> Action("input", "q", " rice cooker").matches(Action("input", "q ", "rice cooker "))
            True
        """
        if self.type != other.type:
            return False
        if self.type == "click":
            return _stripped(self.name) == _stripped(other.name)
        if self.type == "input":
            return _stripped(self.name) == _stripped(other.name) and _stripped(self.text) == _stripped(other.text)
        return True

    @property
    def is_predictable(self) -> bool:
        """Whether this is one of the filtered variant's three action types."""
        return self.type in ACTION_TYPES


@dataclass(frozen=True)
class Persona:
    """A shopper's persona, decoded from the user table's ``survey`` JSON.

    Attributes:
        user_id: The user it belongs to.
        demographics: The ``Demographic Information`` section.
        shopping_preference: The ``Shopping Preference`` section.
        self_description: The ``Two sentence description`` of the ``Self Description`` section.
        personality: The ``Personality`` section (Big Five scores and any other traits given).
        interview_summary: ``interview_transcript_processed`` when present, else None.
        survey: The whole decoded survey, sections we do not model included.
    """

    user_id: str
    demographics: Mapping[str, Any] = field(default_factory=dict)
    shopping_preference: Mapping[str, Any] = field(default_factory=dict)
    self_description: str = ""
    personality: Mapping[str, Any] = field(default_factory=dict)
    interview_summary: str | None = None
    survey: Mapping[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        """A readable persona for a prompt: every section, in a fixed order, nothing dropped."""
        lines: list[str] = []
        if self.self_description:
            lines += ["About me:", self.self_description.strip(), ""]
        for title, section in (
            ("Demographics", self.demographics),
            ("Shopping preferences", self.shopping_preference),
            ("Personality", self.personality),
        ):
            if section:
                lines.append(f"{title}:")
                lines += [f"- {key}: {_value_text(value)}" for key, value in section.items()]
                lines.append("")
        if self.interview_summary:
            lines += ["Interview summary:", self.interview_summary.strip(), ""]
        return "\n".join(lines).strip()


def _stripped(value: str | None) -> str:
    return (value or "").strip()


def session_outcome(last_action: Action | None) -> str:
    """How a session ends, from its last action: ``purchase`` (a click of click type purchase)
    or ``terminate`` (anything else, e.g. a terminate). The one definition metrics use.

    Example:
        >>> session_outcome(Action("click", "buybox.buy_now", click_type="purchase"))
        'purchase'
        >>> session_outcome(Action("terminate"))
        'terminate'
    """
    if last_action is not None and last_action.type == "click" and last_action.click_type == "purchase":
        return "purchase"
    return "terminate"


def _value_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class User:
    """A row of the user table.

    Attributes:
        user_id: Anonymised user id.
        persona: The decoded persona.
        raw_survey: The decoded ``raw_survey`` JSON, or None when absent.
        interview_transcript: The raw transcript, or None when empty.
    """

    user_id: str
    persona: Persona
    raw_survey: Any = None
    interview_transcript: str | None = None


@dataclass(frozen=True)
class Step:
    """One recorded step of a session: the page the shopper saw and the action they took on it.

    Attributes:
        session_id: The session it belongs to.
        action_id: The dataset's action id.
        index: Position in the session after ordering by (timestamp, action_id), from 0.
        timestamp: ISO 8601 timestamp string as stored (milliseconds and ``Z``).
        action: The recorded action, click type included.
        url: The (masked) URL of the page.
        page_meta: Decoded ``page_meta`` JSON (search terms, cart items, ...), or None.
        products: Decoded ``products`` JSON list, or None.
        rationale: The shopper's own rationale, or None. Only these are human-written.
        window_size: Decoded ``window_size``, or None.
        mouse_position: Decoded ``mouse_position``, or None.
        element_meta: Decoded ``element_meta`` with its inner ``data`` decoded too, or None.
        extra: Variant-specific fields (full variant: ``navigation_type``, ``scroll_detail``, ...).
    """

    session_id: str
    action_id: str
    index: int
    timestamp: str
    action: Action
    url: str = ""
    page_meta: Any = None
    products: Any = None
    rationale: str | None = None
    window_size: Any = None
    mouse_position: Any = None
    element_meta: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """A shopping session: its steps in order, without their pages.

    Attributes:
        session_id: ``{user_id}_{start_iso}_{end_iso}``.
        user_id: The shopper.
        steps: The steps ordered by (timestamp, action_id).
        action_count: ``action_count`` from the session table (None when the table lacks the row).
    """

    session_id: str
    user_id: str
    steps: tuple[Step, ...]
    action_count: int | None = None

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def outcome(self) -> str:
        """The session outcome (``docs/METRICS.md``): ``purchase`` when its last action is a click
        of click type purchase, else ``terminate``."""
        return session_outcome(self.steps[-1].action if self.steps else None)

    @property
    def purchased(self) -> bool:
        """Whether the shopper made a purchase click at any step of the session."""
        return any(s.action.click_type == "purchase" for s in self.steps)
