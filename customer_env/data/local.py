"""A local copy of OPeRA: a directory laid out like the dataset repository.

``ROOT/OPeRA_filtered/action/{split}-*.parquet``, ``ROOT/OPeRA_filtered/session/{split}/{split}.parquet``,
``ROOT/OPeRA_filtered/user/{split}/{split}.parquet``, and the same under ``OPeRA_full/``
(a ``git clone`` or ``huggingface-cli download NEU-HAI/OPeRA`` of the repository, or the embedded
synthetic store). Only the non-page columns are read at open; pages are read per row group.

Memory: Arrow decodes a whole row group's column at once (a string column of a parquet file
cannot be read row by row), so reading one page costs about twice the page bytes of its row
group for a moment. The last row group read is kept (one only) because consecutive sessions
usually share one.

Files that change under an open store: every file is stamped (device, inode, size, modification
time, taken from the open descriptor) when the index reads it. Reading pages later re-checks the
stamp on the descriptor it reads from, and a file that was rewritten or replaced since raises a
:class:`DataError` (reason ``changed_file``) naming it, instead of serving rows that now belong
to other sessions; so does :meth:`LocalSource.fingerprint`. Reopen the store to read the new
content.

Example:
    >>> source = LocalSource("/data/OPeRA", "filtered", "train")   # doctest: +SKIP
    >>> source.action_files()                                       # doctest: +SKIP
    ['/data/OPeRA/OPeRA_filtered/action/train-00000-of-00001.parquet']
"""

from __future__ import annotations

import bisect
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from customer_env.constants import VARIANT_DIRS, action_files_glob, session_file, user_file
from customer_env.data.errors import DataError

#: Rows per Arrow batch when scanning a row group for pages.
PAGE_BATCH_ROWS = 32
_HASH_CHUNK = 1 << 20
#: (path, size, mtime_ns) -> sha256 of its bytes, so a file is hashed once per process.
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


#: What identifies one version of a file: (device, inode, size, modification time in ns).
FileStamp = tuple[int, int, int, int]


def _stamp(stat: os.stat_result) -> FileStamp:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@contextmanager
def _open(path: Path, expected: FileStamp | None = None) -> Iterator[tuple[pq.ParquetFile, FileStamp]]:
    """The parquet file and the stamp of the very descriptor it reads from.

    Raises:
        DataError: ``missing_file``, ``unreadable_file``, or ``changed_file`` when ``expected``
            is given and the file on disk is no longer that version.
    """
    try:
        raw = pa.OSFile(str(path))
    except FileNotFoundError:
        raise DataError("file is missing", file=str(path), reason="missing_file") from None
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"not a readable parquet file ({exc})", file=str(path),
                        reason="unreadable_file") from None
    try:
        stamp = _stamp(os.fstat(raw.fileno()))
        if expected is not None and stamp != expected:
            raise DataError("the file changed after the store was opened (rewritten or replaced: "
                            f"size {expected[2]} -> {stamp[2]} bytes); its rows no longer match the "
                            "store's index, so no page is served from it: open the store again",
                            file=str(path), reason="changed_file")
        try:
            handle = pq.ParquetFile(raw, pre_buffer=False)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"not a readable parquet file ({exc})", file=str(path),
                            reason="unreadable_file") from None
        yield handle, stamp
    finally:
        raw.close()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, streamed; memoised per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
                digest.update(chunk)
        _FILE_HASHES[key] = digest.hexdigest()
    return _FILE_HASHES[key]


