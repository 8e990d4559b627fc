"""OPeRA from the Hugging Face hub (``NEU-HAI/OPeRA``) through ``datasets``.

``datasets`` is imported only here and only when the hub is asked for. Its Arrow cache is
memory-mapped, so the non-page columns are a zero-copy selection and reading a session's pages is
a cheap ``take`` of a few rows.

Offline (``HF_HUB_OFFLINE=1``), ``datasets`` answers from its cache or fails at once. Without that
flag and without a network, ``datasets`` would retry for about half a minute, so the endpoint is
probed first with a short timeout; either way the error says to use a local copy or the embedded
store.

Example:
    >>> source = HubSource("filtered", "train", revision=None)   # doctest: +SKIP
    >>> source.fingerprint()                                      # doctest: +SKIP
    'hub:NEU-HAI/OPeRA@<commit sha>'
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import PurePath
from typing import Any, Sequence
from urllib.parse import urlparse

import pyarrow as pa

from customer_env.constants import HUB_REPO_ID
from customer_env.data.errors import DataError

#: Seconds to wait for the hub endpoint before declaring it unreachable.
PROBE_TIMEOUT_S = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")

ADVICE = ("Use a local copy instead: download the dataset repository on a machine with network "
          "(e.g. `huggingface-cli download NEU-HAI/OPeRA --repo-type dataset --local-dir DIR`) and "
          "call open_store(DIR); or call open_store() for the embedded synthetic store. With a "
          "copy already in the datasets cache, set HF_HUB_OFFLINE=1 to use it.")


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """Whether the user asked for offline mode (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``)."""
    return _truthy("HF_HUB_OFFLINE") or _truthy("HF_DATASETS_OFFLINE")


def probe_endpoint(timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Open (and close) a TCP connection to the hub endpoint.

    Raises:
        DataError: (reason ``hub_unreachable``) within about ``timeout_s`` when it cannot connect.
    """
    endpoint = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    url = urlparse(endpoint)
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme != "http" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise DataError(f"cannot reach the hub at {endpoint} ({exc}). {ADVICE}",
                        file=f"hub:{HUB_REPO_ID}", reason="hub_unreachable") from None


def _load(config: str, split: str, revision: str | None) -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError("reading the hub needs the `datasets` package (pip install "
                        f"'customer-r1[train]'). {ADVICE}", file=f"hub:{HUB_REPO_ID}",
                        reason="hub_unavailable") from None
    label = f"hub:{HUB_REPO_ID}/{config}[{split}]"
    try:
        dataset = datasets.load_dataset(HUB_REPO_ID, config, split=split, revision=revision)
    except Exception as exc:  # datasets raises many types; all mean "not available here"
        raise DataError(f"could not load from the hub ({type(exc).__name__}: {exc}). {ADVICE}",
                        file=label, reason="hub_unavailable") from None
    if getattr(dataset, "_indices", None) is not None:
        dataset = dataset.flatten_indices()
    return label, dataset


def _arrow(dataset: Any) -> pa.Table:
    table = dataset.data
    return table.table if hasattr(table, "table") else table


class HubSource:
    """The tables of one variant and split of ``NEU-HAI/OPeRA`` (see the module docstring).

    Args:
        variant: ``filtered`` or ``full``.
        split: ``train`` or ``test``.
        revision: A branch, tag or commit to pin; None for the default branch.

    Raises:
        DataError: Quickly, when the hub cannot be reached or ``datasets`` is missing.
    """

    def __init__(self, variant: str, split: str, revision: str | None = None) -> None:
        self.variant = variant
        self.split = split
        self.revision = revision
        self.description = f"hub:{HUB_REPO_ID} ({variant}/{split}" + (
            f" @ {revision})" if revision else ")")
        if not hub_offline():
            probe_endpoint()
        self._action_label, self._action_ds = _load(f"{variant}_action", split, revision)
        self._actions = _arrow(self._action_ds)
        self._sessions = _load(f"{variant}_session", split, revision)
        self._users = _load(f"{variant}_user", split, revision)

    def action_files(self) -> list[str]:
        """One label: the hub serves the split as one (memory-mapped) table."""
        return [self._action_label]

    def action_schema(self, file_index: int) -> pa.Schema:
        """The schema of the action table."""
        return self._actions.schema

    def read_actions(self, file_index: int, columns: Sequence[str]) -> pa.Table:
        """A zero-copy selection of the memory-mapped action table."""
        return self._actions.select(list(columns))

    def read_pages(self, file_index: int, rows: Sequence[int], column: str) -> list[str | None]:
        """The given rows of one column, copied out of the memory map."""
        return self._actions.column(column).take(pa.array(rows, type=pa.int64())).to_pylist()

    def read_sessions(self) -> tuple[str, pa.Table] | None:
        """The session table of the split."""
        label, dataset = self._sessions
        return label, _arrow(dataset)

    def read_users(self) -> tuple[str, pa.Table] | None:
        """The user table of the split."""
        label, dataset = self._users
        return label, _arrow(dataset)

    def fingerprint(self) -> str:
        """``hub:NEU-HAI/OPeRA@<commit>``: the pinned commit, else the one ``datasets`` resolved
        (its cache path names it), else the revision name."""
        if self.revision and _COMMIT.match(self.revision):
            return f"hub:{HUB_REPO_ID}@{self.revision}"
        for cache_file in getattr(self._action_ds, "cache_files", None) or []:
            for part in PurePath(cache_file.get("filename", "")).parts:
                if _COMMIT.match(part):
                    return f"hub:{HUB_REPO_ID}@{part}"
        return f"hub:{HUB_REPO_ID}@{self.revision or 'main'}"
