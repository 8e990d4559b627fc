"""Fixtures of the data-layer tests; the hand-written rows live in ``tests/fixtures/opera_rows.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_FIXTURES = str(Path(__file__).resolve().parents[2] / "fixtures")
if _FIXTURES not in sys.path:
    sys.path.append(_FIXTURES)

import opera_rows  # noqa: E402


@pytest.fixture
def rows_store(tmp_path: Path) -> Path:
    """The hand-written rows written as a store (both variants, train split, one action file)."""
    opera_rows.write_store(tmp_path, variant="filtered")
    opera_rows.write_store(tmp_path, variant="full")
    return tmp_path
