"""The Customer-R1 wire format: parse a model's completion into an action, and write one.

A completion is one JSON object, a rationale first, then the action::

    {"rationale": "I want to compare prices.", "action": {"type": "click", "name": "pagination.2"}}
    {"rationale": "...", "action": {"type": "input", "name": "nav_bar.search_input", "text": "rice cooker"}}
    {"rationale": "...", "action": {"type": "terminate"}}

Parsing answers three separate questions (definitions: ``docs/METRICS.md``):

* **format-valid** (``ok``): the completion holds a parseable action object with a known type and
  its required fields (click: a non-empty ``name``; input: a non-empty ``name`` and a string
  ``text``). Only then is there an ``action``.
* **format reward** (``format_ok``): format-valid, inside the ``{"rationale", "action"}``
  wrapper, with a non-blank string rationale written before the action. A rationale problem
  (``rationale_error``) voids only this; the action is still scored.
* **grounded** (``grounded``): with ``valid_names`` given, whether the named element is on the
  page (a terminate names none and is grounded). Grounding never changes ``ok`` or ``action``.

Parsing is tolerant of what chat models wrap around the object and strict about the object:

* code fences and text before or after are ignored: the first balanced JSON object that parses
  and has an ``"action"`` key is used;
* a bare action object (``{"type": "click", "name": ...}``) is accepted only when it is the
  whole completion (fences aside); it parses with ``wrapped=False`` and no rationale, so it earns
  no format reward. An action-shaped object found inside other text is not taken, because it is
  what a truncated wrapper leaves behind;
* the action type is a keyword: any case and surrounding whitespace (``" Click"``) are accepted;
  names and texts are case-sensitive, with leading and trailing whitespace stripped;
* a name or text holding a NUL or a lone surrogate (no page or keyboard produces them) is
  rejected with ``bad_characters``; a rationale holding one is dropped (``rationale`` None);
* anything else gives ``ok=False`` and an error ``"<code>: <detail>"`` (codes in
  :data:`ERROR_CODES`). Parsing never raises: JSON nested past the decoder's depth, integers past
  Python's digit limit and any other decoder failure are error codes too.

Example:
    >>> p = parse_completion('```json\\n{"rationale": "Cheaper.", "action": {"type": "click", "name": "pagination.2"}}\\n```')
    >>> p.ok, p.action.name, p.rationale
    (True, 'pagination.2', 'Cheaper.')
    >>> parse_completion('{"action": {"type": "click"}}').error
    "missing_name: a click needs a string 'name'"
    >>> q = parse_completion('{"rationale": "", "action": {"type": "click", "name": "x"}}', valid_names={"y"})
    >>> q.ok, q.format_ok, q.grounded, q.rationale_error_code
    (True, False, False, 'empty_rationale')
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

#: Every error code parse_completion can return (``error``), with what it means.
ERROR_CODES = {
    "bad_input_type": "the completion is not text, bytes, a mapping or an Action",
    "undecodable": "bytes that are not UTF-8",
    "too_long": "longer than max_chars",
    "empty": "nothing but whitespace",
    "no_json": "no JSON object in the text",
    "truncated": "a JSON object starts but never closes",
    "json_limit": "JSON the decoder refuses: nested too deep, or an integer with too many digits",
    "no_action": "JSON found, but no object with an 'action' key",
    "action_not_object": "'action' is not a JSON object",
    "missing_type": "the action has no 'type'",
    "unknown_type": "the type is not click, input or terminate",
    "missing_name": "a click or input without a string 'name'",
    "empty_name": "a click or input whose name is empty",
    "missing_text": "an input without a string 'text'",
    "bad_characters": "a name or text holds a NUL or a lone surrogate",
    "parser_error": "an unexpected failure inside the parser (a bug; reported, never raised)",
}
#: Why a format-valid completion earns no format reward (``rationale_error``).
RATIONALE_ERROR_CODES = {
    "not_wrapped": "a bare action object, without the {\"rationale\", \"action\"} wrapper",
    "missing_rationale": "the wrapper has no 'rationale'",
    "rationale_not_string": "'rationale' is present but not a string",
    "empty_rationale": "the rationale is empty or only whitespace",
    "rationale_after_action": "the rationale is written after the action, not before it",
    "rationale_bad_characters": "the rationale holds a NUL or a lone surrogate",
}
#: The grounding code: the name is not among ``valid_names`` (``grounding_error``).
GROUNDING_ERROR = "name_not_on_page"
DEFAULT_MAX_CHARS = 20000
_MAX_CANDIDATES = 256
_FENCE = re.compile(r"^```[\w-]*\s*(.*?)\s*```$", re.DOTALL)
#: NUL and UTF-16 surrogates: never part of a page name or of typed text, and unwritable as UTF-8.
BAD_CHARACTERS = re.compile(r"[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class ParsedCompletion:
    """The result of parsing one completion.

    Attributes:
        action: The action when ``ok`` (grounded or not), else None.
        rationale: The rationale when one was given as clean text (possibly ""), else None.
        error: ``"<code>: <detail>"`` when not ``ok`` (codes: :data:`ERROR_CODES`), else None.
        ok: Format-valid: a parseable action with a known type and its required fields.
        wrapped: Whether the action came in the ``{"rationale", "action"}`` wrapper.
        grounded: With ``valid_names``: whether the action's element is on the page (True for
            a terminate, False when not ``ok``); None when no names were given.
        rationale_error: ``"<code>: <detail>"`` when an ``ok`` completion earns no format reward
            (codes: :data:`RATIONALE_ERROR_CODES`), else None.
    """

    action: Action | None
    rationale: str | None
    error: str | None
    ok: bool
    wrapped: bool = False
    grounded: bool | None = None
    rationale_error: str | None = None

    @property
    def error_code(self) -> str | None:
        """The code part of ``error`` (a key of :data:`ERROR_CODES`), or None."""
        return _code(self.error)

    @property
    def rationale_error_code(self) -> str | None:
        """The code part of ``rationale_error`` (a key of :data:`RATIONALE_ERROR_CODES`), or None."""
        return _code(self.rationale_error)

    @property
    def format_ok(self) -> bool:
        """The Customer-R1 format reward's condition: a valid action in the wrapper, after a
        non-blank string rationale."""
        return self.ok and self.wrapped and self.rationale_error is None

    @property
    def grounding_error(self) -> str | None:
        """``"name_not_on_page: ..."`` for a format-valid action whose element is not on the page."""
        if not (self.ok and self.grounded is False and self.action is not None):
            return None
        name = self.action.name or ""
        shown = name if len(name) <= 80 else name[:77] + "..."
        return f"{GROUNDING_ERROR}: {shown!r} is not a name on the page"

    @property
    def candidate(self) -> Action | None:
        """The action when it is format-valid but not grounded (kept for older callers)."""
        return self.action if self.ok and self.grounded is False else None


def _code(message: str | None) -> str | None:
    return message.split(":", 1)[0] if message else None


def _failure(code: str, detail: str, rationale: str | None = None, wrapped: bool = False) -> ParsedCompletion:
    return ParsedCompletion(None, rationale, f"{code}: {detail}", False, wrapped)


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
        valid_names: The page's names (``RenderedObservation.names``); when given, ``grounded``
            says whether the action's element is among them. It never rejects an action.
        max_chars: Longer completions are rejected with ``too_long`` before any parsing.

    Returns:
        A :class:`ParsedCompletion`.

    Example:
        >>> parse_completion('{"rationale": "x", "action": {"type": "TERMINATE"}}').action
        Action(type='terminate', name=None, text=None, click_type=None)
        >>> parse_completion("[" * 5000).error_code
        'no_json'
    """
    try:
        parsed = _parse_any(completion, max_chars)
    except Exception as exc:  # noqa: BLE001 - the last guard: model output must never crash a run
        parsed = _failure("parser_error", f"{type(exc).__name__}: {str(exc)[:120]!r}")
    return ground(parsed, valid_names)


