"""The Customer-R1 wire format: parse a model's completion into an action, and write one.

A completion is one JSON object, a rationale first, then the action::

    {"rationale": "I want to compare prices.", "action": {"type": "click", "name": "pagination.2"}}
    {"rationale": "...", "action": {"type": "input", "name": "nav_bar.search_input", "text": "rice cooker"}}
    {"rationale": "...", "action": {"type": "terminate"}}

Parsing is tolerant of what chat models wrap around the object and strict about the object:

* code fences and text before or after are ignored: the first balanced JSON object that parses
  and has an ``"action"`` key is used;
* a bare action object (``{"type": "click", "name": ...}``) is accepted only when it is the
  whole completion (fences aside); it parses with ``wrapped=False`` and no rationale, so it earns
  no format reward. An action-shaped object found inside other text is not taken, because it is
  what a truncated wrapper leaves behind;
* the action type is case-insensitive; names and texts are taken exactly as written;
* anything else gives ``ok=False`` and an error ``"<code>: <detail>"`` (codes in
  :data:`ERROR_CODES`); parsing never raises.

Example:
    >>> p = parse_completion('```json\\n{"rationale": "Cheaper.", "action": {"type": "click", "name": "pagination.2"}}\\n```')
    >>> p.ok, p.action.name, p.rationale
    (True, 'pagination.2', 'Cheaper.')
    >>> parse_completion('{"action": {"type": "click"}}').error
    "missing_name: a click needs a string 'name'"
    >>> format_completion(Action("terminate"), "Nothing I like.")
    '{"rationale": "Nothing I like.", "action": {"type": "terminate"}}'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from customer_env.constants import ACTION_TYPES
from customer_env.records import Action

#: Every error code parse_completion can return, with what it means.
ERROR_CODES = {
    "bad_input_type": "the completion is not text, bytes, a mapping or an Action",
    "undecodable": "bytes that are not UTF-8",
    "too_long": "longer than max_chars",
    "empty": "nothing but whitespace",
    "no_json": "no JSON object in the text",
    "truncated": "a JSON object starts but never closes",
    "no_action": "JSON found, but no object with an 'action' key",
    "action_not_object": "'action' is not a JSON object",
    "missing_type": "the action has no 'type'",
    "unknown_type": "the type is not click, input or terminate",
    "missing_name": "a click or input without a string 'name'",
    "empty_name": "a click or input whose name is empty",
    "missing_text": "an input without a string 'text'",
    "rationale_not_string": "'rationale' is present but not a string",
    "name_not_on_page": "the name is not among valid_names",
}
DEFAULT_MAX_CHARS = 20000
_MAX_CANDIDATES = 256
_FENCE = re.compile(r"^```[\w-]*\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class ParsedCompletion:
    """The result of parsing one completion.

    Attributes:
        action: The action when ``ok``, else None.
        rationale: The rationale when one was given as a string (possibly ""), else None.
        error: ``"<code>: <detail>"`` when not ``ok``, else None.
        ok: Whether the completion holds a valid action (on the page, when valid names were given).
        wrapped: Whether the action came in the ``{"rationale", "action"}`` wrapper.
        candidate: The decoded action even when it was rejected only for ``name_not_on_page``
            (useful to score its type); None otherwise.
    """

    action: Action | None
    rationale: str | None
    error: str | None
    ok: bool
    wrapped: bool = False
    candidate: Action | None = None

    @property
    def error_code(self) -> str | None:
        """The code part of ``error`` (a key of :data:`ERROR_CODES`), or None."""
        return self.error.split(":", 1)[0] if self.error else None

    @property
    def format_ok(self) -> bool:
        """The strict wire format: a valid action inside the wrapper, with a string rationale."""
        return self.ok and self.wrapped and self.rationale is not None


def _failure(code: str, detail: str, rationale: str | None = None, wrapped: bool = False,
             candidate: Action | None = None) -> ParsedCompletion:
    return ParsedCompletion(None, rationale, f"{code}: {detail}", False, wrapped, candidate)


def parse_completion(
    completion: str | bytes | Mapping[str, Any] | Action,
    *,
    valid_names: Collection[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ParsedCompletion:
    """Parse a completion into an action; never raises.

    Args:
        completion: The model's text (or UTF-8 bytes), an already-decoded JSON object, or an
            :class:`Action` (checked the same way, without a rationale).
        valid_names: When given, a click or input whose name is not in it is rejected with
            ``name_not_on_page`` (the page's names: ``RenderedObservation.names``).
        max_chars: Longer completions are rejected with ``too_long`` before any parsing.

    Returns:
        A :class:`ParsedCompletion`.
    """
    if isinstance(completion, Action):
        return _validate(completion.to_wire(), None, False, valid_names)
    if isinstance(completion, Mapping):
        if "action" in completion:
            return _from_wrapper(completion, valid_names)
        return _validate(completion, None, False, valid_names)
    if isinstance(completion, (bytes, bytearray)):
        if len(completion) > max_chars * 4:  # a UTF-8 character is at most 4 bytes
            return _failure("too_long", f"{len(completion)} bytes, limit {max_chars} characters")
        try:
            completion = bytes(completion).decode("utf-8")
        except UnicodeDecodeError as exc:
            return _failure("undecodable", f"not UTF-8 ({exc.reason} at byte {exc.start})")
    if not isinstance(completion, str):
        return _failure("bad_input_type", f"got {type(completion).__name__}")
    if len(completion) > max_chars:
        return _failure("too_long", f"{len(completion)} characters, limit {max_chars}")
    text = completion.strip()
    if not text:
        return _failure("empty", "the completion is empty")
    return _parse_text(text, valid_names)


def _parse_text(text: str, valid_names: Collection[str] | None) -> ParsedCompletion:
    decoder = json.JSONDecoder()
    first_object: Any = None
    start = text.find("{")
    if start < 0:
        return _failure("no_json", "no '{' in the completion")
    tries = 0
    while start >= 0 and tries < _MAX_CANDIDATES:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and "action" in value:
            return _from_wrapper(value, valid_names)
        if first_object is None:
            first_object = value
        start = text.find("{", end)
    whole = _FENCE.match(text)
    body = whole.group(1) if whole else text
    if isinstance(first_object, dict) and "type" in first_object:
        try:
            bare = json.loads(body)
        except json.JSONDecodeError:
            bare = None
        if bare == first_object:
            return _validate(bare, None, False, valid_names)
    if _unclosed(text):
        return _failure("truncated", "a JSON object starts but never closes")
    if first_object is None:
        return _failure("no_json", "no parsable JSON object")
    if isinstance(first_object, dict) and "type" in first_object:
        return _failure("no_action", "a bare action object is accepted only as the whole completion; "
                        'wrap it as {"rationale": ..., "action": ...}')
    return _failure("no_action", "no JSON object with an 'action' key")


def _unclosed(text: str) -> bool:
    """Whether braces outside strings are left open at the end (the mark of a cut-off object)."""
    depth, in_string, escaped = 0, False, False
    for ch in text[text.find("{"):]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
    return depth > 0 or in_string


def _from_wrapper(obj: Mapping[str, Any], valid_names: Collection[str] | None) -> ParsedCompletion:
    rationale = obj.get("rationale")
    if rationale is not None and not isinstance(rationale, str):
        return _failure("rationale_not_string", f"got {type(rationale).__name__}", wrapped=True)
    action = obj["action"]
    if not isinstance(action, Mapping):
        return _failure("action_not_object", f"got {type(action).__name__}", rationale, True)
    return _validate(action, rationale, True, valid_names)


def _validate(wire: Mapping[str, Any], rationale: str | None, wrapped: bool,
              valid_names: Collection[str] | None) -> ParsedCompletion:
    kind = wire.get("type")
    if kind is None:
        return _failure("missing_type", "the action has no 'type'", rationale, wrapped)
    if not isinstance(kind, str) or kind.strip().lower() not in ACTION_TYPES:
        return _failure("unknown_type", f"{kind!r} is not one of {list(ACTION_TYPES)}", rationale, wrapped)
    kind = kind.strip().lower()
    if kind == "terminate":
        return ParsedCompletion(Action("terminate"), rationale, None, True, wrapped)
    name = wire.get("name")
    if not isinstance(name, str):
        return _failure("missing_name", f"a {kind} needs a string 'name'", rationale, wrapped)
    if not name.strip():
        return _failure("empty_name", f"a {kind} needs a non-empty name", rationale, wrapped)
    text = None
    if kind == "input":
        text = wire.get("text")
        if not isinstance(text, str):
            return _failure("missing_text", "an input needs a string 'text'", rationale, wrapped)
    action = Action(kind, name, text)
    if valid_names is not None and name not in valid_names:
        shown = name if len(name) <= 80 else name[:77] + "..."
        return _failure("name_not_on_page", f"{shown!r} is not a name on the page", rationale, wrapped, action)
    return ParsedCompletion(action, rationale, None, True, wrapped)


def format_completion(action: Action, rationale: str | None = None) -> str:
    """The wire JSON for an action and its rationale (one line, deterministic key order).

    A None rationale is written as ``""`` so the result is always in the strict wire format;
    ``parse_completion(format_completion(a, r))`` gives back ``a`` (click type aside) and ``r``.

    Raises:
        ValueError: if the action could not be parsed back (unknown type, click or input without
            a name). This is a caller bug, not model output.
    """
    if action.type not in ACTION_TYPES:
        raise ValueError(f"cannot write action type {action.type!r}; expected one of {list(ACTION_TYPES)}")
    if action.type in ("click", "input") and not (action.name and action.name.strip()):
        raise ValueError(f"a {action.type} action needs a name, got {action.name!r}")
    payload = {"rationale": rationale if rationale is not None else "", "action": action.to_wire()}
    return json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))
