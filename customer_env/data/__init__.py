"""Reading OPeRA, from any source, into the records of :mod:`customer_env.records`.

Three sources give the same records: the embedded synthetic store (the default, generated on first
use), a local copy of the dataset repository, and the hub (``NEU-HAI/OPeRA`` through
``datasets``). Bad data is refused (``strict=True``) or skipped and counted in ``store.report``.

Example:
    >>> from customer_env.data import open_store
    >>> store = open_store()                       # doctest: +SKIP
    >>> store = StoreSpec(split="train").open()     # the same, from a spec  # doctest: +SKIP
    >>> session = store.session(store.session_ids[0])   # doctest: +SKIP
    >>> pages = store.pages(session.session_id)         # doctest: +SKIP
    >>> store.report.ok, store.fingerprint[:12]         # doctest: +SKIP
    (True, '3f1c...')
"""

from __future__ import annotations

from pathlib import Path

from customer_env.data.errors import DataError, LoadReport
from customer_env.data.spec import EMBEDDED, HUB, StoreSpec
from customer_env.data.store import OperaStore


def open_store(
    source: str | Path | None = None,
    variant: str = "filtered",
    split: str = "train",
    *,
    strict: bool = False,
    revision: str | None = None,
    page_scale: float | str | None = None,
) -> OperaStore:
    """Open one variant and split of OPeRA: ``StoreSpec(...).open()``.

    Args:
        source: None or ``"embedded"`` for the embedded synthetic store (generated into the cache
            on first use), ``"hub"`` for ``NEU-HAI/OPeRA`` through ``datasets``, or the path of a
            directory laid out like the dataset repository.
        variant: ``filtered`` (click / input / terminate) or ``full`` (every interaction).
        split: ``train`` or ``test``.
        strict: Raise :class:`DataError` on the first data problem instead of skipping and
            counting it in ``store.report``.
        revision: Hub only: the branch, tag or commit to pin.
        page_scale: Embedded store only: the fraction of a real page's length its pages have
            (1.0 when None, ``"compact"`` for small pages); smaller is faster to generate and
            read. Each scale is its own cached store.

    Returns:
        The store (users, sessions and lazily read pages).

    Raises:
        ValueError: An unknown variant or split, or an option that does not apply to the source
            (checked by :class:`~customer_env.data.spec.StoreSpec`).
        DataError: The data cannot be loaded (missing files or columns, hub unreachable, nothing
            left to load), or any data problem in strict mode.
    """
    return StoreSpec(source=source, variant=variant, split=split, revision=revision, page_scale=page_scale,
                     strict=strict).open()


__all__ = ["open_store", "StoreSpec", "OperaStore", "DataError", "LoadReport", "EMBEDDED", "HUB"]