def ground(parsed: ParsedCompletion, valid_names: Collection[str] | None) -> ParsedCompletion:
    """``parsed`` with ``grounded`` set against ``valid_names`` (unchanged when they are None).

    Example:
        >>> ground(parse_completion('{"rationale": "r", "action": {"type": "click", "name": "a"}}'), ["a"]).grounded
        True
    """
    if valid_names is None:
        return parsed
    action = parsed.action
    if not parsed.ok or action is None:
        grounded = False
    else:
        grounded = action.type == "terminate" or action.name in valid_names
    return ParsedCompletion(parsed.action, parsed.rationale, parsed.error, parsed.ok, parsed.wrapped,
                            grounded, parsed.rationale_error)


def _parse_any(completion: Any, max_chars: int) -> ParsedCompletion:
    if isinstance(completion, Action):
        return _validate(completion.to_wire(), None, False, "not_wrapped: an Action has no rationale")
    if isinstance(completion, Mapping):
        if "action" in completion:
            return _from_wrapper(completion)
        return _validate(completion, None, False, "not_wrapped: a bare action object has no rationale")
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
    return _parse_text(text)


def _decode(decoder: json.JSONDecoder, text: str, start: int) -> tuple[Any, int, str | None]:
    """``raw_decode`` at ``start``: (value, end, None), or (None, -1, why the decoder refused)."""
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError:
        return None, -1, None
    except RecursionError:
        return None, -1, "nested deeper than the JSON decoder allows"
    except ValueError as exc:  # e.g. an integer over sys.get_int_max_str_digits()
        return None, -1, str(exc).split(";")[0][:120]
    return value, end, None


