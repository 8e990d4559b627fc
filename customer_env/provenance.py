"""Where a result comes from: the one function every results writer records.

:func:`provenance` returns the code version (git commit, ``+dirty`` with uncommitted changes),
the versions of the libraries that shape results, the Python and platform, the time, and the
fingerprints of the data and models involved, in the spirit of lm-evaluation-harness's results
files. Rollouts, comparisons, prediction scoring, the pipeline evaluation, training summaries and
benchmarks all call it, so every results file answers "which code, which libraries, which data".

Example:
    >>> record = provenance(fingerprints={"store": "3f1c9a"})
    >>> sorted(record)
    ['created', 'fingerprints', 'git_commit', 'packages', 'platform', 'python']
    >>> record["fingerprints"]
    {'store': '3f1c9a'}
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

#: Distributions whose versions change results (None in the record when not installed).
PACKAGES = ("customer-r1", "torch", "transformers", "tokenizers", "trl", "peft", "accelerate", "datasets",
            "gymnasium", "numpy", "pyarrow", "lxml", "openai")

_REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit(root: Path = _REPO_ROOT) -> str | None:
    """The repository's HEAD commit (with ``+dirty`` when the tree has changes), or None."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (None when absent)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (the fingerprint of an input file, e.g. predictions)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(*, stores: Mapping[str, Any] | None = None, fingerprints: Mapping[str, str | None] | None = None,
               **extra: Any) -> dict[str, Any]:
    """The provenance record of a result.

    Args:
        stores: Opened stores by role (``{"evaluated": store, "train": train_store}``); each
            contributes ``fingerprints[role]`` (its content hash or hub revision).
        fingerprints: Other fingerprints by name (a dataset, a checkpoint, an input file).
        **extra: More entries to record as they are (e.g. the checkpoints used).

    Returns:
        ``git_commit``, ``packages``, ``python``, ``platform``, ``created`` (UTC, ISO 8601),
        ``fingerprints``, then ``extra``.
    """
    prints: dict[str, str | None] = {role: getattr(store, "fingerprint", None) for role, store in (stores or {}).items()}
    prints.update(fingerprints or {})
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "fingerprints": prints,
        **extra,
    }


__all__ = ["PACKAGES", "git_commit", "package_versions", "file_sha256", "provenance"]
