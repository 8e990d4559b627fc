"""The hub source, without a network: ``datasets.load_dataset`` reads a local store's parquet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import opera_rows as F
from customer_env.constants import HUB_REPO_ID, action_files_glob, session_file, user_file
from customer_env.data import DataError, open_store

datasets = pytest.importorskip("datasets")
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Serves ``load_dataset(NEU-HAI/OPeRA, config, split, revision)`` from ``root``'s parquet."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.cache = cache
        self.calls: list[dict[str, Any]] = []
        self.real_load = datasets.load_dataset

    def load_dataset(self, path: str, name: str, *, split: str, revision: str | None = None) -> Any:
        assert path == HUB_REPO_ID
        self.calls.append({"name": name, "split": split, "revision": revision})
        variant, table = name.split("_")
        relative = {"action": action_files_glob(variant, split),
                    "session": session_file(variant, split),
                    "user": user_file(variant, split)}[table]
        files = sorted(str(p) for p in self.root.glob(relative))
        return self.real_load("parquet", data_files={split: files}, split=split,
                              cache_dir=str(self.cache))


@pytest.fixture
def fake_hub(rows_store: Path, tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """The fake hub over the fixture rows, patched into ``datasets``."""
    hub = FakeHub(rows_store, tmp_path_factory.mktemp("hf_cache"))
    monkeypatch.setattr(datasets, "load_dataset", hub.load_dataset)
    return hub


@pytest.mark.parametrize("variant", ["filtered", "full"])
def test_hub_gives_the_same_records_and_pages_as_the_local_copy(
        fake_hub: FakeHub, rows_store: Path, variant: str) -> None:
    hub = open_store("hub", variant=variant)
    local = open_store(rows_store, variant=variant)
    assert hub.session_ids == local.session_ids
    assert dict(hub.users) == dict(local.users)
    for sid in hub.session_ids:
        assert hub.session(sid) == local.session(sid)
        assert hub.pages(sid) == local.pages(sid)
    assert hub.report.ok
    assert {c["name"] for c in fake_hub.calls} == {f"{variant}_action", f"{variant}_session",
                                             f"{variant}_user"}
    assert HUB_REPO_ID in hub.description


def test_revision_is_passed_and_pins_the_fingerprint(fake_hub: FakeHub) -> None:
    store = open_store("hub", revision=COMMIT)
    assert {c["revision"] for c in fake_hub.calls} == {COMMIT}
    assert store.fingerprint == f"hub:{HUB_REPO_ID}@{COMMIT}"
    assert open_store("hub", revision="v1.0").fingerprint == f"hub:{HUB_REPO_ID}@v1.0"
    assert open_store("hub").fingerprint == f"hub:{HUB_REPO_ID}@main"  # nothing to resolve it


def test_hub_rows_are_located_for_strict_errors(fake_hub: FakeHub, tmp_path: Path) -> None:
    actions = F.filtered_actions()
    actions[4]["page_meta"] = "{broken"
    fake_hub.root = F.write_store(tmp_path, actions=actions)
    with pytest.raises(DataError) as caught:
        open_store("hub", strict=True)
    assert "filtered_action[train]" in str(caught.value) and caught.value.row == 4
    assert caught.value.field == "page_meta"
    assert open_store("hub").report.skipped == {"malformed_json": 1}


def test_offline_mode_fails_fast_with_advice(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # An empty cache, so a copy of OPeRA cached on this machine cannot make the load succeed.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    started = time.monotonic()
    with pytest.raises(DataError) as caught:
        open_store("hub")
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "local copy" in message and "open_store()" in message and "HF_HUB_OFFLINE" in message


def test_unreachable_hub_fails_fast_without_calling_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("datasets would retry for half a minute")

    monkeypatch.setattr(datasets, "load_dataset", must_not_run)
    started = time.monotonic()
    with pytest.raises(DataError, match="cannot reach the hub") as caught:
        open_store("hub")
    assert time.monotonic() - started < 10
    assert caught.value.reason == "hub_unreachable" and "open_store(DIR)" in str(caught.value)
