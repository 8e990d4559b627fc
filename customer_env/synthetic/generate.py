"""Generate a synthetic OPeRA store on disk: :func:`generate_store`.

The plan (users, sessions, actions, ids, times, split) is built first; pages are then rendered
session by session and streamed into the parquet files, so memory stays small whatever the page
scale. The store is written into a temporary sibling directory that is renamed into place only
when complete.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "store"
    >>> s = generate_store(out, users=2, sessions=4, page_scale=0.01, progress=False)
    >>> (out / "OPeRA_filtered/session/train/train.parquet").exists(), s.train_sessions + s.test_sessions
    (True, 4)
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from customer_env.cache import atomic_directory
from customer_env.constants import VARIANT_DIRS
from customer_env.synthetic import writer
from customer_env.synthetic.pages import PageContext, render_page
from customer_env.synthetic.plan import (
    DEFAULT_TEST_FRACTION,
    PlannedSession,
    StorePlan,
    build_plan,
    split_counts,
)
from customer_env.synthetic.rows import filtered_rows, full_rows

GENERATOR_VERSION = "1.1.0"
MANIFEST_NAME = "synthetic_manifest.json"
#: Action files hold whole sessions, about this many rows of the filtered variant each (full files
#: hold fewer sessions: a session has about four times as many full rows).
ROWS_PER_FILE = {"filtered": 2000, "full": 700}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationSummary:
    """What was generated, and how long it took (the time is not written into the store)."""

    out_dir: str
    seed: int
    users: int
    sessions: int
    page_scale: float
    user_disjoint: bool
    full_variant: bool
    train_sessions: int
    test_sessions: int
    train_rows: int
    test_rows: int
    train_users: int
    test_users: int
    shared_users: int
    page_chars: int
    page_length_median: int
    page_length_p90: int
    page_length_max: int
    bytes_on_disk: int
    seconds: float

    def to_text(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in asdict(self).items())


def _shards(sessions: Sequence[PlannedSession], rows_per_file: int) -> list[list[PlannedSession]]:
    """Consecutive groups of whole sessions with about ``rows_per_file`` filtered rows each."""
    total = sum(len(s.sim.steps) for s in sessions)
    count = max(1, math.ceil(total / rows_per_file))
    shards: list[list[PlannedSession]] = [[] for _ in range(count)]
    done = 0
    for s in sessions:
        shards[min(count - 1, done * count // max(1, total))].append(s)
        done += len(s.sim.steps)
    return [shard for shard in shards if shard] or [[]]


def _user_row(user: Any) -> dict[str, str]:
    return {
        "user_id": user.user_id,
        "survey": json.dumps(user.survey),
        "raw_survey": json.dumps(user.raw_survey),
        "interview_transcript": user.interview_transcript,
        "interview_transcript_processed": user.interview_summary,
    }


class _ShardedWriter:
    """The action files of one variant and split: sessions go to their shard's file in order."""

    def __init__(self, root: Path, variant: str, split: str, sessions: Sequence[PlannedSession]) -> None:
        shards = _shards(sessions, ROWS_PER_FILE[variant])
        self._shard_of = {s.session_id: k for k, shard in enumerate(shards) for s in shard}
        self._paths = [
            writer.action_dir(root, variant) / writer.action_file_name(split, k, len(shards))
            for k in range(len(shards))
        ]
        self._variant = variant
        self._open: tuple[int, writer.ActionFileWriter] | None = None
        self.counts: dict[str, int] = {}
        if not sessions:  # an empty split still gets its (empty) file
            writer.ActionFileWriter(self._paths[0], variant).close()

    def write(self, session: PlannedSession, rows: list[dict[str, Any]]) -> None:
        k = self._shard_of[session.session_id]
        if self._open is None or self._open[0] != k:
            self.close()
            self._open = (k, writer.ActionFileWriter(self._paths[k], self._variant))
        self._open[1].write(rows)
        self.counts[session.session_id] = len(rows)

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None


