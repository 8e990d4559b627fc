"""Bad data: strict mode names file, row and field; lenient mode skips, counts and logs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opera_rows as F
from customer_env.data import DataError, open_store

ACTION_FILE = "OPeRA_filtered/action/train-00000-of-00001.parquet"
SESSION_FILE = "OPeRA_filtered/session/train/train.parquet"
USER_FILE = "OPeRA_filtered/user/train/train.parquet"


def _row_of(actions: list[dict[str, Any]], action_id: str) -> int:
    return next(i for i, row in enumerate(actions) if row["action_id"] == action_id)


def write_with(tmp_path: Path, change: Callable[[list[dict[str, Any]]], None]) -> tuple[Path, list]:
    """Write the fixture store after ``change`` edited its action rows in place."""
    actions = F.filtered_actions()
    change(actions)
    return F.write_store(tmp_path, actions=actions, session_rows=F.sessions(F.filtered_actions())), actions


def assert_strict_names(root: Path, file: str, row: int | None, field: str, **kwargs: Any) -> None:
    with pytest.raises(DataError) as caught:
        open_store(root, strict=True, **kwargs)
    message = str(caught.value)
    assert file in message and f"field {field!r}" in message, message
    if row is not None:
        assert f"row {row}" in message and caught.value.row == row, message
    assert caught.value.field == field


ROW_CASES = {
    # case: (action id edited, field, new value, reason, what lenient mode loads)
    "malformed page_meta": ("dfcaffdb-fc93-4fb0-afc6-649f1636d619", "page_meta", '{"cart_items": [',
                            "malformed_json", "field"),
    "malformed element_meta.data": ("dfcaffdb-fc93-4fb0-afc6-649f1636d619", "element_meta",
                                    '{"name": "promotion_items", "data": "{\\"title\\": "}',
                                    "malformed_json", "field"),
    "unknown action type": ("b1000000-0000-4000-8000-000000000004", "action_type", "hover",
                            "unknown_action_type", "row"),
    "full-only type in filtered": ("b1000000-0000-4000-8000-000000000004", "action_type", "scroll",
                                   "unknown_action_type", "row"),
    "unknown click type": ("b1000000-0000-4000-8000-000000000004", "click_type", "wiggle",
                           "unknown_click_type", "field"),
    "missing click type": ("b1000000-0000-4000-8000-000000000004", "click_type", None,
                           "missing_click_type", "field"),
    "empty action id": ("b1000000-0000-4000-8000-000000000004", "action_id", "",
                        "missing_value", "row"),
    "click without semantic id": ("b1000000-0000-4000-8000-000000000004", "semantic_id", None,
                                  "missing_value", "row"),
    "bad timestamp": ("b1000000-0000-4000-8000-000000000004", "timestamp", "yesterday",
                      "bad_timestamp", "row"),
}


@pytest.mark.parametrize("case", sorted(ROW_CASES))
def test_row_problems(tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture) -> None:
    action_id, field, value, reason, lenient = ROW_CASES[case]
    row = _row_of(F.filtered_actions(), action_id)
    root, _ = write_with(tmp_path, lambda actions: actions[row].update({field: value}))
    expected_field = "element_meta.data" if "element_meta" in case else field
    assert_strict_names(root, ACTION_FILE, row, expected_field)

    with caplog.at_level(logging.WARNING, logger="customer_env.data"):
        store = open_store(root)
    assert store.report.skipped == {reason: 1} and not store.report.ok
    assert reason in caplog.text and f"row {row}" in caplog.text
    assert any(ACTION_FILE in m and f"row {row}" in m for m in store.report.messages)
    steps = {s.action_id: s for sess in store.iter_sessions() for s in sess.steps}
    if lenient == "row":
        assert len(steps) == 9
        assert store.report.notes["action_count_mismatch"] == 1  # the table still says 5
    else:
        step = steps[action_id]
        if field == "click_type":
            assert step.action.click_type is None and step.action.type == "click"
        elif expected_field == "element_meta.data":
            assert step.element_meta == {"name": "promotion_items", "data": None}
        else:
            assert getattr(step, field) is None
    assert reason in store.report.summary()


def test_input_without_text_is_kept_with_empty_text_and_noted(tmp_path: Path) -> None:
    aid = "b1000000-0000-4000-8000-000000000001"
    root, actions = write_with(tmp_path, lambda a: a[_row_of(a, aid)].update(input_text=None))
    assert_strict_names(root, ACTION_FILE, _row_of(actions, aid), "input_text")
    store = open_store(root)
    assert store.report.ok and store.report.notes == {"input_without_text": 1}
    assert store.session(F.SESSION_B1).steps[0].action.text == ""


def test_duplicate_action_id_drops_the_later_row(tmp_path: Path) -> None:
    duplicate = dict(F.filtered_actions()[1], url="https://copy")  # a1's add_to_cart again
    root, actions = write_with(tmp_path, lambda a: a.append(duplicate))
    assert_strict_names(root, ACTION_FILE, len(actions) - 1, "action_id")
    store = open_store(root)
    assert store.report.skipped == {"duplicate_action_id": 1}
    steps = store.session(F.SESSION_A1).steps
    assert len(steps) == 3 and all(s.url != "https://copy" for s in steps)


def test_session_without_user_is_skipped(tmp_path: Path) -> None:
    F.write_store(tmp_path, user_rows=F.users()[:1])  # user B missing
    assert_strict_names(tmp_path, ACTION_FILE, None, "session_id")
    store = open_store(tmp_path)
    assert store.report.skipped == {"session_without_user": 1}
    assert store.session_ids == sorted([F.SESSION_A1, F.SESSION_A2])
    assert F.USER_B in store.report.messages[0]


def test_session_missing_from_session_table_takes_user_from_its_id(tmp_path: Path) -> None:
    table = [r for r in F.sessions(F.filtered_actions()) if r["session_id"] != F.SESSION_B1]
    F.write_store(tmp_path, session_rows=table)
    assert_strict_names(tmp_path, ACTION_FILE, None, "session_id")
    store = open_store(tmp_path)
    assert store.report.ok and store.report.notes == {"user_id_from_session_id": 1}
    assert store.session(F.SESSION_B1).user_id == F.USER_B
    assert store.session(F.SESSION_B1).action_count is None


def test_unparseable_session_id_without_table_row_is_skipped(tmp_path: Path) -> None:
    root, _ = write_with(tmp_path, lambda a: [r.update(session_id="weird") for r in a
                                              if r["session_id"] == F.SESSION_B1])
    store = open_store(root)
    assert store.report.skipped == {"unparseable_session_id": 1}
    assert store.report.notes == {"session_without_actions": 1}  # the table's B1 has no rows now
    assert len(store) == 2


def test_session_table_problems(tmp_path: Path) -> None:
    table = F.sessions(F.filtered_actions())
    table[0]["action_count"] = 99
    F.write_store(tmp_path, session_rows=table)
    assert_strict_names(tmp_path, SESSION_FILE, 0, "action_count")

    ghost = {"session_id": "ghost_2025-01-01T00:00:00Z_2025-01-01T00:01:00Z",
             "user_id": F.USER_A, "action_count": 3}
    table += [dict(table[1]), ghost, {"session_id": "no-user", "user_id": None, "action_count": 1}]
    F.write_store(tmp_path, session_rows=table)
    assert_strict_names(tmp_path, SESSION_FILE, 3, "session_id")  # the duplicate comes first
    store = open_store(tmp_path)
    assert store.report.skipped == {"duplicate_session_row": 1, "missing_value": 1}
    assert store.report.notes == {"action_count_mismatch": 1, "session_without_actions": 1}
    assert any("row 4" in m and "ghost" in m for m in store.report.messages)
    assert len(store) == 3


def test_bad_survey_skips_the_user_and_then_their_sessions(tmp_path: Path) -> None:
    users = F.users()
    users[1]["survey"] = "{not json"
    F.write_store(tmp_path, user_rows=users)
    assert_strict_names(tmp_path, USER_FILE, 1, "survey")
    store = open_store(tmp_path)
    assert store.report.skipped == {"malformed_json": 1, "session_without_user": 1}
    assert F.USER_B not in store.users


def test_duplicate_user_keeps_the_first(tmp_path: Path) -> None:
    users = F.users() + [dict(F.users()[0], interview_transcript_processed="second")]
    F.write_store(tmp_path, user_rows=users)
    assert_strict_names(tmp_path, USER_FILE, 2, "user_id")
    store = open_store(tmp_path)
    assert store.report.skipped == {"duplicate_user_id": 1}
    assert store.users[F.USER_A].persona.interview_summary != "second"


def test_empty_page_keeps_the_step_and_is_counted_when_read(tmp_path: Path) -> None:
    aid = "a2000000-0000-4000-8000-000000000001"
    root, actions = write_with(tmp_path, lambda a: a[_row_of(a, aid)].update(simplified_html=""))
    store = open_store(root)
    assert store.report.ok and not store.report.notes
    pages = store.pages(F.SESSION_A2)
    assert pages[0] == "" and len(pages) == 2
    assert store.report.notes == {"empty_page": 1}
    store.pages(F.SESSION_A2)
    assert store.report.notes == {"empty_page": 1}  # counted once, not once per read
    strict = open_store(root, strict=True)
    with pytest.raises(DataError) as caught:
        strict.pages(F.SESSION_A2)
    assert ACTION_FILE in str(caught.value) and f"row {_row_of(actions, aid)}" in str(caught.value)
    assert caught.value.field == "simplified_html"


def test_missing_or_corrupt_files(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    (tmp_path / ACTION_FILE).write_bytes(b"PAR1 this is not parquet")
    for strict in (True, False):
        with pytest.raises(DataError, match="not a readable parquet file") as caught:
            open_store(tmp_path, strict=strict)
        assert ACTION_FILE in str(caught.value)
    (tmp_path / ACTION_FILE).unlink()
    for strict in (True, False):
        with pytest.raises(DataError, match="no action files"):
            open_store(tmp_path, strict=strict)


def test_missing_user_table_is_an_error_that_explains(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    (tmp_path / USER_FILE).unlink()
    for strict in (True, False):
        with pytest.raises(DataError, match="no user table.*persona"):
            open_store(tmp_path, strict=strict)


def test_missing_session_table_falls_back_to_session_ids(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    (tmp_path / SESSION_FILE).unlink()
    with pytest.raises(DataError, match="no session table"):
        open_store(tmp_path, strict=True)
    store = open_store(tmp_path)
    assert store.report.skipped == {"session_table_missing": 1}
    assert not store.report.notes  # one explanation, not one note per session
    assert store.session(F.SESSION_B1).user_id == F.USER_B


def _rewrite(path: Path, edit: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(edit(pq.read_table(path)), path)


def test_missing_columns(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    path = tmp_path / ACTION_FILE
    _rewrite(path, lambda t: t.drop_columns(["rationale"]))
    assert_strict_names(tmp_path, ACTION_FILE, None, "rationale")
    store = open_store(tmp_path)
    assert store.report.skipped == {"missing_column": 1}
    assert all(s.rationale is None for sess in store.iter_sessions() for s in sess.steps)
    _rewrite(path, lambda t: t.drop_columns(["action_type"]))
    for strict in (True, False):
        with pytest.raises(DataError, match="no 'action_type' column"):
            open_store(tmp_path, strict=strict)


def test_convertible_column_types_are_converted_and_counted(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    session_path = tmp_path / SESSION_FILE
    _rewrite(session_path, lambda t: t.set_column(2, "action_count", t.column(2).cast(pa.string())))
    assert_strict_names(tmp_path, SESSION_FILE, None, "action_count")
    store = open_store(tmp_path)
    assert store.report.skipped == {"column_type": 1}
    assert store.session(F.SESSION_B1).action_count == 5  # converted back, nothing lost

    rows = len(F.filtered_actions())
    _rewrite(tmp_path / ACTION_FILE, lambda t: t.set_column(
        t.schema.get_field_index("image"), "image", pa.array([7] * rows, pa.int64())))
    store = open_store(tmp_path)
    assert store.report.skipped == {"column_type": 2}
    assert store.session(F.SESSION_A1).steps[0].extra == {"image": "7"}


def test_unusable_column_type_is_an_error(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    action_path = tmp_path / ACTION_FILE

    def struct_type(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("action_type")
        values = pa.array([{"kind": v} for v in t.column(i).to_pylist()])
        return t.set_column(i, "action_type", values)

    _rewrite(action_path, struct_type)
    for strict in (True, False):
        with pytest.raises(DataError, match="should hold text") as caught:
            open_store(tmp_path, strict=strict)
        assert caught.value.field == "action_type" and ACTION_FILE in str(caught.value)


def test_nothing_loadable_is_an_error(tmp_path: Path) -> None:
    F.write_store(tmp_path, user_rows=[dict(F.users()[0], user_id="someone-else")])
    with pytest.raises(DataError, match="no session could be loaded") as caught:
        open_store(tmp_path)
    assert "session_without_user=3" in str(caught.value)


def test_unconvertible_values_in_an_optional_column(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    path = tmp_path / SESSION_FILE
    _rewrite(path, lambda t: t.set_column(2, "action_count", pa.array(["3", "two", "5"])))
    assert_strict_names(tmp_path, SESSION_FILE, None, "action_count")
    store = open_store(tmp_path)
    assert store.report.skipped == {"column_type": 1}
    assert "cannot be converted" in store.report.messages[0]
    assert all(s.action_count is None for s in store.iter_sessions())
