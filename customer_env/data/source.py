"""Where the tables come from, and the column checks every source shares.

A :class:`TableSource` (a local directory in the hub layout, or the hub through ``datasets``)
hands out Arrow tables; everything after that (schema checks, decoding, joining, ordering) is the
same code for every source. Rows are located by ``(file index, row index within that file)``,
which is also how problems are reported and how pages are read back later.

Column checks (:func:`plan_columns`): a required column that is missing or cannot be read as its
kind is an error in both modes (every row would be bad). A missing optional column is counted
(``missing_column``) and read as all-null. A column stored with another type that converts
losslessly to the expected one (an integer timestamp as text, a string ``action_count``) is
converted and counted (``column_type``); one that cannot be converted is treated as missing.
Strict mode raises for all of these.

Example:
    >>> import pyarrow as pa
    >>> from customer_env.data.errors import LoadReport, Problems
    >>> plan = plan_columns(pa.schema([("user_id", pa.string()), ("survey", pa.string())]),
    ...                     USER_SPEC, file="user.parquet", problems=Problems(LoadReport()))
    >>> plan.read
    ['user_id', 'survey']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

import pyarrow as pa

from customer_env.constants import ACTION_COLUMNS, PAGE_COLUMNS
from customer_env.data.errors import DataError, Problems

#: The column holding the page before each action: what ``OperaStore.pages`` returns.
PAGE_COLUMN = "simplified_html"


class TableSource(Protocol):
    """The tables of one variant and split of OPeRA, wherever they are stored."""

    description: str

    def action_files(self) -> list[str]:
        """Labels of the action table's files (used in messages), in reading order."""

    def action_schema(self, file_index: int) -> pa.Schema:
        """The Arrow schema of one action file."""

    def read_actions(self, file_index: int, columns: Sequence[str]) -> pa.Table:
        """The given (non-page) columns of one action file, rows in file order."""

    def read_pages(self, file_index: int, rows: Sequence[int], column: str) -> list[str | None]:
        """Only ``column`` of the given rows of one action file, in the order asked."""

    def read_sessions(self) -> tuple[str, pa.Table] | None:
        """``(label, session table)``, or None when the source has no session table."""

    def read_users(self) -> tuple[str, pa.Table] | None:
        """``(label, user table)``, or None when the source has no user table."""

    def fingerprint(self) -> str:
        """A content identity of the tables (a hash, or a pinned hub revision)."""


@dataclass(frozen=True)
class TableSpec:
    """What a table must contain: column name -> kind (``string`` or ``int``)."""

    name: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)


def action_spec(variant: str) -> TableSpec:
    """The action table of a variant: identity and action columns required, the rest optional."""
    required = {c: "string" for c in ("session_id", "action_id", "timestamp", "action_type",
                                      "click_type", "semantic_id", "input_text", PAGE_COLUMN)}
    optional = {c: "string" for c in ACTION_COLUMNS[variant] if c not in required}
    return TableSpec("action", required, optional)


SESSION_SPEC = TableSpec("session", {"session_id": "string", "user_id": "string"},
                         {"action_count": "int"})
USER_SPEC = TableSpec("user", {"user_id": "string", "survey": "string"},
                      {"raw_survey": "string", "interview_transcript": "string",
                       "interview_transcript_processed": "string"})


@dataclass
class ColumnPlan:
    """Which columns to read (pages excluded) and which to convert after reading."""

    read: list[str]
    casts: dict[str, pa.DataType]
    required: frozenset[str] = frozenset()
    cast_reasons: dict[str, DataError] = field(default_factory=dict)


def _is_string(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        return _is_string(dtype.value_type)
    view = getattr(pa.types, "is_string_view", lambda _: False)
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or view(dtype)


def _castable(dtype: pa.DataType, kind: str) -> bool:
    if kind == "int":
        return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_floating(dtype)
    return (pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_boolean(dtype)
            or pa.types.is_temporal(dtype) or pa.types.is_binary(dtype)
            or pa.types.is_large_binary(dtype))


def _fits(dtype: pa.DataType, kind: str) -> bool:
    if pa.types.is_null(dtype):
        return True  # an all-null column (pandas writes these): every value absent
    return _is_string(dtype) if kind == "string" else pa.types.is_integer(dtype)


def plan_columns(schema: pa.Schema, spec: TableSpec, *, file: str, problems: Problems) -> ColumnPlan:
    """Check ``schema`` against ``spec`` and decide what to read and convert.

    Page columns are checked but never put in ``read``. Columns the spec does not know are read
    (they end up in ``Step.extra``) unless they are page-sized by name.

    Raises:
        DataError: A required column missing or of an unusable type (both modes); any other
            deviation in strict mode.
    """
    plan = ColumnPlan(read=[], casts={}, required=frozenset(spec.required))
    kinds = {**spec.required, **spec.optional}
    for name, kind in kinds.items():
        if name not in schema.names:
            if name in spec.required:
                raise DataError(f"the {spec.name} table has no {name!r} column (it has: "
                                f"{', '.join(schema.names)})", file=file, field=name,
                                reason="missing_column")
            problems.found(DataError(f"the {spec.name} table has no {name!r} column", file=file,
                                     field=name, reason="missing_column"),
                           "every row reads it as empty")
            continue
        dtype = schema.field(name).type
        if not _fits(dtype, kind):
            wanted = "text" if kind == "string" else "an integer"
            error = DataError(f"column should hold {wanted}, found {dtype}", file=file,
                              field=name, reason="column_type")
            if not _castable(dtype, kind) or name == PAGE_COLUMN:
                if name in spec.required:
                    raise error
                problems.found(error, "column ignored, every row reads it as empty")
                continue
            if problems.strict:
                raise error
            # Counted once the conversion has been tried (see apply_casts).
            plan.casts[name] = pa.string() if kind == "string" else pa.int64()
            plan.cast_reasons[name] = error
        if name not in PAGE_COLUMNS:
            plan.read.append(name)
    plan.read += [n for n in schema.names if n not in kinds and n not in PAGE_COLUMNS]
    return plan


def apply_casts(table: pa.Table, plan: ColumnPlan, *, file: str, problems: Problems) -> pa.Table:
    """Convert the planned columns.

    A value that does not convert (``"abc"`` as an ``action_count``) makes a required column an
    error in both modes, and an optional one all-null in lenient mode (counted, ``column_type``).

    Raises:
        DataError: (reason ``column_type``) naming the file and column.
    """
    for name, dtype in plan.casts.items():
        index = table.schema.get_field_index(name)
        try:
            column = table.column(name).cast(dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            error = DataError(f"column cannot be converted to {dtype}: {exc}", file=file,
                              field=name, reason="column_type")
            if name in plan.required:
                raise error from None
            problems.found(error, "column ignored, every row reads it as empty")
            column = pa.nulls(len(table), dtype)
        else:
            problems.found(plan.cast_reasons[name], f"column converted to {dtype}")
        table = table.set_column(index, name, column)
    return table


__all__ = ["PAGE_COLUMN", "TableSource", "TableSpec", "ColumnPlan", "action_spec", "SESSION_SPEC",
           "USER_SPEC", "plan_columns", "apply_casts"]
