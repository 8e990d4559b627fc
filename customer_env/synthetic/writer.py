"""The exact parquet layout and schema of OPeRA, written reproducibly.

Layout (relative to the store root, as in the dataset repository)::

    OPeRA_filtered/action/{split}-{k:05d}-of-{n:05d}.parquet
    OPeRA_filtered/session/{split}/{split}.parquet
    OPeRA_filtered/user/{split}/{split}.parquet
    OPeRA_full/...                                   (same, full action columns)

Every action column is a nullable ``string``; ``action_count`` is ``int64``. Files are written
with fixed options (zstd level 3, 32-row row groups so a reader can fetch one session's pages
without reading a whole file, statistics and dictionaries only on the small columns), so the
same rows always give byte-identical files.

Example:
    >>> ACTION_SCHEMAS["filtered"].field("simplified_html").type
    DataType(string)
    >>> action_file_name("train", 0, 3)
    'train-00000-of-00003.parquet'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from customer_env.constants import (
    ACTION_COLUMNS,
    PAGE_COLUMNS,
    SESSION_COLUMNS,
    USER_COLUMNS,
    VARIANT_DIRS,
    session_file,
    user_file,
)

ROW_GROUP_SIZE = 32
ACTION_SCHEMAS = {
    v: pa.schema([pa.field(c, pa.string()) for c in cols]) for v, cols in ACTION_COLUMNS.items()
}
SESSION_SCHEMA = pa.schema(
    [
        pa.field("session_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("action_count", pa.int64()),
    ]
)
USER_SCHEMA = pa.schema([pa.field(c, pa.string()) for c in USER_COLUMNS])
assert tuple(SESSION_SCHEMA.names) == SESSION_COLUMNS

#: Columns with few distinct values, worth dictionary encoding.
_DICTIONARY_COLUMNS = (
    "session_id",
    "action_type",
    "click_type",
    "navigation_type",
    "window_size",
    "image",
    "url",
    "user_id",
)


def _options(schema: pa.Schema) -> dict[str, Any]:
    small = [n for n in schema.names if n not in PAGE_COLUMNS]
    return {
        "compression": "zstd",
        "compression_level": 3,
        "use_dictionary": [n for n in schema.names if n in _DICTIONARY_COLUMNS],
        "write_statistics": small,
        "version": "2.6",
        "data_page_size": 1 << 20,
    }


def action_file_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


class ActionFileWriter:
    """Streams rows into one action parquet file in full row groups of :data:`ROW_GROUP_SIZE`.

    Use as a context manager; rows must carry exactly the variant's columns.
    """

    def __init__(self, path: Path, variant: str) -> None:
        self.path = Path(path)
        self.schema = ACTION_SCHEMAS[variant]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(self.path), self.schema, **_options(self.schema))
        self._buffer: list[Mapping[str, Any]] = []
        self.rows = 0

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._buffer.extend(rows)
        full = len(self._buffer) - len(self._buffer) % ROW_GROUP_SIZE
        if full >= 4 * ROW_GROUP_SIZE:
            self._flush(full)

    def _flush(self, count: int) -> None:
        if count <= 0:
            return
        chunk, self._buffer = self._buffer[:count], self._buffer[count:]
        self._writer.write_table(rows_to_table(chunk, self.schema), row_group_size=ROW_GROUP_SIZE)
        self.rows += count

    def close(self) -> None:
        self._flush(len(self._buffer))
        self._writer.close()

    def __enter__(self) -> "ActionFileWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rows_to_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of ``rows`` with exactly ``schema`` (a missing or extra key is an error)."""
    for i, row in enumerate(rows):
        if set(row) != set(schema.names):
            diff = set(row) ^ set(schema.names)
            raise ValueError(f"row {i} does not match the schema: columns {sorted(diff)} differ")
    return pa.Table.from_pydict({n: [r[n] for r in rows] for n in schema.names}, schema=schema)


def write_table(root: Path, relative: str, rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> Path:
    """Write a small table (sessions, users) to ``root / relative`` with the fixed options."""
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        rows_to_table(rows, schema), str(path), row_group_size=max(1, len(rows)), **_options(schema)
    )
    return path


def write_sessions(root: Path, variant: str, split: str, rows: Sequence[Mapping[str, Any]]) -> Path:
    return write_table(root, session_file(variant, split), rows, SESSION_SCHEMA)


def write_users(root: Path, variant: str, split: str, rows: Sequence[Mapping[str, Any]]) -> Path:
    return write_table(root, user_file(variant, split), rows, USER_SCHEMA)


def action_dir(root: Path, variant: str) -> Path:
    return Path(root) / VARIANT_DIRS[variant] / "action"
