"""Build the in-memory session index from any :class:`~customer_env.data.source.TableSource`.

The index holds users, sessions with their decoded steps, and where each step's row lives (so the
page can be read later); it never holds a page. Rows are decoded by :mod:`decode`; this module
orders, de-duplicates and joins them. Lenient decisions (strict mode raises instead):

========================================  ===========================  =========================
problem                                   reason                       lenient action
========================================  ===========================  =========================
same action_id twice in a session         ``duplicate_action_id``      later row (file order)
                                                                       dropped
session-table row without id / user id    ``missing_value``            session row ignored
same session_id twice in session table    ``duplicate_session_row``    first row kept
same user_id twice in user table          ``duplicate_user_id``        first row kept
no session table at all                   ``session_table_missing``    user ids from session ids
session absent from the session table     ``user_id_from_session_id``  user id parsed from the
                                                                       session id (note)
... and its id is not user_start_end      ``unparseable_session_id``   session skipped
session whose user is not in user table   ``session_without_user``     session skipped
action_count differs from steps loaded    ``action_count_mismatch``    kept (note)
session-table session without actions     ``session_without_actions``  nothing to load (note)
========================================  ===========================  =========================

A missing user table, a missing or unreadable action file, and a store left with no session at
all are errors in both modes: there would be nothing to simulate.

Example:
    >>> from customer_env.data.local import LocalSource            # doctest: +SKIP
    >>> index = build_index(LocalSource(root, "filtered", "train"), "filtered", strict=False)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterator, Optional, Tuple

import pyarrow as pa

from customer_env.data.decode import SortKey, decode_action_row, decode_user_row, user_id_from_session_id
from customer_env.data.errors import DataError, LoadReport, Problems
from customer_env.data.source import (SESSION_SPEC, USER_SPEC, TableSource, action_spec,
                                      apply_casts, plan_columns)
from customer_env.records import Session, Step, User

#: Rows converted to Python objects at a time; bounds the temporary memory of decoding.
DECODE_BATCH_ROWS = 1024

#: Where a step's row lives: (action file index, row index within that file).
Locator = tuple[int, int]


@dataclass
class SessionIndex:
    """Everything the store keeps in memory."""

    users: dict[str, User]
    sessions: dict[str, Session]
    locators: dict[str, tuple[Locator, ...]]
    report: LoadReport


def iter_rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` as dicts, a batch at a time (never the whole table as Python objects)."""
    for batch in table.to_batches(max_chunksize=DECODE_BATCH_ROWS):
        columns = {name: batch.column(i).to_pylist() for i, name in enumerate(batch.schema.names)}
        for r in range(batch.num_rows):
            yield {name: values[r] for name, values in columns.items()}


def _read_actions(source: TableSource, variant: str, problems: Problems
                  ) -> dict[str, list[tuple[SortKey, Step, Locator]]]:
    files = source.action_files()
    grouped: dict[str, list[tuple[SortKey, Step, Locator]]] = {}
    for file_index, label in enumerate(files):
        plan = plan_columns(source.action_schema(file_index), action_spec(variant), file=label,
                            problems=problems)
        table = apply_casts(source.read_actions(file_index, plan.read), plan, file=label,
                            problems=problems)
        for row_index, row in enumerate(iter_rows(table)):
            decoded = decode_action_row(row, variant=variant, file=label, row_index=row_index,
                                        problems=problems)
            if decoded is not None:
                key, step = decoded
                grouped.setdefault(step.session_id, []).append((key, step, (file_index, row_index)))
        del table
    return grouped


def _order_session(rows: list[tuple[SortKey, Step, Locator]], files: list[str],
                   problems: Problems) -> tuple[tuple[Step, ...], tuple[Locator, ...]]:
    seen: set[str] = set()
    kept = []
    for key, step, locator in rows:  # file order: the first occurrence wins
        if step.action_id in seen:
            problems.found(DataError(f"action id {step.action_id!r} already seen in session "
                                     f"{step.session_id!r}", file=files[locator[0]],
                                     row=locator[1], field="action_id",
                                     reason="duplicate_action_id"), "row skipped")
            continue
        seen.add(step.action_id)
        kept.append((key, step, locator))
    kept.sort(key=lambda item: item[0])
    steps = tuple(replace(step, index=i) for i, (_, step, _) in enumerate(kept))
    return steps, tuple(locator for _, _, locator in kept)


#: A session-table row: user id, action count, and the row's index in that table.
SessionRow = Tuple[str, Optional[int], int]