def _write_split(
    root: Path,
    plan: StorePlan,
    split: str,
    ctx: PageContext,
    variants: tuple[str, ...],
    bar: Any,
    page_lengths: list[int],
) -> int:
    """Write one split of every variant; each page is rendered once. Returns the filtered rows."""
    sessions = sorted((s for s in plan.sessions if s.split == split), key=lambda s: s.session_id)
    writers = {v: _ShardedWriter(root, v, split, sessions) for v in variants}
    filtered_total = 0
    try:
        for s in sessions:
            deliver_to = s.user.survey["Demographic Information"]["Location"]

            def render(view: Any, s: PlannedSession = s, deliver_to: str = deliver_to) -> str:
                return render_page(view, ctx, key=(s.index,), deliver_to=deliver_to)

            pages = [render(step.view) for step in s.sim.steps]
            rows = filtered_rows(s, pages, plan.seed)
            writers["filtered"].write(s, rows)
            if "full" in writers:
                writers["full"].write(s, full_rows(s, rows, pages, plan.seed, render))
            page_lengths.extend(len(p) for p in pages)
            filtered_total += len(rows)
            bar.update(1)
    finally:
        for w in writers.values():
            w.close()
    user_ids = {s.user.user_id for s in sessions}
    users = [_user_row(u) for u in sorted(plan.users, key=lambda u: u.user_id) if u.user_id in user_ids]
    for variant, w in writers.items():
        table = [
            {"session_id": s.session_id, "user_id": s.user.user_id, "action_count": w.counts[s.session_id]}
            for s in sessions
        ]
        writer.write_sessions(root, variant, split, table)
        writer.write_users(root, variant, split, users)
    return filtered_total


def generate_store(
    out_dir: str | os.PathLike[str],
    *,
    users: int = 50,
    sessions: int = 500,
    seed: int = 0,
    page_scale: float = 1.0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    user_disjoint: bool = False,
    full_variant: bool = False,
    progress: bool = True,
) -> GenerationSummary:
    """Write a synthetic OPeRA store in the dataset's layout under ``out_dir``.

    Args:
        out_dir: Destination; must not exist or be an empty directory.
        users: Number of shoppers.
        sessions: Number of sessions (at least ``users``).
        seed: Everything is a function of the seed and these arguments.
        page_scale: Multiplies the filler text of every page (1.0 gives real page lengths; small
            values give small pages). Sessions and actions do not depend on it.
        test_fraction: Share of sessions in the test split.
        user_disjoint: Put whole users into test instead of splitting by session.
        full_variant: Also write ``OPeRA_full`` (about five times larger).
        progress: Show a progress bar.

    Returns:
        A :class:`GenerationSummary`.

    Raises:
        FileExistsError: ``out_dir`` exists and is not empty.
        ValueError: Bad sizes, fraction or scale.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not empty; choose a new directory or delete it")
    if page_scale < 0 or not math.isfinite(page_scale):
        raise ValueError(f"page_scale must be a finite number >= 0, got {page_scale}")
    plan = build_plan(seed, users, sessions, test_fraction=test_fraction, user_disjoint=user_disjoint)
    ctx = PageContext(seed=seed, scale=float(page_scale))
    variants = ("filtered", "full") if full_variant else ("filtered",)
    page_lengths: list[int] = []
    rows = {}
    with (
        atomic_directory(out) as tmp,
        tqdm(total=sessions, desc="synthetic sessions", unit="session", disable=not progress) as bar,
    ):
        for split in ("train", "test"):
            rows[split] = _write_split(tmp, plan, split, ctx, variants, bar, page_lengths)
        counts = split_counts(plan)
        page_lengths.sort()
        n = len(page_lengths)
        summary = dict(
            out_dir=str(out),
            seed=seed,
            users=users,
            sessions=sessions,
            page_scale=float(page_scale),
            user_disjoint=user_disjoint,
            full_variant=full_variant,
            **counts,
            train_rows=rows["train"],
            test_rows=rows["test"],
            page_chars=sum(page_lengths),
            page_length_median=page_lengths[n // 2],
            page_length_p90=page_lengths[min(n - 1, int(0.9 * n))],
            page_length_max=page_lengths[-1],
        )
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*.parquet"))
        size = sum((tmp / f).stat().st_size for f in files)
        manifest = {
            "generator": "customer_env.synthetic",
            "generator_version": GENERATOR_VERSION,
            "test_fraction": test_fraction,
            **{k: v for k, v in summary.items() if k != "out_dir"},
            "bytes_on_disk": size,
            "variants": [VARIANT_DIRS[v] for v in variants],
            "files": files,
        }
        (tmp / MANIFEST_NAME).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    seconds = round(time.perf_counter() - started, 2)
    log.info(
        "generated synthetic OPeRA store at %s: %d sessions, %.1f MB of pages, %.1f MB on disk, %.1f s",
        out,
        sessions,
        summary["page_chars"] / 1e6,
        size / 1e6,
        seconds,
    )
    return GenerationSummary(**summary, bytes_on_disk=size, seconds=seconds)
