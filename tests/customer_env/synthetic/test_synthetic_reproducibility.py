"""Same arguments, same bytes; the page scale changes filler only; writing is atomic."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from synthetic_store_reading import action_rows, session_table, users

from customer_env.constants import (
    FILTERED_ACTION_COLUMNS,
    FULL_ACTION_COLUMNS,
    PAGE_COLUMNS,
)
from customer_env.synthetic import generate as generate_module
from customer_env.synthetic import GENERATOR_VERSION, generate_store

SMALL = {"users": 4, "sessions": 12, "seed": 3, "full_variant": True, "progress": False}
NAME = re.compile(r' name="([^"]*)"')


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_byte_identical_files(tmp_path):
    first = generate_store(tmp_path / "a", page_scale=0.05, **SMALL)
    second = generate_store(tmp_path / "b", page_scale=0.05, **SMALL)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) == 13
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
    assert first.train_rows == second.train_rows


def test_another_seed_gives_another_store(tmp_path):
    generate_store(tmp_path / "a", page_scale=0.0, **SMALL)
    generate_store(tmp_path / "b", page_scale=0.0, **{**SMALL, "seed": 4})
    assert action_rows(tmp_path / "a", columns=["session_id"]) != action_rows(
        tmp_path / "b", columns=["session_id"]
    )


def test_page_scale_changes_only_filler(tmp_path):
    scales = (0.0, 0.05, 0.4)
    for scale in scales:
        generate_store(tmp_path / str(scale), page_scale=scale, **SMALL)
    stores = [tmp_path / str(s) for s in scales]
    for variant, columns in (("filtered", FILTERED_ACTION_COLUMNS), ("full", FULL_ACTION_COLUMNS)):
        rows = [action_rows(root, variant) for root in stores]
        plain = [[{c: r[c] for c in columns if c not in PAGE_COLUMNS} for r in rs] for rs in rows]
        assert plain[0] == plain[1] == plain[2], f"{variant}: actions differ across page scales"
        for column in (c for c in PAGE_COLUMNS if c in columns):
            for r0, r1, r2 in zip(*rows):
                if r0[column] is None:
                    assert r1[column] is None and r2[column] is None
                    continue
                assert NAME.findall(r0[column]) == NAME.findall(r1[column]) == NAME.findall(r2[column])
                assert len(r0[column]) <= len(r1[column]) <= len(r2[column])
    small, large = (_files(s) for s in (stores[0], stores[2]))
    for key in small:
        if "/session/" in key or "/user/" in key:
            assert small[key] == large[key], key


def test_existing_non_empty_directory_is_refused(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_store(tmp_path / "store", page_scale=0.0, **SMALL)
    assert (tmp_path / "store" / "keep.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    generate_store(tmp_path / "empty", page_scale=0.0, **SMALL)
    assert (tmp_path / "empty" / "synthetic_manifest.json").is_file()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"users": 5, "sessions": 4}, "at least one session per user"),
        ({"page_scale": -1.0}, "page_scale"),
        ({"test_fraction": 1.0}, "test_fraction"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_store(tmp_path / "store", **{**SMALL, **kwargs})
    assert not (tmp_path / "store").exists()


def test_a_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(generate_module, "filtered_rows", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_store(tmp_path / "store", page_scale=0.0, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_test_split_still_has_its_files(tmp_path):
    generate_store(tmp_path / "store", page_scale=0.0, **{**SMALL, "test_fraction": 0.0})
    assert action_rows(tmp_path / "store", "filtered", "test") == []
    assert action_rows(tmp_path / "store", "full", "test") == []
    assert len(action_rows(tmp_path / "store", "filtered", "train", ["session_id"])) > 0


def _content_digest(root: Path) -> str:
    """A digest of every table's rows (independent of the parquet writer's version)."""
    digest = hashlib.sha256()
    for variant in ("filtered", "full"):
        for split in ("train", "test"):
            for rows in (action_rows(root, variant, split), users(root, split, variant),
                         session_table(root, split, variant)):
                digest.update(json.dumps(rows, sort_keys=True).encode())
    return digest.hexdigest()


#: What the small store of each generator version holds. A change of the generated content must
#: come with a new GENERATOR_VERSION (cached embedded stores are named by it; an unchanged name
#: would silently reuse stale stores), and a refactor must leave the digest alone.
CONTENT_DIGESTS = {
    "1.1.0": "76715f2140a06598c70c37f53f5adc2fb6db5efd15afdfab3577a8cfc1ec7ce5",
}


def test_generated_content_is_pinned_to_the_generator_version(tmp_path):
    generate_store(tmp_path / "store", page_scale=0.05, **SMALL)
    assert _content_digest(tmp_path / "store") == CONTENT_DIGESTS.get(GENERATOR_VERSION), (
        "the generator's output changed: bump GENERATOR_VERSION and record the new digest"
    )
