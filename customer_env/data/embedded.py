"""The default store: a synthetic OPeRA generated on first use into the cache, reused after.

The directory name encodes the generator version and every parameter, so a new generator or
another page scale never reuses a stale store. Generation is atomic (a temporary directory
renamed into place) and serialised by a cross-process file lock (``customer_env.cache.build_lock``),
so two processes that ask at once generate it once, the second waiting for the first; a crash
leaves nothing that a later call would trust.

Example:
    >>> from customer_env.data.embedded import embedded_store_dir
    >>> root = embedded_store_dir(page_scale="compact")     # doctest: +SKIP
    >>> (root / "OPeRA_filtered" / "action").is_dir()        # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path
from typing import Union

from customer_env.cache import build_lock, cache_dir
from customer_env.synthetic.generate import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    generate_store,
)

log = logging.getLogger(__name__)

DEFAULT_USERS = 50
DEFAULT_SESSIONS = 500
#: ``page_scale="compact"``: small pages for CPU training and fast tests.
COMPACT_PAGE_SCALE = 0.05

PageScale = Union[float, str, None]


def resolve_page_scale(page_scale: PageScale) -> float:
    """``None`` -> 1.0, ``"compact"`` -> :data:`COMPACT_PAGE_SCALE`, ``"full"`` -> 1.0, else a
    finite float >= 0."""
    if page_scale is None:
        return 1.0
    if isinstance(page_scale, str):
        named = {"compact": COMPACT_PAGE_SCALE, "full": 1.0, "default": 1.0}
        if page_scale.lower() in named:
            return named[page_scale.lower()]
        try:
            page_scale = float(page_scale)
        except ValueError:
            raise ValueError(
                f"page_scale must be a number, 'compact' or 'full', got {page_scale!r}"
            ) from None
    value = float(page_scale)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"page_scale must be a finite number >= 0, got {page_scale!r}")
    return value


def embedded_store_name(*, page_scale: PageScale = 1.0, user_disjoint: bool = False, seed: int = 0) -> str:
    """The cache directory name of a default store (generator version and parameters)."""
    scale = resolve_page_scale(page_scale)
    split = "userdisjoint" if user_disjoint else "sessionsplit"
    return (
        f"opera-synthetic-v{GENERATOR_VERSION}-seed{int(seed)}-u{DEFAULT_USERS}-s{DEFAULT_SESSIONS}"
        f"-scale{scale:g}-{split}"
    )


def _complete(path: Path) -> bool:
    return (path / MANIFEST_NAME).is_file()


def embedded_store_dir(*, page_scale: PageScale = 1.0, user_disjoint: bool = False, seed: int = 0) -> Path:
    """The directory of the default synthetic store, generated on first use.

    Args:
        page_scale: 1.0 (real page lengths; about 550 MB of HTML, 30 MB on disk, seconds to make),
            ``"compact"`` (small pages) or any float >= 0.
        user_disjoint: Split test by user instead of by session.
        seed: Store seed.

    Returns:
        The store root, in the hub layout (``OPeRA_filtered/...``).
    """
    scale = resolve_page_scale(page_scale)
    stores = cache_dir("stores")
    final = stores / embedded_store_name(page_scale=scale, user_disjoint=user_disjoint, seed=seed)
    if _complete(final):
        return final
    with build_lock(final):
        if _complete(final):  # another process finished it while we waited
            return final
        if final.exists():
            log.warning("removing incomplete synthetic store at %s (no %s)", final, MANIFEST_NAME)
            shutil.rmtree(final)
        log.info(
            "generating the embedded synthetic OPeRA store (first use) at %s: page_scale=%g, %s split",
            final,
            scale,
            "user-disjoint" if user_disjoint else "session",
        )
        started = time.perf_counter()
        generate_store(
            final,
            users=DEFAULT_USERS,
            sessions=DEFAULT_SESSIONS,
            seed=seed,
            page_scale=scale,
            user_disjoint=user_disjoint,
            progress=True,
        )
        log.info("embedded synthetic store ready in %.1f s", time.perf_counter() - started)
    return final
