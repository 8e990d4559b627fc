"""The synthetic generator's stores load cleanly, through a path and as the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_env.data import open_store

synthetic = pytest.importorskip("customer_env.synthetic")


def _check_store(store) -> None:
    assert store.report.ok and not store.report.notes, store.report.summary()
    assert store.session_ids == sorted(store.session_ids)
    for session in store.iter_sessions():
        assert session.user_id in store.users
        assert session.action_count == len(session.steps)
        assert [s.index for s in session.steps] == list(range(len(session.steps)))
        pages = store.pages(session.session_id)
        assert len(pages) == len(session.steps)
        for step, page in zip(session.steps, pages):
            assert page
            if step.action.type in ("click", "input"):
                assert f'name="{step.action.name}"' in page, (session.session_id, step.index)


@pytest.mark.parametrize("split", ["train", "test"])
def test_small_generated_store_through_its_path(small_store_dir: Path, split: str) -> None:
    _check_store(open_store(small_store_dir, split=split))


def test_generated_full_variant(tmp_path: Path) -> None:
    synthetic.generate_store(tmp_path / "store", users=3, sessions=6, seed=1, page_scale=0.05,
                             full_variant=True, progress=False)
    store = open_store(tmp_path / "store", variant="full")
    assert store.report.ok, store.report.summary()
    types = {s.action.type for session in store.iter_sessions() for s in session.steps}
    assert {"click", "scroll"} <= types
    sid = store.session_ids[0]
    assert len(store.pages(sid, column="simplified_html_new_page")) == len(store.session(sid).steps)


@pytest.mark.slow
def test_embedded_default_is_generated_once_into_the_cache(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_R1_CACHE", str(tmp_path / "cache"))
    store = open_store(page_scale=0.05)
    assert "embedded synthetic store" in store.description
    assert str(tmp_path / "cache") in store.description
    _check_store(store)
    again = open_store("embedded", page_scale=0.05)
    assert again.fingerprint == store.fingerprint and again.session_ids == store.session_ids
    assert open_store(page_scale=0.05, split="test").split == "test"
