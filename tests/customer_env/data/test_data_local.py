"""Loading a local store in the hub layout from hand-written, real-shaped rows."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opera_rows as F
from customer_env.constants import action_files_glob
from customer_env.data import DataError, OperaStore, open_store
from customer_env.data.local import LocalSource


def test_steps_follow_timestamp_then_action_id_not_file_order(rows_store: Path) -> None:
    store = open_store(rows_store)
    for sid, expected in F.EXPECTED_ORDER.items():
        steps = store.session(sid).steps
        assert [s.action_id for s in steps] == expected
        assert [s.index for s in steps] == list(range(len(expected)))
    assert store.report.ok and not store.report.notes


def test_session_ids_sorted_and_users_joined_through_the_session_table(rows_store: Path) -> None:
    store = open_store(rows_store)
    assert store.session_ids == sorted(F.EXPECTED_ORDER)
    assert store.user_ids == sorted([F.USER_A, F.USER_B])
    assert [s.session_id for s in store.sessions_of(F.USER_A)] == sorted([F.SESSION_A1, F.SESSION_A2])
    assert store.sessions_of("nobody") == []
    assert store.session(F.SESSION_B1).user_id == F.USER_B
    assert store.session(F.SESSION_B1).action_count == 5
    assert [s.session_id for s in store.iter_sessions()] == store.session_ids
    assert len(store) == 3 and F.SESSION_A1 in store
    with pytest.raises(KeyError, match="no session"):
        store.session("missing")


def test_the_session_table_decides_the_user_not_the_id_prefix(tmp_path: Path) -> None:
    actions = F.filtered_actions()
    table = F.sessions(actions)
    for row in table:
        row["user_id"] = F.USER_B  # the table says every session is B's
    store = open_store(F.write_store(tmp_path, actions=actions, session_rows=table))
    assert {s.user_id for s in store.iter_sessions()} == {F.USER_B}


def test_json_inside_strings_is_decoded_including_element_meta_data(rows_store: Path) -> None:
    step = open_store(rows_store).session(F.SESSION_A1).steps[1]
    assert step.action.type == "click" and step.action.click_type == "product_link"
    assert step.action.name == f"4_stars_and_above.{F.RICE_COOKER}.product_title"
    assert step.element_meta == {"name": "promotion_items", "data": F.ELEMENT_DATA}
    assert step.mouse_position["pageY"] == 1421
    assert step.window_size == {"width": 1920, "height": 934}
    assert step.page_meta == F.PAGE_META
    assert step.products[0]["asin"] == "B01L9SD3K0"
    assert step.rationale == "It has good reviews and the price is fine."
    assert step.timestamp == "2025-04-14T21:52:57.792Z"


def test_non_clicks_have_no_click_type_and_inputs_keep_their_text(rows_store: Path) -> None:
    steps = open_store(rows_store).session(F.SESSION_B1).steps
    first, last = steps[0], steps[-1]
    assert first.action.type == "input" and first.action.text == "usb c cable"
    assert first.action.click_type is None and first.element_meta is None
    assert last.action.type == "terminate" and last.action.to_wire() == {"type": "terminate"}
    assert steps[1].rationale is None


def test_persona_from_survey_and_interview_summary_only_when_present(rows_store: Path) -> None:
    store = open_store(rows_store)
    a, b = store.users[F.USER_A], store.users[F.USER_B]
    assert a.persona.self_description == "I compare prices. I trust reviews."
    assert a.persona.demographics["Age"] == "25-34"
    assert a.persona.personality["MBTI"] == "INTJ"
    assert a.persona.interview_summary == "Buys kitchen gadgets after reading reviews."
    assert a.raw_survey == {"Q1": "25-34"} and a.interview_transcript is None
    assert b.persona.interview_summary is None and b.raw_survey is None
    assert "Interview summary" not in b.persona.to_text()
    assert store.user_of(F.SESSION_B1) is b


def test_pages_align_with_steps_across_files_and_row_groups(tmp_path: Path) -> None:
    F.write_store(tmp_path, files=3, row_group_size=2)
    store = open_store(tmp_path)
    assert len(list(tmp_path.glob(action_files_glob("filtered", "train")))) == 3
    for session in store.iter_sessions():
        pages = store.pages(session.session_id)
        assert len(pages) == len(session.steps)
        for step, page in zip(session.steps, pages):
            assert f"<!-- action:{step.action_id} -->" in page
            if step.action.name:
                assert f'name="{step.action.name}"' in page


def test_pages_are_cached_and_the_cache_is_bounded(rows_store: Path) -> None:
    source = LocalSource(rows_store, "filtered", "train")
    # A 1-byte budget: every session is over it, so only the latest one is kept.
    store = OperaStore(source, variant="filtered", split="train", page_cache_bytes=1)
    first = store.pages(F.SESSION_A1)
    assert store.pages(F.SESSION_A1) == first
    store.pages(F.SESSION_B1)
    assert list(store._page_cache) == [(F.SESSION_B1, "simplified_html")]
    first.append("mutating a returned list does not touch the cache")
    assert len(store.pages(F.SESSION_A1)) == 3


def test_full_variant_keeps_its_extra_action_types_and_columns(rows_store: Path) -> None:
    store = open_store(rows_store, variant="full")
    assert store.variant == "full" and store.report.ok
    a1 = store.session(F.SESSION_A1)
    assert [s.action.type for s in a1.steps] == ["input", "click", "scroll", "navigation", "click"]
    scroll, navigation = a1.steps[2], a1.steps[3]
    assert scroll.extra["scroll_detail"] == {"scroll_current_top": "640", "scroll_current_left": "0"}
    assert navigation.extra["navigation_type"] == "link"
    assert a1.steps[1].extra["target"] == json.dumps({"tag": "DIV"})
    assert "tab_activate" in [s.action.type for s in store.session(F.SESSION_B1).steps]
    after = store.pages(F.SESSION_A1, column="simplified_html_new_page")
    assert len(after) == len(a1.steps)


def test_test_split_and_missing_split_files(tmp_path: Path) -> None:
    F.write_store(tmp_path, split="test")
    assert open_store(tmp_path, split="test").split == "test"
    with pytest.raises(DataError, match="no action files"):
        open_store(tmp_path, split="train")


def test_fingerprint_is_stable_and_changes_with_any_file(tmp_path: Path) -> None:
    F.write_store(tmp_path)
    first = open_store(tmp_path).fingerprint
    assert len(first) == 64 and open_store(tmp_path).fingerprint == first
    user_path = tmp_path / "OPeRA_filtered/user/train/train.parquet"
    users = F.users()
    users[0]["interview_transcript_processed"] = "Changed."
    table = pq.read_table(user_path)
    column = pa.array([u["interview_transcript_processed"] for u in users])
    pq.write_table(table.set_column(4, "interview_transcript_processed", column), user_path)
    assert open_store(tmp_path).fingerprint != first


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variant"):
        open_store(tmp_path, variant="tiny")
    with pytest.raises(ValueError, match="split"):
        open_store(tmp_path, split="dev")
    with pytest.raises(ValueError, match="revision"):
        open_store(tmp_path, revision="main")
    with pytest.raises(ValueError, match="page_scale"):
        open_store(tmp_path, page_scale=0.5)
    with pytest.raises(DataError, match="no such directory"):
        open_store(tmp_path / "absent")
    with pytest.raises(DataError, match="OPeRA_filtered"):
        open_store(tmp_path)


def test_description_names_source_and_size(rows_store: Path) -> None:
    store = open_store(rows_store)
    assert str(rows_store) in store.description and "3 sessions" in store.description
    assert "2 users" in repr(store)


def test_store_pickles_without_its_page_cache(rows_store: Path) -> None:
    store = open_store(rows_store)
    pages = store.pages(F.SESSION_A1)
    copy = pickle.loads(pickle.dumps(store))
    assert not copy._page_cache and copy.session_ids == store.session_ids
    assert copy.pages(F.SESSION_A1) == pages and copy.fingerprint == store.fingerprint


def test_users_mapping_is_read_only(rows_store: Path) -> None:
    users = open_store(rows_store).users
    with pytest.raises(TypeError):
        users["x"] = users[F.USER_A]  # type: ignore[index]


def test_pages_refuses_a_column_that_is_not_a_page(rows_store: Path) -> None:
    with pytest.raises(ValueError, match="page column"):
        open_store(rows_store).pages(F.SESSION_A1, column="url")
