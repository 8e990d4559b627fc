"""Memory: the index costs far less than the pages, and reading every page stays bounded.

The store is measured in a fresh interpreter (``python -m customer_env.data.measure --source
DIR``) so the numbers are its own, not the test runner's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import opera_rows as F
from customer_env.data.measure import peak_rss_mib, reset_peak_rss, rss_mib

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

STEPS, PAGE_CHARS = 10, 100_000
ROW_GROUP = 16  # about 1.6 MB of pages per row group
SMALL, LARGE = 20, 80  # sessions: 20 MB and 80 MB of pages


def write_big(root: Path, sessions: int) -> Path:
    return F.write_store(root, actions=F.big_actions(sessions, STEPS, PAGE_CHARS, users=4),
                         user_rows=F.big_users(4), row_group_size=ROW_GROUP)


def measure(root: Path, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "customer_env.data.measure", "--source", str(root), *extra],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_index_is_far_smaller_than_pages_and_page_reading_is_bounded(tmp_path: Path) -> None:
    small = measure(write_big(tmp_path / "small", SMALL), "--page-cache-mib", "8")
    large = measure(write_big(tmp_path / "large", LARGE), "--page-cache-mib", "8")
    html_mib = large["page_chars"] / 2**20
    assert large["steps"] == LARGE * STEPS and large["report_ok"] and html_mib > 70
    # Opening and walking every step holds no page: a fraction of the pages' size.
    assert large["open_peak_mib"] < 0.5 * html_mib, large
    assert large["actions_rss_mib"] < 0.3 * html_mib, large
    # Reading every page session by session costs the cache, one row group being decoded and
    # allocator slack, above the index: the same for 4x the pages.
    extra_small = small["pages_peak_mib"] - small["actions_rss_mib"]
    extra_large = large["pages_peak_mib"] - large["actions_rss_mib"]
    assert extra_large < extra_small + 15, (small, large)
    assert extra_large < 0.5 * html_mib, large


def test_rss_helpers_see_an_allocation() -> None:
    reset_peak_rss()
    before = rss_mib()
    block = bytearray(64 * 2**20)
    assert peak_rss_mib() >= before + 60
    del block