def _read_session_table(source: TableSource, problems: Problems) -> tuple[str, dict[str, SessionRow]]:
    found = source.read_sessions()
    if found is None:
        problems.found(DataError(f"no session table in {source.description}",
                                 reason="session_table_missing"),
                       "user ids taken from the session ids, action_count unknown")
        return "", {}
    label, table = found
    plan = plan_columns(table.schema, SESSION_SPEC, file=label, problems=problems)
    table = apply_casts(table.select(plan.read), plan, file=label, problems=problems)
    sessions: dict[str, SessionRow] = {}
    for row_index, row in enumerate(iter_rows(table)):
        sid, uid = row.get("session_id"), row.get("user_id")
        if not sid or not uid:
            field = "session_id" if not sid else "user_id"
            problems.found(DataError(f"{field} is empty", file=label, row=row_index, field=field,
                                     reason="missing_value"), "session row ignored")
            continue
        if sid in sessions:
            problems.found(DataError(f"session {sid!r} listed again", file=label, row=row_index,
                                     field="session_id", reason="duplicate_session_row"),
                           "first row kept")
            continue
        sessions[sid] = (uid, row.get("action_count"), row_index)
    return label, sessions


def _read_user_table(source: TableSource, problems: Problems) -> dict[str, User]:
    found = source.read_users()
    if found is None:
        raise DataError(f"no user table in {source.description}: without it no session has a "
                        "persona, so there is nothing to simulate", reason="missing_file")
    label, table = found
    plan = plan_columns(table.schema, USER_SPEC, file=label, problems=problems)
    table = apply_casts(table.select(plan.read), plan, file=label, problems=problems)
    users: dict[str, User] = {}
    for row_index, row in enumerate(iter_rows(table)):
        user = decode_user_row(row, file=label, row_index=row_index, problems=problems)
        if user is None:
            continue
        if user.user_id in users:
            problems.found(DataError(f"user {user.user_id!r} listed again", file=label,
                                     row=row_index, field="user_id", reason="duplicate_user_id"),
                           "first row kept")
            continue
        users[user.user_id] = user
    return users


def build_index(source: TableSource, variant: str, *, strict: bool) -> SessionIndex:
    """Read, validate, order and join every table of ``source``.

    Raises:
        DataError: In strict mode on the first problem; in both modes when nothing can be loaded.
    """
    report = LoadReport()
    problems = Problems(report, strict=strict)
    files = source.action_files()
    if not files:
        raise DataError(f"no action files for this variant and split in {source.description}",
                        reason="missing_file")
    users = _read_user_table(source, problems)
    session_file, session_rows = _read_session_table(source, problems)
    grouped = _read_actions(source, variant, problems)

    with_rows = set(grouped)
    sessions: dict[str, Session] = {}
    locators: dict[str, tuple[Locator, ...]] = {}
    for sid in sorted(grouped):
        steps, where = _order_session(grouped.pop(sid), files, problems)
        first = files[where[0][0]], where[0][1]
        user_id, action_count, table_row = session_rows.get(sid, (None, None, None))
        if user_id is None:
            user_id = user_id_from_session_id(sid)
            if user_id is None:
                problems.found(DataError(f"session {sid!r} is not in the session table and its id "
                                         "is not {user_id}_{start}_{end}", file=first[0],
                                         row=first[1], field="session_id",
                                         reason="unparseable_session_id"), "session skipped")
                continue
            if session_rows:
                problems.found(DataError(f"session {sid!r} is not in the session table",
                                         file=first[0], row=first[1], field="session_id",
                                         reason="user_id_from_session_id"),
                               f"user id {user_id!r} taken from the session id", note=True)
        if user_id not in users:
            problems.found(DataError(f"session {sid!r} belongs to user {user_id!r}, who is not in "
                                     "the user table", file=first[0], row=first[1],
                                     field="session_id", reason="session_without_user"),
                           f"session skipped ({len(steps)} steps)")
            continue
        if action_count is not None and action_count != len(steps):
            problems.found(DataError(f"session {sid!r} has action_count {action_count} but "
                                     f"{len(steps)} steps were loaded", file=session_file,
                                     row=table_row, field="action_count",
                                     reason="action_count_mismatch"),
                           "kept", note=True)
        sessions[sid] = Session(session_id=sid, user_id=user_id, steps=steps,
                                action_count=action_count)
        locators[sid] = where
    for sid in sorted(set(session_rows) - with_rows):
        problems.found(DataError(f"session {sid!r} has no loadable action rows", file=session_file,
                                 row=session_rows[sid][2], field="session_id",
                                 reason="session_without_actions"), "nothing to load", note=True)

    report.loaded.update(sessions=len(sessions), users=len(users),
                         steps=sum(len(s) for s in sessions.values()))
    if not sessions:
        raise DataError(f"no session could be loaded from {source.description}\n{report.summary()}",
                        reason="empty_store")
    return SessionIndex(users=users, sessions=sessions, locators=locators, report=report)
