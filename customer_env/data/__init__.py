"""Reading OPeRA, from any source, into the records of :mod:`customer_env.records`.

Three sources give the same records: the embedded synthetic store (the default, generated on first
use), a local copy of the dataset repository, and the hub (``NEU-HAI/OPeRA`` through
``datasets``). Bad data is refused (``strict=True``) or skipped and counted in ``store.report``.

Example:
    >>> from customer_env.data import open_store
    >>> store = open_store()                       # doctest: +SKIP
    >>> session = store.session(store.session_ids[0])   # doctest: +SKIP
    >>> pages = store.pages(session.session_id)         # doctest: +SKIP
    >>> store.report.ok, store.fingerprint[:12]         # doctest: +SKIP
    (True, '3f1c...')
"""

from __future__ import annotations

from pathlib import Path

from customer_env.constants import SPLITS, VARIANTS
from customer_env.data.errors import DataError, LoadReport
from customer_env.data.store import OperaStore

EMBEDDED = "embedded"
HUB = "hub"


def open_store(
    source: str | Path | None = None,
    variant: str = "filtered",
    split: str = "train",
    *,
    strict: bool = False,
    revision: str | None = None,
    page_scale: float | str | None = None,
) -> OperaStore:
    """Open one variant and split of OPeRA.

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
        ValueError: An unknown variant or split, or an option that does not apply to the source.
        DataError: The data cannot be loaded (missing files or columns, hub unreachable, nothing
            left to load), or any data problem in strict mode.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    is_embedded = source is None or source == EMBEDDED
    if revision is not None and source != HUB:
        raise ValueError("revision applies to the hub source only (source='hub')")
    if page_scale is not None and not is_embedded:
        raise ValueError("page_scale applies to the embedded store only (source=None)")

    if is_embedded:
        from customer_env.data.embedded import embedded_store_dir
        from customer_env.data.local import LocalSource

        root = embedded_store_dir(page_scale=page_scale)
        table_source = LocalSource(root, variant, split)
        table_source.description = f"the embedded synthetic store at {root} ({variant}/{split})"
    elif source == HUB:
        from customer_env.data.hub import HubSource

        table_source = HubSource(variant, split, revision=revision)
    else:
        from customer_env.data.local import LocalSource

        table_source = LocalSource(Path(source), variant, split)
    return OperaStore.load(table_source, variant, split, strict=strict)


__all__ = ["open_store", "OperaStore", "DataError", "LoadReport", "EMBEDDED", "HUB"]
