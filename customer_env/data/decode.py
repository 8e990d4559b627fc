"""One OPeRA table row -> a record: JSON-inside-string decoding and per-row validation.

Every action column is a string; the structured ones hold JSON text, and ``element_meta``'s
``data`` is JSON text inside that JSON. Decoding never guesses: a value is either decoded as
stored or reported. What lenient mode does with each problem (strict mode raises instead):

==========================================  =========================  =========================
problem                                     reason                     lenient action
==========================================  =========================  =========================
no session_id/action_id/timestamp/type      ``missing_value``          row skipped
timestamp not ISO 8601                      ``bad_timestamp``          row skipped
action type not of the variant              ``unknown_action_type``    row skipped
click/input without semantic_id (filtered)  ``missing_value``          row skipped
JSON field not valid JSON                   ``malformed_json``         field set to None
click without / with unknown click_type     ``missing_click_type``,    click kept, click_type
                                            ``unknown_click_type``     None
click_type on a non-click                   ``click_type_on_non_click`` click_type set to None
input with null input_text                  ``input_without_text``     kept with text "" (note)
==========================================  =========================  =========================

Values that are present are kept as stored (``semantic_id`` of a terminate, ``input_text`` of a
click); empty strings count as absent, as the dataset card says. In the full variant, clicks and
inputs on elements the page parser did not name are real and kept with ``name=None``.

Example:
    >>> decode_json('{"data": "{\\\\"asin\\\\": \\\\"B01\\\\"}"}', field="element_meta")
    {'data': '{"asin": "B01"}'}
    >>> parse_timestamp("2025-04-14T21:52:57.792Z").isoformat()
    '2025-04-14T21:52:57.792000+00:00'
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from customer_env.constants import ACTION_TYPES, CLICK_TYPES, FULL_ONLY_ACTION_TYPES, PAGE_COLUMNS
from customer_env.data.errors import DataError, Problems
from customer_env.data.persona import persona_from_survey
from customer_env.records import Action, Step, User

#: The dataset card spells one full-variant type two ways; both mean the same action.
ACTION_TYPE_ALIASES = {"tabActivate": "tab_activate"}

#: Columns decoded into named ``Step`` fields (everything else that is not a page goes to
#: ``Step.extra``, JSON-decoded when listed in :data:`EXTRA_JSON_COLUMNS`).
STEP_COLUMNS = frozenset(
    {"session_id", "action_id", "timestamp", "action_type", "click_type", "semantic_id",
     "input_text", "url", "rationale", "page_meta", "products", "window_size",
     "mouse_position", "element_meta"}
)
EXTRA_JSON_COLUMNS = frozenset({"scroll_detail"})

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)

SortKey = tuple[datetime, str]


def decode_json(value: Any, *, field: str) -> Any:
    """Decode a JSON-in-string value; None or blank text is None.

    Raises:
        DataError: (reason ``malformed_json``) naming ``field``; the caller adds file and row.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        snippet = value[:60] + ("..." if len(value) > 60 else "")
        raise DataError(f"not valid JSON ({exc.msg}): {snippet!r}", field=field,
                        reason="malformed_json") from None


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z``/offset optional, UTC assumed) to an aware datetime.

    Fractions beyond microseconds are cut; ties are broken by action id anyway.

    Raises:
        DataError: (reason ``bad_timestamp``).
    """
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise DataError(f"not an ISO 8601 timestamp: {text!r}", field="timestamp",
                        reason="bad_timestamp")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          micro, tzinfo=tz)
    except ValueError as exc:
        raise DataError(f"impossible timestamp {text!r}: {exc}", field="timestamp",
                        reason="bad_timestamp") from None
    return moment.astimezone(timezone.utc)


def user_id_from_session_id(session_id: str) -> str | None:
    """The ``{user_id}`` prefix of ``{user_id}_{start_iso}_{end_iso}``, or None if not that shape."""
    parts = session_id.rsplit("_", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    try:
        parse_timestamp(parts[1])
        parse_timestamp(parts[2])
    except DataError:
        return None
    return parts[0]


def _text(value: Any) -> str | None:
    """A string value with empty meaning absent."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _decode_json_column(row: Mapping[str, Any], column: str) -> Any:
    """Decode a JSON column; ``element_meta``'s ``data`` is JSON text again and decoded too."""
    value = decode_json(row.get(column), field=column)
    if column == "element_meta" and isinstance(value, dict) and isinstance(value.get("data"), str):
        value["data"] = decode_json(value["data"], field="element_meta.data")
    return value


