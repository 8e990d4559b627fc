"""Opening and reading a full-size store: time and peak resident memory, ours against pandas.

Both methods read the same filtered action files and touch every session's actions and every
page, session by session:

* **store**: ``open_store(DIR, split=...)`` (session index in memory, pages read lazily per
  session), then every session's steps, then ``store.pages(sid)`` for every session in order;
* **pandas**: ``pandas.read_parquet`` of each action file (concatenated), then, per session
  (``groupby("session_id")``, steps sorted by timestamp), every action and every page.

Each method runs in a **fresh subprocess** (so one peak cannot hide in the other); the peak is
``VmHWM`` from ``/proc/self/status``, and "above baseline" subtracts ``VmRSS`` taken after the
imports both workers share (pandas, pyarrow, the project's data layer). Target: the store's peak
above baseline is at most a quarter of pandas'.

The default store is generated once (``--store-root``): 527 sessions of 50 shoppers at real page
length (``page_scale`` 1.0), 437 of them in train, like OPeRA's filtered split.

Usage::

    python benchmarks/data_load.py                             # generates the store on first use
    python benchmarks/data_load.py --store /data/OPeRA --repeats 3 --out runs/data_load.json
    python benchmarks/data_load.py --quick                     # seconds: checks that it runs

Example:
    >>> from customer_env.data.measure import peak_rss_mib
    >>> peak_rss_mib() > 0
    True
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import add_common_options, bench_store, machine, markdown_table, median, report, verdict
from customer_env.command_line import CommandLineParser, positive_int

METHODS = ("store", "pandas")
TARGET_MAX_RATIO = 0.25
#: OPeRA filtered: 527 sessions, 90 of them in test (437 train).
FULL = {"users": 50, "sessions": 527, "test_fraction": 90 / 527}
QUICK = {"users": 2, "sessions": 3, "page_scale": 0.05, "test_fraction": 0.0}
_RESULT_PREFIX = "DATA_LOAD_RESULT "


def read_with_store(store_dir: str, split: str) -> dict[str, int]:
    """Open the store, walk every session's actions, then read every session's pages."""
    from customer_env.data import open_store

    store = open_store(store_dir, split=split)
    types = Counter(step.action.type for session in store.iter_sessions() for step in session.steps)
    chars = 0
    for sid in store.session_ids:
        chars += sum(len(page) for page in store.pages(sid))
    return {"sessions": len(store), "steps": sum(types.values()), "page_chars": chars, "action_types": dict(types)}


def read_with_pandas(store_dir: str, split: str) -> dict[str, int]:
    """``pandas.read_parquet`` the same action files, then walk them session by session."""
    import pandas as pd

    from customer_env.data.local import LocalSource

    files = LocalSource(store_dir, "filtered", split).action_files()
    frame = pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
    sessions = chars = 0
    types: Counter[str] = Counter()
    for _, group in frame.groupby("session_id", sort=True):
        group = group.sort_values(["timestamp", "action_id"])
        sessions += 1
        for action_type, page in zip(group["action_type"], group["simplified_html"]):
            types[action_type] += 1
            chars += len(page) if isinstance(page, str) else 0
    return {"sessions": sessions, "steps": sum(types.values()), "page_chars": chars, "action_types": dict(types)}


def worker(method: str, store_dir: str, split: str) -> dict[str, Any]:
    """Measure one method in this (fresh) process; the result as a dict."""
    import pandas  # noqa: F401  (imported before the baseline by both methods alike)
    import pyarrow.parquet  # noqa: F401

    import customer_env.data.local  # noqa: F401
    from customer_env.data.measure import peak_rss_mib, rss_mib

    gc.collect()
    baseline = rss_mib()
    started = time.perf_counter()
    counts = (read_with_store if method == "store" else read_with_pandas)(store_dir, split)
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return {"method": method, "seconds": seconds, "baseline_mib": baseline, "peak_mib": peak,
            "peak_above_baseline_mib": peak - baseline, **counts}


def run_worker(method: str, store_dir: str, split: str) -> dict[str, Any]:
    """Run :func:`worker` in a fresh interpreter and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--store", store_dir,
               "--split", split]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                    os.environ.get("PYTHONPATH")])))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the {method} worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len(_RESULT_PREFIX):])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table and return the results."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser)
    parser.add_argument("--split", default="train", choices=("train", "test"))
    parser.add_argument("--page-scale", type=float, default=1.0,
                        help="page length of the generated store relative to real pages")
    parser.add_argument("--repeats", type=positive_int, default=1, help="runs of each method (alternating); medians count")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(_RESULT_PREFIX + json.dumps(worker(args.worker, args.store, args.split)), flush=True)
        return {}
    if args.store:
        store_dir = Path(args.store)
    elif args.quick:
        store_dir = bench_store(args.store_root, progress=False, **QUICK)
    else:
        store_dir = bench_store(args.store_root, page_scale=args.page_scale, **FULL)

    runs: dict[str, list[dict[str, Any]]] = {method: [] for method in METHODS}
    for _ in range(1 if args.quick else max(1, args.repeats)):
        for method in METHODS:
            runs[method].append(run_worker(method, str(store_dir), args.split))
    summary = {}
    for method, results in runs.items():
        summary[method] = {key: median([r[key] for r in results])
                           for key in ("seconds", "baseline_mib", "peak_mib", "peak_above_baseline_mib")}
        summary[method].update({k: results[0][k] for k in ("sessions", "steps", "page_chars", "action_types")})
    store, pandas_ = summary["store"], summary["pandas"]
    read = ("sessions", "steps", "page_chars", "action_types")
    if [store[k] for k in read] != [pandas_[k] for k in read]:
        raise RuntimeError(f"the two methods read different data: store {store}, pandas {pandas_}")
    ratio = store["peak_above_baseline_mib"] / max(pandas_["peak_above_baseline_mib"], 1e-9)
    absolute_ratio = store["peak_mib"] / pandas_["peak_mib"]
    rows = [[name, round(s["seconds"], 2), round(s["peak_mib"]), round(s["peak_above_baseline_mib"]),
             f"{s['peak_above_baseline_mib'] / pandas_['peak_above_baseline_mib']:.3f}"]
            for name, s in (("store (open_store + pages per session)", store),
                            ("pandas.read_parquet + groupby", pandas_))]
    met = ratio <= TARGET_MAX_RATIO
    results = {"benchmark": "data_load", "quick": args.quick, "machine": machine(), "store": str(store_dir),
               "split": args.split, "repeats": len(runs["store"]), "summary": summary, "runs": runs,
               "peak_ratio_above_baseline": ratio, "peak_ratio_absolute": absolute_ratio,
               "targets_met": {"store_quarter_of_pandas": met}}
    notes = [
        f"{store['sessions']} sessions, {store['steps']} steps, {store['page_chars'] / 1e6:.0f} M characters of "
        f"HTML ({args.split}); median of {len(runs['store'])} run(s) per method, each in a fresh process.",
        f"Peak ratio store / pandas: {ratio:.3f} above baseline ({absolute_ratio:.3f} absolute VmHWM). "
        f"Target <= {TARGET_MAX_RATIO:g}: {verdict(met, args.quick)}.",
    ]
    header = ["method", "seconds", "peak RSS MiB (VmHWM)", "peak above baseline MiB", "ratio to pandas"]
    report("Opening and reading a store: time and peak memory", markdown_table(header, rows), results,
           args.out, notes)
    return results


if __name__ == "__main__":
    main()
