"""Small readers shared by the synthetic-store tests (plain pyarrow, independent of the loader)."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from customer_env.constants import action_files_glob, session_file, user_file


def action_rows(
    root: Path, variant: str = "filtered", split: str | None = None, columns: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every action row of a variant (both splits unless ``split``), in file order."""
    rows: list[dict[str, Any]] = []
    for s in [split] if split else ["train", "test"]:
        for path in sorted(glob.glob(str(root / action_files_glob(variant, s)))):
            rows.extend(pq.read_table(path, columns=columns).to_pylist())
    return rows


def sessions_of(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by session, each session ordered by (timestamp, action_id)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["session_id"], []).append(r)
    return {sid: sorted(rs, key=lambda r: (r["timestamp"], r["action_id"])) for sid, rs in out.items()}


def users(root: Path, split: str, variant: str = "filtered") -> list[dict[str, Any]]:
    return pq.read_table(root / user_file(variant, split)).to_pylist()


def session_table(root: Path, split: str, variant: str = "filtered") -> list[dict[str, Any]]:
    return pq.read_table(root / session_file(variant, split)).to_pylist()


def survey_score(user_row: dict[str, Any], section_key: str, item_prefix: str) -> int:
    """A 1-5 survey answer whose item text starts with ``item_prefix``."""
    survey = json.loads(user_row["survey"])
    items = survey["Shopping Preference"][section_key]
    return next(int(v) for k, v in items.items() if k.startswith(item_prefix))