def decode_action_row(
    row: Mapping[str, Any], *, variant: str, file: str, row_index: int, problems: Problems
) -> tuple[SortKey, Step] | None:
    """Decode one action row into its sort key and a :class:`Step` whose ``index`` is -1.

    The index is assigned once the session's steps are ordered. Returns None when the row is
    skipped (the problem is already counted in ``problems``).

    Raises:
        DataError: In strict mode, for any problem in the table above.
    """

    def problem(detail: str, field: str, reason: str, action: str, note: bool = False) -> None:
        problems.found(DataError(detail, file=file, row=row_index, field=field, reason=reason),
                       action, note=note)

    required = {}
    for column in ("session_id", "action_id", "timestamp", "action_type"):
        required[column] = _text(row.get(column))
        if required[column] is None:
            problem(f"{column} is empty", column, "missing_value", "row skipped")
            return None
    try:
        moment = parse_timestamp(required["timestamp"])
    except DataError as exc:
        problem(exc.detail, "timestamp", exc.reason, "row skipped")
        return None

    action_type = ACTION_TYPE_ALIASES.get(required["action_type"], required["action_type"])
    allowed = ACTION_TYPES + (FULL_ONLY_ACTION_TYPES if variant == "full" else ())
    if action_type not in allowed:
        problem(f"unknown action type {action_type!r} for the {variant} variant (expected one "
                f"of {', '.join(allowed)})", "action_type", "unknown_action_type", "row skipped")
        return None

    name = _text(row.get("semantic_id"))
    if name is None and action_type in ("click", "input") and variant == "filtered":
        problem(f"a {action_type} needs a semantic_id", "semantic_id", "missing_value",
                "row skipped")
        return None

    click_type = _text(row.get("click_type"))
    if action_type == "click":
        if click_type is None:
            problem("a click has no click_type", "click_type", "missing_click_type",
                    "click kept with click_type None")
        elif click_type not in CLICK_TYPES:
            problem(f"unknown click type {click_type!r}", "click_type", "unknown_click_type",
                    "click kept with click_type None")
            click_type = None
    elif click_type is not None:
        problem(f"a {action_type} has click_type {click_type!r}", "click_type",
                "click_type_on_non_click", "click_type set to None")
        click_type = None

    raw_text = row.get("input_text")
    # An input's text is kept exactly (even ""); on other types empty means absent.
    text = raw_text if action_type == "input" and isinstance(raw_text, str) else _text(raw_text)
    if action_type == "input" and text is None:
        problem("an input has no input_text", "input_text", "input_without_text",
                "kept with text ''", note=True)
        text = ""

    def json_field(column: str) -> Any:
        try:
            return _decode_json_column(row, column)
        except DataError as exc:
            problem(exc.detail, exc.field or column, exc.reason, "field set to None")
            if exc.field == "element_meta.data":  # keep the outer object, lose only its data
                outer = decode_json(row.get(column), field=column)
                return {**outer, "data": None}
            return None

    extra: dict[str, Any] = {}
    for column, value in row.items():
        if column in STEP_COLUMNS or column in PAGE_COLUMNS:
            continue
        if column in EXTRA_JSON_COLUMNS:
            value = json_field(column)
        if value is not None and value != "":
            extra[column] = value

    step = Step(
        session_id=required["session_id"],
        action_id=required["action_id"],
        index=-1,
        timestamp=required["timestamp"],
        action=Action(type=action_type, name=name, text=text, click_type=click_type),
        url=row.get("url") or "",
        page_meta=json_field("page_meta"),
        products=json_field("products"),
        rationale=_text(row.get("rationale")),
        window_size=json_field("window_size"),
        mouse_position=json_field("mouse_position"),
        element_meta=json_field("element_meta"),
        extra=extra,
    )
    return (moment, required["action_id"]), step


def decode_user_row(row: Mapping[str, Any], *, file: str, row_index: int,
                    problems: Problems) -> User | None:
    """Decode one user-table row; None when it is skipped (bad id or survey, counted)."""
    user_id = _text(row.get("user_id"))
    try:
        if user_id is None:
            raise DataError("user_id is empty", field="user_id", reason="missing_value")
        survey = decode_json(row.get("survey"), field="survey")
        if survey is None:
            raise DataError("survey is empty", field="survey", reason="missing_value")
        persona = persona_from_survey(user_id, survey,
                                      _text(row.get("interview_transcript_processed")))
    except DataError as exc:
        problems.found(DataError(exc.detail, file=file, row=row_index, field=exc.field,
                                 reason=exc.reason), "user skipped (their sessions too)")
        return None
    try:
        raw_survey = decode_json(row.get("raw_survey"), field="raw_survey")
    except DataError as exc:
        problems.found(DataError(exc.detail, file=file, row=row_index, field=exc.field,
                                 reason=exc.reason), "raw_survey set to None")
        raw_survey = None
    return User(user_id=user_id, persona=persona, raw_survey=raw_survey,
                interview_transcript=_text(row.get("interview_transcript")))
