"""How a generated store compares with the published OPeRA-filtered statistics.

:func:`calibration_table` reads any store in the hub layout (synthetic or real) and returns one
row per statistic: the generated value and the published one (None where OPeRA publishes none).
Percentages are in percent; lengths in characters.

Example:
    >>> rows = calibration_table("/path/to/store")                    # doctest: +SKIP
    >>> print(format_calibration_table(rows))                         # doctest: +SKIP
    metric                              generated   published
    action type click %                      86.1        86.3
"""

from __future__ import annotations

import glob
import os
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer_env.constants import (
    ACTION_TYPES,
    CLICK_TYPES,
    SPLITS,
    action_files_glob,
    user_file,
)

_TOTAL = 5856
#: Published OPeRA-filtered figures (the OPeRA dataset card and paper, arXiv 2506.05606).
PUBLISHED: dict[str, float | None] = {
    "sessions (train)": 437,
    "sessions (test)": 90,
    "action rows (train)": 4864,
    "action rows (test)": 992,
    "users": 51,
    "test users": 15,
    "test users also in train": 12,
    "action type click %": 100 * 5051 / _TOTAL,
    "action type input %": 100 * 597 / _TOTAL,
    "action type terminate %": 100 * 208 / _TOTAL,
    **{f"click type {t} %": None for t in CLICK_TYPES},
    "click type review %": 20.8,
    "click type search %": 15.1,
    "click type product_option %": 13.9,
    "click type product_link %": 10.6,
    "click type other %": 8.9,
    "click types present": 13,
    "steps per session median": 7,
    "steps per session mean": _TOTAL / 527,
    "steps per session max": 241,
    "sessions with a purchase %": 100 * (527 - 208) / 527,
    "sessions ending in terminate %": 100 * 208 / 527,
    "steps with a rationale %": 100 * 207 / _TOTAL,
    "semantic ids with several click types": 0,
    "page length median": 103_000,
    "page length min": 2_800,
    "page length max": 626_000,
}


#: How far a store's marginals may be from :data:`PUBLISHED`, in percentage points: the action
#: types and the five most common click types (every seed of the default store must hold them).
MARGINAL_TOLERANCES: dict[str, float] = {
    **{f"action type {t} %": 3.0 for t in ACTION_TYPES},
    **{f"click type {t} %": 4.0 for t in ("review", "search", "product_option", "product_link", "other")},
}


class CalibrationRow(NamedTuple):
    metric: str
    generated: float
    published: float | None


def action_marginals(actions: Iterable[tuple[str, str | None]]) -> dict[str, float]:
    """The action-type and click-type percentages of ``(action_type, click_type)`` pairs.

    The rows of :func:`calibration_table` that :data:`MARGINAL_TOLERANCES` bounds; computing them
    from a store plan's actions needs no pages (``build_plan`` takes a fraction of a second).

    Example:
        >>> m = action_marginals([("click", "review"), ("click", "search"), ("terminate", None)])
        >>> round(m["action type click %"], 1), m["click type review %"]
        (66.7, 50.0)
    """
    action_types: Counter[str] = Counter()
    click_types: Counter[str] = Counter()
    for action_type, click_type in actions:
        action_types[action_type] += 1
        if action_type == "click":
            click_types[click_type or ""] += 1
    n_rows, n_clicks = max(1, sum(action_types.values())), max(1, sum(click_types.values()))
    return {
        **{f"action type {t} %": 100 * action_types[t] / n_rows for t in ACTION_TYPES},
        **{f"click type {t} %": 100 * click_types[t] / n_clicks for t in CLICK_TYPES},
    }


def out_of_tolerance(generated: Mapping[str, float]) -> list[str]:
    """One line per marginal of :data:`MARGINAL_TOLERANCES` that ``generated`` misses (or lacks).

    Example:
        >>> out_of_tolerance({**{k: PUBLISHED[k] for k in MARGINAL_TOLERANCES}, "click type review %": 26.2})
        ['click type review %: 26.2 vs published 20.8 (tolerance 4)']
    """
    misses = []
    for metric, tolerance in MARGINAL_TOLERANCES.items():
        published = float(PUBLISHED[metric])  # type: ignore[arg-type]
        value = generated.get(metric)
        if value is None or abs(value - published) > tolerance:
            shown = "missing" if value is None else f"{value:.1f}"
            misses.append(f"{metric}: {shown} vs published {published:.1f} (tolerance {tolerance:g})")
    return misses


