"""Errors and the load report: how bad OPeRA data is either refused or counted, never lost.

Every problem found while loading is a :class:`DataError` naming the file, the row (its index
within that file) and the field. What happens next depends on the mode:

* strict (``open_store(..., strict=True)``): the first problem is raised;
* lenient (the default): the problem is recorded in the store's :class:`LoadReport` under a
  short reason (``malformed_json``, ``duplicate_action_id``, ...) together with what was done
  about it (the row, the session or only the field was dropped, or a value was repaired), and
  loading goes on. The report is logged as a warning once loading ends.

Problems that leave nothing to load (a missing or unreadable action file, a missing required
column) are raised in both modes.

Example:
    >>> report = LoadReport()
    >>> problems = Problems(report, strict=False)
    >>> problems.found(DataError("bad JSON", file="a.parquet", row=3, field="page_meta",
    ...                          reason="malformed_json"), action="field set to None")
    >>> report.skipped["malformed_json"], report.ok
    (1, False)
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

logger = logging.getLogger("customer_env.data")

#: Example messages kept per reason; the counts are always complete.
MAX_EXAMPLES_PER_REASON = 5


class DataError(ValueError):
    """A problem with the OPeRA data, located as precisely as it can be.

    Attributes:
        file: The file (or hub table) where it was found, if known.
        row: The row's index within that file, if the problem belongs to one row.
        field: The column or JSON field concerned, if any.
        reason: A short machine-readable key (the report counts problems by it).
        detail: The description without the location.
    """

    def __init__(
        self,
        detail: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        reason: str = "invalid_data",
    ) -> None:
        self.detail = detail
        self.file = file
        self.row = row
        self.field = field
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


@dataclass
class LoadReport:
    """What loading skipped or repaired, counted by reason.

    Attributes:
        skipped: Problems that dropped something (a row, a session, a user or a field's value),
            counted by reason.
        notes: Things kept as they are but worth knowing (a user id taken from the session id,
            an empty page, a session whose ``action_count`` disagrees), counted by reason.
        messages: Up to :data:`MAX_EXAMPLES_PER_REASON` example messages per reason, each naming
            file, row and field and saying what was done.
        loaded: What was loaded (``sessions``, ``steps``, ``users``).
    """

    skipped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    loaded: Counter = field(default_factory=Counter)
    _examples: Counter = field(default_factory=Counter, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing was skipped (notes do not count against it)."""
        return not self.skipped

    def record(self, error: DataError, action: str, *, note: bool = False) -> None:
        """Count ``error`` under its reason and keep it as an example if there is room."""
        (self.notes if note else self.skipped)[error.reason] += 1
        if self._examples[error.reason] < MAX_EXAMPLES_PER_REASON:
            self._examples[error.reason] += 1
            self.messages.append(f"[{error.reason}] {error} -> {action}")

    def summary(self) -> str:
        """A few readable lines: what was loaded, then every reason with its count and examples."""
        loaded = ", ".join(f"{n} {what}" for what, n in sorted(self.loaded.items())) or "nothing"
        lines = [f"loaded {loaded}"]
        for title, counts in (("skipped", self.skipped), ("notes", self.notes)):
            if counts:
                lines.append(f"{title}: " + ", ".join(f"{r}={n}" for r, n in sorted(counts.items())))
        if self.messages:
            lines.append("examples:")
            lines += [f"  {m}" for m in self.messages]
        return "\n".join(lines)

    def log(self, description: str) -> None:
        """Log the summary as a warning when anything was skipped or noted."""
        if self.skipped or self.notes:
            logger.warning("%s: data problems found while loading\n%s", description, self.summary())


@dataclass
class Problems:
    """Routes each problem: raise it (strict) or record it in the report (lenient)."""

    report: LoadReport
    strict: bool = False

    def found(self, error: DataError, action: str, *, note: bool = False) -> None:
        """Handle a problem; ``action`` says what lenient mode does about it.

        Raises:
            DataError: In strict mode, always (notes included: strict means nothing is repaired).
        """
        if self.strict:
            raise error
        self.report.record(error, action, note=note)
