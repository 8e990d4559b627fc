"""The cache directory where generated stores, the tiny model and trained checkpoints live.

``$CUSTOMER_R1_CACHE`` overrides the default ``~/.cache/customer_r1``. Everything written
there is written atomically (a temporary sibling renamed into place), so an interrupted run never
leaves a half-written entry that a later run would trust. The temporary sibling is created with
the modes the process's umask gives an ordinary ``open`` or ``mkdir`` (0644 / 0755 under umask
022), not ``tempfile``'s private 0600 / 0700, so results and caches on a shared machine stay
readable by the people they are shared with.

A build that is expensive (the embedded store, the default pipeline) runs under
:func:`build_lock`: a second process that misses the cache at the same time waits for the first
and then reuses its result instead of building it again.

Example:
    >>> from customer_env.cache import cache_dir
    >>> stores = cache_dir("stores")  # created if missing
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

ENV_VAR = "CUSTOMER_R1_CACHE"

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """The cache root: ``$CUSTOMER_R1_CACHE`` or ``~/.cache/customer_r1``."""
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "customer_r1"


def cache_dir(*parts: str) -> Path:
    """A directory under the cache root, created if missing."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _create_sibling(final: Path, create: Callable[[Path], None]) -> Path:
    """Create a fresh hidden sibling of ``final`` with ``create`` (a unique name, retried)."""
    for _ in range(100):
        candidate = final.parent / f".{final.name}.tmp-{secrets.token_hex(4)}"
        try:
            create(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name next to {final}")  # pragma: no cover


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``final`` only if the block succeeds.

    The directory gets the umask's mode (``mkdir`` with 0777, like any directory the user makes),
    and before it is renamed into place everything written inside is widened to at least the
    umask's modes: some writers create private files whatever the umask (safetensors writes
    weights 0600), which would leave a shared cache's models unreadable to the others. If
    ``final`` appeared meanwhile (another process won the race), the new copy is discarded and
    the existing one kept.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_sibling(final, lambda path: path.mkdir(mode=0o777))
    try:
        yield tmp
        _widen_to_umask(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _widen_to_umask(root: Path) -> None:
    """Give everything under ``root`` at least the modes the umask allows (never fewer bits).

    The umask is read from ``root`` itself, made by ``mkdir(mode=0o777)``: reading it with
    ``os.umask`` would change it for every thread for a moment.
    """
    dir_mode = stat.S_IMODE(root.stat().st_mode)
    file_mode = dir_mode & 0o666
    for base, dirs, files in os.walk(root):
        for name, wanted in [*((d, dir_mode) for d in dirs), *((f, file_mode) for f in files)]:
            path = os.path.join(base, name)
            info = os.lstat(path)
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) | wanted != stat.S_IMODE(info.st_mode):
                os.chmod(path, stat.S_IMODE(info.st_mode) | wanted)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file in the same directory, then rename).

    The file gets the umask's mode (created with 0666, like ``open(path, "w")``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fds: list[int] = []
    tmp = _create_sibling(path, lambda p: fds.append(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    try:
        with os.fdopen(fds[0], "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def build_lock(final: Path) -> Iterator[None]:
    """Hold the cross-process lock that serialises building ``final`` (``.NAME.lock`` beside it).

    Callers check for a finished ``final`` again once they hold the lock: a process that waited
    finds the other's result and reuses it. A wait is logged, so a second process never looks
    hung while the first builds.

    Example:
        >>> from customer_env.cache import build_lock, cache_dir
        >>> target = cache_dir("stores") / "example"
        >>> with build_lock(target):  # doctest: +SKIP
        ...     pass  # check target, build it with atomic_directory(target) if still missing
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(final.parent / f".{final.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        # A warning reaches stderr even where logging is not configured (logging's last resort).
        log.warning("waiting for another process that is building %s", final)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