def _files(root: Path, pattern: str) -> list[str]:
    found = sorted(glob.glob(str(root / pattern)))
    if not found:
        raise FileNotFoundError(f"no files match {root / pattern}")
    return found


def calibration_table(store_dir: str | os.PathLike[str]) -> list[CalibrationRow]:
    """Compare the filtered variant of the store at ``store_dir`` with the published figures."""
    root = Path(store_dir)
    columns = [
        "session_id",
        "timestamp",
        "action_id",
        "action_type",
        "click_type",
        "semantic_id",
        "rationale",
    ]
    steps: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)
    rows_per_split: dict[str, int] = {}
    sessions_per_split: dict[str, int] = {}
    ids_types: dict[str, set[str]] = defaultdict(set)
    rationales = 0
    lengths: list[int] = []
    for split in SPLITS:
        sessions: set[str] = set()
        rows_per_split[split] = 0
        for path in _files(root, action_files_glob("filtered", split)):
            table = pq.read_table(path, columns=columns).to_pylist()
            rows_per_split[split] += len(table)
            for r in table:
                sessions.add(r["session_id"])
                steps[r["session_id"]].append(
                    (r["timestamp"], r["action_id"], r["action_type"], r["click_type"])
                )
                if r["action_type"] == "click" and r["semantic_id"] is not None:
                    ids_types[r["semantic_id"]].add(r["click_type"])
                rationales += bool(r["rationale"])
            for batch in pq.ParquetFile(path).iter_batches(columns=["simplified_html"], batch_size=256):
                lengths.extend(pc.utf8_length(batch.column(0)).to_pylist())
        sessions_per_split[split] = len(sessions)
    users = {
        s: set(pq.read_table(root / user_file("filtered", s), columns=["user_id"]).column(0).to_pylist())
        for s in SPLITS
    }
    action_types = Counter(t for ss in steps.values() for _, _, t, _ in ss)
    click_types = Counter(c for ss in steps.values() for _, _, t, c in ss if t == "click")
    n_rows = sum(action_types.values())
    per_session = sorted(len(v) for v in steps.values())
    ordered = [sorted(v) for v in steps.values()]
    generated: dict[str, float] = {
        "sessions (train)": sessions_per_split["train"],
        "sessions (test)": sessions_per_split["test"],
        "action rows (train)": rows_per_split["train"],
        "action rows (test)": rows_per_split["test"],
        "users": len(users["train"] | users["test"]),
        "test users": len(users["test"]),
        "test users also in train": len(users["train"] & users["test"]),
        **action_marginals((t, c) for ss in steps.values() for _, _, t, c in ss),
        "click types present": sum(1 for t in CLICK_TYPES if click_types[t]),
        "steps per session median": statistics.median(per_session),
        "steps per session mean": statistics.fmean(per_session),
        "steps per session max": per_session[-1],
        "sessions with a purchase %": 100
        * sum(any(c == "purchase" for *_, c in s) for s in ordered)
        / len(ordered),
        "sessions ending in terminate %": 100 * sum(s[-1][2] == "terminate" for s in ordered) / len(ordered),
        "steps with a rationale %": 100 * rationales / n_rows,
        "semantic ids with several click types": sum(len(t) > 1 for t in ids_types.values()),
        "page length median": statistics.median(lengths),
        "page length min": min(lengths),
        "page length max": max(lengths),
    }
    return [
        CalibrationRow(
            metric,
            round(float(generated[metric]), 2),
            None if PUBLISHED[metric] is None else round(float(PUBLISHED[metric]), 2),
        )
        for metric in PUBLISHED
    ]


def format_calibration_table(rows: list[CalibrationRow]) -> str:
    """The table as aligned text (``-`` where nothing is published)."""
    lines = [f"{'metric':<40}{'generated':>12}{'published':>12}"]
    for r in rows:
        published = "-" if r.published is None else f"{r.published:g}"
        lines.append(f"{r.metric:<40}{r.generated:>12g}{published:>12}")
    return "\n".join(lines)