def _parse_text(text: str) -> ParsedCompletion:
    decoder = json.JSONDecoder()
    first_object: Any = None
    limit: str | None = None
    start = text.find("{")
    if start < 0:
        return _failure("no_json", "no '{' in the completion")
    tries = 0
    while start >= 0 and tries < _MAX_CANDIDATES:
        tries += 1
        value, end, refused = _decode(decoder, text, start)
        if end < 0:
            limit = limit or refused
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and "action" in value:
            return _from_wrapper(value)
        if first_object is None:
            first_object = value
        start = text.find("{", end)
    if limit is not None:
        return _failure("json_limit", limit)
    whole = _FENCE.match(text)
    body = whole.group(1) if whole else text
    if isinstance(first_object, dict) and "type" in first_object:
        bare, end, _ = _decode(decoder, body, 0)
        if end == len(body) and bare == first_object:
            return _validate(bare, None, False, "not_wrapped: a bare action object has no rationale")
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


def _rationale(obj: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The wrapper's rationale and, when it earns no format reward, why not."""
    if "rationale" not in obj:
        return None, "missing_rationale: the wrapper has no 'rationale'"
    rationale = obj["rationale"]
    if rationale is None:
        return None, "missing_rationale: 'rationale' is null"
    if not isinstance(rationale, str):
        return None, f"rationale_not_string: got {type(rationale).__name__}"
    if BAD_CHARACTERS.search(rationale):
        return None, "rationale_bad_characters: the rationale holds a NUL or a lone surrogate"
    keys = list(obj)
    if keys.index("rationale") > keys.index("action"):
        return rationale, "rationale_after_action: write the rationale before the action"
    if not rationale.strip():
        return rationale, "empty_rationale: the rationale is empty"
    return rationale, None


def _from_wrapper(obj: Mapping[str, Any]) -> ParsedCompletion:
    rationale, rationale_error = _rationale(obj)
    action = obj["action"]
    if not isinstance(action, Mapping):
        return _failure("action_not_object", f"got {type(action).__name__}", rationale, True)
    return _validate(action, rationale, True, rationale_error)


def _validate(wire: Mapping[str, Any], rationale: str | None, wrapped: bool,
              rationale_error: str | None) -> ParsedCompletion:
    kind = wire.get("type")
    if kind is None:
        return _failure("missing_type", "the action has no 'type'", rationale, wrapped)
    if not isinstance(kind, str) or kind.strip().lower() not in ACTION_TYPES:
        return _failure("unknown_type", f"{_shown(kind)} is not one of {list(ACTION_TYPES)}", rationale, wrapped)
    kind = kind.strip().lower()
    if kind == "terminate":
        return ParsedCompletion(Action("terminate"), rationale, None, True, wrapped, None, rationale_error)
    name = wire.get("name")
    if not isinstance(name, str):
        return _failure("missing_name", f"a {kind} needs a string 'name'", rationale, wrapped)
    name = name.strip()
    if not name:
        return _failure("empty_name", f"a {kind} needs a non-empty name", rationale, wrapped)
    text = None
    if kind == "input":
        text = wire.get("text")
        if not isinstance(text, str):
            return _failure("missing_text", "an input needs a string 'text'", rationale, wrapped)
        text = text.strip()
    for field_name, value in (("name", name), ("text", text)):
        if value is not None and BAD_CHARACTERS.search(value):
            return _failure("bad_characters", f"the {field_name} {_shown(value)} holds a NUL or a lone surrogate",
                            rationale, wrapped)
    return ParsedCompletion(Action(kind, name, text), rationale, None, True, wrapped, None, rationale_error)


def _shown(value: Any) -> str:
    """A short, always-printable (ASCII) rendering of a model-written value for error messages."""
    text = ascii(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_completion(action: Action, rationale: str | None = None) -> str:
    """The wire JSON for an action and its rationale (one line, deterministic key order).

    A None rationale is written as ``""``: the result parses, but earns no format reward (a
    rationale must be non-blank). ``parse_completion(format_completion(a, r))`` gives back ``a``
    (click type aside; names and texts stripped) and ``r``.

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
