"""Shared test setup: an isolated cache, no network, and one small generated OPeRA store.

The environment variables are set when this file is imported, before any project module reads
them: ``CUSTOMER_R1_CACHE`` points at a fresh temporary directory (removed at the end of the
session, so tests never see or pollute a user's cache) and the Hugging Face libraries are
offline.

Fixtures:
    small_store_dir: A synthetic store in the hub layout (page_scale 0.05: small pages, real
        structure; both splits), generated once per test session.
    small_store: Its train split opened with ``open_store`` (shared, read-only: do not mutate).
    small_full_store: A smaller store of the full variant (scrolls, navigations, ...), opened.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

# pytest puts this directory (tests/) on sys.path to import this file, and tests/customer_env/
# would then shadow the real package as a namespace package: the repository root goes first.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path[:1]:
    sys.path.insert(0, _REPO_ROOT)

_TEST_CACHE = tempfile.mkdtemp(prefix="customer_r1-test-cache-")
os.environ["CUSTOMER_R1_CACHE"] = _TEST_CACHE
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

#: Parameters of the shared small store: enough users for the shuffled-persona ablation, enough
#: sessions in each split for selection and batching tests (16 train, 4 test), generated in
#: about a second.
SMALL_STORE = {"users": 4, "sessions": 20, "seed": 0, "page_scale": 0.05, "test_fraction": 0.3,
               "progress": False}
#: The full-variant store: three sessions (all train) are enough for the replay of its extra types.
SMALL_FULL_STORE = {"users": 2, "sessions": 3, "seed": 0, "page_scale": 0.05, "test_fraction": 0.0,
                    "full_variant": True, "progress": False}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_TEST_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def small_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic store written in the hub layout, shared by the whole session."""
    from customer_env.synthetic import generate_store

    out = tmp_path_factory.mktemp("opera_small") / "store"
    generate_store(out, **SMALL_STORE)
    return out


@pytest.fixture(scope="session")
def small_store(small_store_dir: Path) -> Any:
    """The small store opened with ``open_store`` (train split)."""
    from customer_env.data import open_store

    return open_store(str(small_store_dir))


@pytest.fixture(scope="session")
def small_full_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small synthetic store with the full variant, its train split opened."""
    from customer_env.data import open_store
    from customer_env.synthetic import generate_store

    out = tmp_path_factory.mktemp("opera_small_full") / "store"
    generate_store(out, **SMALL_FULL_STORE)
    return open_store(str(out), variant="full")
