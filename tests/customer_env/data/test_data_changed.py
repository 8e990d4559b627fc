"""A store whose files change after it was opened refuses to serve pages instead of serving others'."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import opera_rows as F
from customer_env.data import DataError, open_store

ACTION_FILE = "OPeRA_filtered/action/train-00000-of-00001.parquet"


def _other_version(tmp_path: Path) -> Path:
    """The same rows in reverse order: every old row index now points at another step's row."""
    other = F.write_store(tmp_path / "other", actions=list(reversed(F.filtered_actions())))
    return other / ACTION_FILE


def _replace(target: Path, source: Path, how: str) -> None:
    if how == "replaced":  # a new file renamed over the old one (new inode)
        tmp = target.with_suffix(".new")
        tmp.write_bytes(source.read_bytes())
        os.replace(tmp, target)
    else:  # rewritten in place (same inode)
        with open(target, "r+b") as handle:
            handle.truncate(0)
            handle.write(source.read_bytes())


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
def test_pages_of_a_changed_file_raise_a_data_error_naming_it(tmp_path: Path, how: str) -> None:
    root = F.write_store(tmp_path / "store")
    store = open_store(root)
    sid = store.session_ids[0]
    assert store.report.ok
    _replace(root / ACTION_FILE, _other_version(tmp_path), how)
    # Before: the old row indices were read from the new file (other steps' pages), report.ok True.
    with pytest.raises(DataError, match="changed after the store was opened") as caught:
        store.pages(store.session_ids[1])
    assert caught.value.reason == "changed_file" and caught.value.file == str(root / ACTION_FILE)
    assert not store.report.ok and store.report.skipped["changed_file"] == 1
    with pytest.raises(DataError, match="changed after the store was opened"):
        store.fingerprint  # noqa: B018 - a property: the content hash of files the index never saw
    with pytest.raises(DataError, match="changed_file|changed after"):
        pickle.loads(pickle.dumps(store)).pages(sid)  # a worker process's copy checks it too
    reopened = open_store(root)  # reopening reads the new version
    for session in reopened.iter_sessions():
        pages = reopened.pages(session.session_id)
        assert [f"<!-- action:{s.action_id} -->" in p for s, p in zip(session.steps, pages)] == \
            [True] * len(pages)


def test_an_unchanged_store_serves_pages_and_a_mode_change_is_not_a_change(tmp_path: Path) -> None:
    root = F.write_store(tmp_path / "store", files=2, row_group_size=2)
    store = open_store(root)
    fingerprint = store.fingerprint
    for path in root.rglob("*.parquet"):
        path.chmod(0o444)
    for session in store.iter_sessions():
        pages = store.pages(session.session_id)
        assert all(f"<!-- action:{s.action_id} -->" in p for s, p in zip(session.steps, pages))
    assert store.report.ok and open_store(root).fingerprint == fingerprint