class LocalSource:
    """The tables of one variant and split in a local directory (see the module docstring).

    Args:
        root: The directory holding ``OPeRA_filtered/`` and/or ``OPeRA_full/``.
        variant: ``filtered`` or ``full``.
        split: ``train`` or ``test``.

    Raises:
        DataError: If ``root`` or its variant directory does not exist.
    """

    def __init__(self, root: str | Path, variant: str, split: str) -> None:
        self.root = Path(root).expanduser()
        self.variant = variant
        self.split = split
        self.description = f"{self.root} ({variant}/{split})"
        if not self.root.is_dir():
            raise DataError("no such directory: pass the root of a local copy of NEU-HAI/OPeRA, "
                            "'hub', or nothing for the embedded store", file=str(self.root),
                            reason="missing_file")
        variant_dir = self.root / VARIANT_DIRS[variant]
        if not variant_dir.is_dir():
            present = sorted(p.name for p in self.root.iterdir() if p.is_dir())
            raise DataError(f"no {VARIANT_DIRS[variant]}/ directory here (found: "
                            f"{', '.join(present) or 'nothing'}); is this the dataset's root?",
                            file=str(self.root), reason="missing_file")
        self._files = sorted(self.root.glob(action_files_glob(variant, split)))
        self._group_starts: dict[int, list[int]] = {}
        self._last_group: tuple[tuple[int, int, str], pa.Array] | None = None
        #: The stamp of each file as the index read it (path -> stamp); see the module docstring.
        self._stamps: dict[str, FileStamp] = {}

    def action_files(self) -> list[str]:
        """Paths of the action files, sorted."""
        return [str(p) for p in self._files]

    def action_schema(self, file_index: int) -> pa.Schema:
        """The Arrow schema of one action file (its footer only)."""
        with _open(self._files[file_index]) as (handle, _):
            return handle.schema_arrow

    def read_actions(self, file_index: int, columns: Sequence[str]) -> pa.Table:
        """The given columns of one action file."""
        path = self._files[file_index]
        with _open(path) as (handle, stamp):
            try:
                table = handle.read(columns=list(columns), use_threads=False)
            except (OSError, pa.ArrowException) as exc:
                raise DataError(f"cannot read the file ({exc})", file=str(path),
                                reason="unreadable_file") from None
        self._stamps[str(path)] = stamp
        return table

    def read_pages(self, file_index: int, rows: Sequence[int], column: str) -> list[str | None]:
        """Only ``column`` of the given rows, reading just the row groups that hold them."""
        path = self._files[file_index]
        with _open(path, self._stamps.get(str(path))) as (handle, stamp):
            self._stamps.setdefault(str(path), stamp)
            starts = self._group_starts.get(file_index)
            if starts is None:
                meta = handle.metadata
                starts = [0]
                for g in range(meta.num_row_groups):
                    starts.append(starts[-1] + meta.row_group(g).num_rows)
                self._group_starts[file_index] = starts
            wanted: dict[int, list[int]] = {}
            for row in rows:
                if not 0 <= row < starts[-1]:
                    raise IndexError(f"{path}: row {row} out of range")
                wanted.setdefault(bisect.bisect_right(starts, row) - 1, []).append(row)
            found: dict[int, str | None] = {}
            for group, group_rows in sorted(wanted.items()):
                values = self._group_column(handle, file_index, group, column)
                for row in group_rows:
                    found[row] = values[row - starts[group]].as_py()
        return [found[row] for row in rows]

    def _group_column(self, handle: pq.ParquetFile, file_index: int, group: int,
                      column: str) -> pa.Array:
        key = (file_index, group, column)
        if self._last_group is not None and self._last_group[0] == key:
            return self._last_group[1]
        self._last_group = None  # free the previous group before decoding the next one
        path = self._files[file_index]
        try:
            # iter_batches peaks lower than read_row_group for big string columns (measured).
            batches = list(handle.iter_batches(batch_size=PAGE_BATCH_ROWS, row_groups=[group],
                                               columns=[column], use_threads=False))
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read row group {group} ({exc})", file=str(path),
                            field=column, reason="unreadable_file") from None
        values = pa.chunked_array([b.column(0) for b in batches], type=handle.schema_arrow.field(column).type)
        self._last_group = (key, values)
        return values

    def read_sessions(self) -> tuple[str, pa.Table] | None:
        """The session table, or None when its file is absent."""
        return self._small_table(self.root / session_file(self.variant, self.split))

    def read_users(self) -> tuple[str, pa.Table] | None:
        """The user table, or None when its file is absent."""
        return self._small_table(self.root / user_file(self.variant, self.split))

    def _small_table(self, path: Path) -> tuple[str, pa.Table] | None:
        if not path.exists():
            return None
        with _open(path) as (handle, stamp):
            try:
                table = handle.read(use_threads=False)
            except (OSError, pa.ArrowException) as exc:
                raise DataError(f"cannot read the file ({exc})", file=str(path),
                                reason="unreadable_file") from None
        self._stamps[str(path)] = stamp
        return str(path), table

    def fingerprint(self) -> str:
        """sha256 over every table file's relative path and bytes (streamed).

        Raises:
            DataError: (``changed_file``) when a file the index read has changed since.
        """
        paths = [*self._files, self.root / session_file(self.variant, self.split),
                 self.root / user_file(self.variant, self.split)]
        digest = hashlib.sha256()
        for path in paths:
            expected = self._stamps.get(str(path))
            if expected is not None:
                with _open(path, expected):
                    pass  # raises if the file is no longer the version the index was built from
            if path.exists():
                digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
                digest.update(file_sha256(path).encode() + b"\n")
        return digest.hexdigest()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_last_group"] = None  # a cache, not state: never pickled into workers
        return state
