"""Measure what opening a store and reading it costs: time and resident memory (Linux).

Memory comes from ``/proc/self/status`` (``VmRSS`` now, ``VmHWM`` the peak); the peak is reset
before each phase where the kernel allows it, so each phase's peak is its own. Numbers are MiB
above the baseline taken just before the store is opened (interpreter and imports excluded).

Run it in a fresh process for clean numbers::

    python -m customer_env.data.measure --source /path/to/store --variant filtered --split train

Example:
    >>> from customer_env.data.measure import rss_mib
    >>> rss_mib() > 0
    True
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet  # noqa: F401  (imported before the baseline: part of the interpreter's cost)

from customer_env.command_line import CommandLineParser
from customer_env.data.spec import StoreSpec, add_store_arguments, store_spec_from_args
from customer_env.data import local as _local  # noqa: F401  (same reason)

_STATUS = Path("/proc/self/status")


def _status_mib(key: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in {_STATUS}: this measurement needs Linux")


def rss_mib() -> float:
    """Resident memory now, in MiB."""
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak resident memory since the process started or the last :func:`reset_peak_rss`."""
    return _status_mib("VmHWM")


def reset_peak_rss() -> bool:
    """Reset the peak to the current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_store(data: StoreSpec | None = None, *, pages: bool = True,
                  page_cache_bytes: int | None = None) -> dict[str, Any]:
    """Open a store, walk every session's steps, then (optionally) every session's pages.

    Args:
        data: The store to measure (default: the embedded store's train split).
        pages: Also read every session's pages.
        page_cache_bytes: Bound the store's page cache to this (None: the store's default).

    Returns:
        Seconds and MiB above the pre-open baseline for each phase: ``open``, ``actions`` (every
        session iterated), ``pages`` (``pages(sid)`` for every session, in order), plus
        counts (sessions, steps, page characters).
    """
    gc.collect()
    baseline = rss_mib()
    resettable = reset_peak_rss()
    result: dict[str, Any] = {"baseline_rss_mib": round(baseline, 1), "peak_resettable": resettable}

    def phase(name: str, started: float) -> None:
        result[f"{name}_s"] = round(time.perf_counter() - started, 2)
        result[f"{name}_peak_mib"] = round(peak_rss_mib() - baseline, 1)
        result[f"{name}_rss_mib"] = round(rss_mib() - baseline, 1)
        reset_peak_rss()

    started = time.perf_counter()
    store = (data or StoreSpec()).open()
    if page_cache_bytes is not None:
        store.page_cache_bytes = page_cache_bytes
    phase("open", started)

    started = time.perf_counter()
    steps = sum(len(session.steps) for session in store.iter_sessions())
    phase("actions", started)
    result.update(sessions=len(store), steps=steps)

    if pages:
        started = time.perf_counter()
        chars = 0
        for sid in store.session_ids:
            chars += sum(len(page) for page in store.pages(sid))
        phase("pages", started)
        result["page_chars"] = chars
    result["report_ok"] = store.report.ok
    return result


def main(argv: list[str] | None = None) -> None:
    """Command line: print :func:`measure_store`'s result as JSON."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    add_store_arguments(parser, split="train")
    parser.add_argument("--no-pages", action="store_true", help="skip reading every page")
    parser.add_argument("--page-cache-mib", type=float, default=None,
                        help="bound of the store's page cache (default: the store's own)")
    args = parser.parse_args(argv)
    cache = None if args.page_cache_mib is None else int(args.page_cache_mib * 2**20)
    print(json.dumps(measure_store(store_spec_from_args(parser, args), pages=not args.no_pages,
                                   page_cache_bytes=cache), indent=2))


if __name__ == "__main__":
    main()
