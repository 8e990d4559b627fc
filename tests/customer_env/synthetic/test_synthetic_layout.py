"""The generated store has exactly OPeRA's layout, schema and encodings."""

from __future__ import annotations

import glob
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
from synthetic_store_reading import action_rows, session_table, sessions_of, users

from customer_env.constants import (
    CLICK_TYPES,
    FILTERED_ACTION_COLUMNS,
    FULL_ACTION_COLUMNS,
    SESSION_COLUMNS,
    SURVEY_SECTIONS,
    USER_COLUMNS,
    action_files_glob,
    session_file,
    user_file,
)
from customer_env.synthetic import MANIFEST_NAME
from customer_env.synthetic.personas import CSI_ITEMS, CSI_KEY

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
SESSION_ID = re.compile(
    rf"^{UUID4}_\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}000Z_\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}000Z$"
)
TIMESTAMP = re.compile(r"^2025-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_files_are_in_the_hub_layout(tiny_store):
    for variant in ("filtered", "full"):
        for split in ("train", "test"):
            shards = sorted(glob.glob(str(tiny_store / action_files_glob(variant, split))))
            assert shards, (variant, split)
            for k, path in enumerate(shards):
                assert path.endswith(f"{split}-{k:05d}-of-{len(shards):05d}.parquet")
            assert (tiny_store / session_file(variant, split)).is_file()
            assert (tiny_store / user_file(variant, split)).is_file()
    manifest = json.loads((tiny_store / MANIFEST_NAME).read_text())
    assert manifest["seed"] == 0 and manifest["sessions"] == 40 and manifest["generator_version"]


def test_schemas_match_the_published_columns_exactly(tiny_store):
    for variant, columns in (("filtered", FILTERED_ACTION_COLUMNS), ("full", FULL_ACTION_COLUMNS)):
        for path in glob.glob(str(tiny_store / action_files_glob(variant, "*"))):
            schema = pq.read_schema(path)
            assert tuple(schema.names) == columns
            assert all(f.type == pa.string() and f.nullable for f in schema)
        session_schema = pq.read_schema(tiny_store / session_file(variant, "train"))
        assert tuple(session_schema.names) == SESSION_COLUMNS
        assert session_schema.field("action_count").type == pa.int64()
        assert session_schema.field("session_id").type == pa.string()
        user_schema = pq.read_schema(tiny_store / user_file(variant, "test"))
        assert tuple(user_schema.names) == USER_COLUMNS and all(f.type == pa.string() for f in user_schema)


def test_row_groups_are_small_so_pages_can_be_read_lazily(tiny_store):
    path = sorted(glob.glob(str(tiny_store / action_files_glob("filtered", "train"))))[0]
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups > 1
    assert all(meta.row_group(i).num_rows <= 32 for i in range(meta.num_row_groups))


def test_ids_and_timestamps_have_the_real_shapes(tiny_store):
    by_session = sessions_of(action_rows(tiny_store))
    for sid, rows in by_session.items():
        assert SESSION_ID.match(sid), sid
        start, end = sid.split("_")[1:]
        times = [r["timestamp"] for r in rows]
        assert all(TIMESTAMP.match(t) for t in times)
        assert len(set(times)) == len(times), "steps are strictly ordered by timestamp"
        assert start[:23] <= times[0][:23] and times[-1][:23] <= end[:23]
        assert all(re.fullmatch(UUID4, r["action_id"]) for r in rows)


def test_json_fields_decode_and_element_meta_data_decodes_again(tiny_store):
    for r in action_rows(tiny_store):
        window = json.loads(r["window_size"])
        assert set(window) == {"width", "height"}
        meta = json.loads(r["page_meta"])
        assert meta == {} or set(meta) == {"search_term", "cart_items"}
        if r["mouse_position"] is not None:
            assert set(json.loads(r["mouse_position"])) == {
                "clientX",
                "clientY",
                "pageX",
                "pageY",
                "screenX",
                "screenY",
            }
        if r["element_meta"] is not None:
            outer = json.loads(r["element_meta"])
            assert set(outer) == {"name", "data"} and isinstance(outer["data"], str)
            assert isinstance(json.loads(outer["data"]), dict)
        if r["products"] is not None:
            for product in json.loads(r["products"]):
                assert set(product) == {"asin", "title", "price", "quantity", "options"}
                assert isinstance(product["quantity"], int) and isinstance(product["options"], list)
        assert r["image"] == "" or re.fullmatch(r"[0-9a-f]{6}\.png", r["image"])


def test_fields_are_null_where_they_do_not_apply(tiny_store):
    for r in action_rows(tiny_store):
        kind = r["action_type"]
        assert kind in ("click", "input", "terminate")
        assert (r["click_type"] is not None) == (kind == "click")
        assert r["click_type"] is None or r["click_type"] in CLICK_TYPES
        assert (r["semantic_id"] is None) == (kind == "terminate")
        assert (r["input_text"] is not None) == (kind == "input")
        assert (r["element_meta"] is not None) == (kind == "click")
        assert (r["mouse_position"] is None) == (kind == "terminate")
        assert r["rationale"] is None or r["rationale"].strip()
        assert r["products"] is None or r["click_type"] == "purchase"
        assert r["simplified_html"].startswith(
            '<html><head></head><body><div name="nav_bar" role="navigation"'
        )


def test_sessions_end_with_a_purchase_click_or_terminate(tiny_store):
    for rows in sessions_of(action_rows(tiny_store)).values():
        last = rows[-1]
        assert last["action_type"] == "terminate" or last["click_type"] == "purchase"
        assert all(r["action_type"] != "terminate" for r in rows[:-1])


def test_session_and_user_tables_agree_with_the_actions(tiny_store):
    for variant in ("filtered", "full"):
        for split in ("train", "test"):
            counts = {
                sid: len(rows)
                for sid, rows in sessions_of(
                    action_rows(tiny_store, variant, split, ["session_id", "timestamp", "action_id"])
                ).items()
            }
            table = session_table(tiny_store, split, variant)
            assert {r["session_id"]: r["action_count"] for r in table} == counts
            assert {r["user_id"] for r in table} == {u["user_id"] for u in users(tiny_store, split, variant)}
            assert all(r["session_id"].startswith(r["user_id"] + "_") for r in table)


def test_user_survey_has_the_opera_sections(tiny_store):
    for user in users(tiny_store, "train"):
        survey = json.loads(user["survey"])
        assert tuple(survey) == SURVEY_SECTIONS
        assert survey["Self Description"]["Two sentence description"].count(".") >= 2
        assert set(survey["Personality"]) >= {
            "Openness",
            "Conscientiousness",
            "Extraversion",
            "Agreeableness",
            "Neuroticism",
        }
        csi = survey["Shopping Preference"][CSI_KEY]
        assert list(csi) == list(CSI_ITEMS) and all(1 <= v <= 5 for v in csi.values())
        assert isinstance(json.loads(user["raw_survey"]), dict)
        assert isinstance(user["interview_transcript"], str) and isinstance(
            user["interview_transcript_processed"], str
        )
        assert bool(user["interview_transcript"]) == bool(user["interview_transcript_processed"])


def test_full_variant_interleaves_scroll_navigation_and_tab_rows(tiny_store):
    full = action_rows(tiny_store, "full")
    kinds = {r["action_type"] for r in full}
    assert kinds == {"click", "input", "scroll", "navigation", "tab_activate"}
    for r in full:
        assert (r["scroll_detail"] is not None) == (r["action_type"] == "scroll")
        assert (r["navigation_type"] is not None) == (r["action_type"] == "navigation")
        if r["action_type"] in ("navigation", "tab_activate"):
            assert r["simplified_html_new_page"].startswith("<html>")
        if r["action_type"] == "scroll":
            assert set(json.loads(r["scroll_detail"])) == {
                "scroll_current_top",
                "scroll_current_left",
                "scroll_distance_x",
                "scroll_distance_y",
            }
    filtered = {r["action_id"]: r for r in action_rows(tiny_store) if r["action_type"] != "terminate"}
    shared = {r["action_id"]: r for r in full if r["action_id"] in filtered}
    assert shared.keys() == filtered.keys(), "every filtered click and input is in the full log"
    for aid, r in shared.items():
        assert all(r[c] == filtered[aid][c] for c in FILTERED_ACTION_COLUMNS)
