"""The cache directory where generated stores, the tiny model and trained checkpoints live.

``$CUSTOMER_R1_CACHE`` overrides the default ``~/.cache/customer_r1``. Everything written
there is written atomically (a temporary sibling renamed into place), so an interrupted run never
leaves a half-written entry that a later run would trust.

Example:
    >>> from customer_env.cache import cache_dir
    >>> stores = cache_dir("stores")  # created if missing
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV_VAR = "CUSTOMER_R1_CACHE"


def cache_root() -> Path:
    """The cache root: ``$CUSTOMER_R1_CACHE`` or ``~/.cache/customer_r1``."""
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "customer_r1"


def cache_dir(*parts: str) -> Path:
    """A directory under the cache root, created if missing."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``final`` only if the block succeeds.

    If ``final`` appeared meanwhile (another process won the race), the new copy is discarded
    and the existing one kept.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file in the same directory, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
