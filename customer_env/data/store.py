"""OperaStore: the session index in memory, pages read lazily, a content fingerprint.

The store is what every layer above the data reads. It holds users and sessions (decoded steps,
no pages); ``pages(session_id)`` reads just that session's rows of the page column and keeps a
few recent sessions' pages in a cache bounded by size.

Pages are checked when they are read: a step whose page is empty or null is kept with the page
``""`` (the action is still a valid target) and counted as ``empty_page`` in :attr:`report`
(strict mode raises instead), so the report can grow after opening. A source file that changed
after opening raises :class:`DataError` (reason ``changed_file``, the file named) in both modes,
and is counted in :attr:`report` too, so ``report.ok`` no longer claims a clean store.

Example:
    >>> store = open_store()                                   # doctest: +SKIP
    >>> sid = store.session_ids[0]                             # doctest: +SKIP
    >>> session, pages = store.session(sid), store.pages(sid)  # doctest: +SKIP
    >>> len(session.steps) == len(pages)                       # doctest: +SKIP
    True
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from types import MappingProxyType
from functools import cached_property
from typing import Iterator, Mapping

import pyarrow as pa

from customer_env.constants import PAGE_COLUMNS
from customer_env.data.errors import DataError, LoadReport, Problems
from customer_env.data.index import Locator, build_index
from customer_env.data.source import PAGE_COLUMN, TableSource
from customer_env.records import Session, User

#: Default bound of the page cache (bytes of Python strings); the latest session is always kept.
PAGE_CACHE_BYTES = 32 * 2**20


class OperaStore:
    """One variant and split of OPeRA, from any source, with pages read on demand.

    Build it with :func:`customer_env.data.open_store` (or :meth:`load` for a custom source).
    It pickles without its page cache (for worker processes); one store is not meant to be read
    from several threads at once (the page cache is not locked).

    Attributes:
        variant: ``filtered`` or ``full``.
        split: ``train`` or ``test``.
        report: What loading skipped or noted (see :class:`~customer_env.data.errors.LoadReport`).
        page_cache_bytes: Bound of the page cache (the latest session is kept even above it).
    """

    def __init__(self, source: TableSource, *, variant: str, split: str, strict: bool = False,
                 page_cache_bytes: int = PAGE_CACHE_BYTES) -> None:
        self.variant = variant
        self.split = split
        self._source = source
        self._strict = strict
        index = build_index(source, variant, strict=strict)
        # Arrow's allocator keeps the freed read buffers; hand them back (measured: about half
        # of the resident memory right after opening a full-size store).
        pa.default_memory_pool().release_unused()
        self.report: LoadReport = index.report
        self._users = index.users
        self._sessions = index.sessions
        self._locators: dict[str, tuple[Locator, ...]] = index.locators
        self._session_ids = sorted(self._sessions)
        by_user: dict[str, list[str]] = {}
        for sid in self._session_ids:
            by_user.setdefault(self._sessions[sid].user_id, []).append(sid)
        self._by_user = by_user
        self._page_cache: OrderedDict[tuple[str, str], tuple[list[str], int]] = OrderedDict()
        self.page_cache_bytes = page_cache_bytes
        self._pages_checked: set[tuple[str, str]] = set()
        self.report.log(self.description)

    @classmethod
    def load(cls, source: TableSource, variant: str, split: str, *, strict: bool = False) -> "OperaStore":
        """Open a store over any :class:`~customer_env.data.source.TableSource`."""
        return cls(source, variant=variant, split=split, strict=strict)

    @property
    def description(self) -> str:
        """Where the data comes from and how much of it there is."""
        return (f"OPeRA {self.variant}/{self.split} from {self._source.description}: "
                f"{len(self._session_ids)} sessions, {len(self._by_user)} users")

    @property
    def users(self) -> Mapping[str, User]:
        """Every user of the user table, by id (some may have no session in this split)."""
        return MappingProxyType(self._users)

    @property
    def user_ids(self) -> list[str]:
        """Ids of the users who have at least one session here, sorted."""
        return sorted(self._by_user)

    @property
    def session_ids(self) -> list[str]:
        """Every loaded session id, sorted (a fixed order for a given store)."""
        return list(self._session_ids)

    def __len__(self) -> int:
        return len(self._session_ids)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def session(self, session_id: str) -> Session:
        """The session (steps without pages).

        Raises:
            KeyError: If the session is not in the store (or was skipped: see :attr:`report`).
        """
        try:
            return self._sessions[session_id]
        except KeyError:
            raise KeyError(f"no session {session_id!r} in {self.description}") from None

    def sessions_of(self, user_id: str) -> list[Session]:
        """The user's sessions in ``session_ids`` order (empty when they have none here)."""
        return [self._sessions[sid] for sid in self._by_user.get(user_id, [])]

    def iter_sessions(self) -> Iterator[Session]:
        """Every session in ``session_ids`` order."""
        for sid in self._session_ids:
            yield self._sessions[sid]

    def user_of(self, session_id: str) -> User:
        """The user who made a session."""
        return self._users[self.session(session_id).user_id]

    def pages(self, session_id: str, column: str = PAGE_COLUMN) -> list[str]:
        """The page before each step of the session, aligned with ``session(session_id).steps``.

        Args:
            session_id: A session of this store.
            column: ``simplified_html`` (the observation); the full variant also has
                ``simplified_html_new_page`` (the page after the action).

        Raises:
            KeyError: Unknown session.
            ValueError: ``column`` is not a page column.
            DataError: Strict mode, when a page is empty or null (file, row and column named);
                both modes, when the file changed after the store was opened (``changed_file``).
        """
        if column not in PAGE_COLUMNS:
            raise ValueError(f"column must be a page column {PAGE_COLUMNS}, got {column!r}")
        key = (session_id, column)
        cached = self._page_cache.get(key)
        if cached is not None:
            self._page_cache.move_to_end(key)
            return list(cached[0])
        session = self.session(session_id)
        locators = self._locators[session_id]
        by_file: dict[int, list[int]] = {}
        for file_index, row in locators:
            by_file.setdefault(file_index, []).append(row)
        read: dict[Locator, str | None] = {}
        for file_index, rows in by_file.items():
            try:
                values = self._source.read_pages(file_index, rows, column)
            except DataError as error:
                if error.reason == "changed_file":
                    self.report.record(error, f"pages of session {session_id!r} not served")
                raise
            read.update(((file_index, row), value) for row, value in zip(rows, values))
        pages = [read[locator] or "" for locator in locators]
        if key not in self._pages_checked:
            self._check_pages(session, locators, [read[loc] for loc in locators], column)
            self._pages_checked.add(key)
        self._remember(key, pages)
        return list(pages)

    def _check_pages(self, session: Session, locators: tuple[Locator, ...],
                     values: list[str | None], column: str) -> None:
        problems = Problems(self.report, strict=self._strict)
        files = self._source.action_files()
        for step, (file_index, row), value in zip(session.steps, locators, values):
            if value is None or not value.strip():
                problems.found(DataError(f"empty page at step {step.index} of session "
                                         f"{session.session_id!r}", file=files[file_index],
                                         row=row, field=column, reason="empty_page"),
                               "step kept with page ''", note=True)

    def _remember(self, key: tuple[str, str], pages: list[str]) -> None:
        size = sum(sys.getsizeof(p) for p in pages)
        self._page_cache[key] = (pages, size)
        total = sum(entry[1] for entry in self._page_cache.values())
        while len(self._page_cache) > 1 and total > self.page_cache_bytes:
            _, (_, dropped) = self._page_cache.popitem(last=False)
            total -= dropped

    @cached_property
    def fingerprint(self) -> str:
        """The content identity: a sha256 of the files (local), ``hub:<repo>@<revision>`` (hub)."""
        return self._source.fingerprint()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_page_cache"] = OrderedDict()  # pages are re-read, never shipped to workers
        return state

    def __repr__(self) -> str:
        return f"OperaStore({self.description})"
