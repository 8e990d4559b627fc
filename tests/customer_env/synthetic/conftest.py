"""Stores generated once per test session for the synthetic-store tests.

``tiny_store``: 8 users, 40 sessions, small pages, both variants (layout, encodings, gold names).
``default_size_store``: the default store's users and sessions with small pages (calibration and
persona effects need the default number of sessions; small pages keep it at about two seconds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_env.synthetic import generate_store

TINY = {"users": 8, "sessions": 40, "seed": 0, "page_scale": 0.05, "full_variant": True, "progress": False}
DEFAULT_SIZE = {"users": 50, "sessions": 500, "seed": 0, "page_scale": 0.05, "progress": False}


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    generate_store(out, **TINY)
    return out


@pytest.fixture(scope="session")
def default_size_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "default_size"
    generate_store(out, **DEFAULT_SIZE)
    return out
