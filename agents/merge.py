"""Join the shards of one evaluation into the results of a single run over all their sessions.

Each shard is a run directory written by ``examples/rollout.py --shard I/N --out DIR`` (or a
comparison folder written by ``examples/compare.py --shard I/N --out DIR``: then every run in it
is merged with its namesakes, and the table and plot are drawn again). The merge refuses, in one
line, shards that are not one evaluation: another config (the shard aside), agent, dataset,
prompt budget or session selection; two shards with one index (overlap); a missing index; an
unfinished shard (no ``results.json``) or one whose samples are not the ones its results were
computed from. It then orders all samples as a single run orders them (the selection's session
order, then step) and recomputes every metric, bootstrap intervals included, with the config's
seed: the merged ``results.json`` has exactly the metrics of one unsharded run.

Example:
    python -m agents.merge runs/shard1 runs/shard2 --out runs/all
    python -m agents.merge runs/cmp1 runs/cmp2 --out runs/cmp

    >>> merged = merge_runs(["runs/shard1", "runs/shard2"], "runs/all")  # doctest: +SKIP
    >>> merged.metrics["headline"]["exact_match"]  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.agent_spec import AgentSpec
from agents.compare import SUMMARY_FILE, Comparison, finish_comparison, planned, read_listing
from agents.rollout import RolloutConfig, RolloutResult, click_type_lookup, open_stores, results_payload
from agents.run_files import (RUN_FILE, RunFileError, RunManifest, canonical_order, describe_differences,
                              differences, read_manifest, read_results, read_samples, run_files_present,
                              write_run_files)
from agents.sharding import Shard
from customer_env.command_line import CommandLineParser
from customer_env.metrics import StepRecord, evaluate
from customer_env.provenance import provenance


class MergeError(ValueError):
    """Shards that cannot be merged; the one-line message names the directories at fault."""


def merge_runs(shard_dirs: Sequence[str | Path], out_dir: str | Path, *, store: Any = None, train_store: Any = None,
               overwrite: bool = False) -> RolloutResult:
    """Merge run directories that are the shards ``1/N ... N/N`` of one evaluation into ``out_dir``.

    Args:
        shard_dirs: The shards' run directories, in any order.
        out_dir: Where the merged ``run.json``, ``samples.jsonl`` and ``results.json`` go.
        store, train_store: The stores the shards read (default: opened from their config);
            their fingerprints must be the shards'.
        overwrite: Replace a run already in ``out_dir``.

    Raises:
        MergeError: see the module docstring.
    """
    dirs = [Path(d) for d in shard_dirs]
    out = Path(out_dir)
    present = run_files_present(out)
    if present and not overwrite:
        raise MergeError(f"--out {out} already holds a run ({', '.join(present)}): pass --overwrite to replace it, "
                         "or choose another --out")
    if not dirs:
        raise MergeError("no shards to merge")
    if any(d.resolve() == out.resolve() for d in dirs):
        raise MergeError(f"--out {out} is one of the shards")
    manifests, results = [], []
    for d in dirs:
        try:
            manifests.append(read_manifest(d))
            results.append(read_results(d))
        except RunFileError as exc:
            raise MergeError(f"shard {d}: {exc}") from None
    shards = _check_shards(dirs, manifests)
    first = manifests[0]
    config = RolloutConfig.from_dict({**first.config, "shard": None})
    if store is None or train_store is None:
        opened = open_stores(config)
        store = opened[0] if store is None else store
        train_store = opened[1] if train_store is None else train_store
    for name, opened_store in (("fingerprint", store), ("train_fingerprint", train_store)):
        if opened_store.fingerprint != first.dataset.get(name):
            raise MergeError(f"the data opened here ({name} {opened_store.fingerprint}) is not the data the shards "
                             f"read ({first.dataset.get(name)}); merge where the shards' dataset is")
    samples: list[Mapping[str, Any]] = []
    seen: dict[tuple[str, int], Path] = {}
    for d, manifest, result in zip(dirs, manifests, results):
        read = read_samples(d / str(result.get("samples_file")))
        own = set(manifest.sessions)
        for recorded in read.samples:
            if recorded.key[0] not in own:
                raise MergeError(f"shard {d}: line {recorded.line} holds session {recorded.key[0]!r}, "
                                 f"which is not one of its sessions")
            if recorded.key in seen:
                raise MergeError(f"shards {seen[recorded.key]} and {d} both hold session {recorded.key[0]!r} "
                                 f"step {recorded.key[1]}")
            seen[recorded.key] = d
            samples.append(recorded.sample)
    ordered = [dict(s) for s in canonical_order(samples, first.selected)]
    records = [StepRecord.from_sample(s) for s in ordered]
    metrics = evaluate(records, click_type_lookup(train_store, store), n_bootstrap=config.n_bootstrap,
                       seed=config.seed)
    manifest = replace(first, config={**first.config, "shard": None}, sessions=list(first.selected), shard=None)
    info = _merged_info(dirs, manifests, results, shards, manifest, config, len(ordered))
    info["provenance"] = provenance(stores={"evaluated": store, "train": train_store})
    merged = RolloutResult(ordered, metrics, info, manifest)
    merged.files = write_run_files(out, ordered, results_payload(merged), manifest)
    return merged


def _check_shards(dirs: Sequence[Path], manifests: Sequence[RunManifest]) -> list[Shard]:
    """The shards, checked to be exactly ``1/N ... N/N`` of one evaluation (see the module docstring)."""
    shards: list[Shard] = []
    for d, manifest in zip(dirs, manifests):
        if manifest.shard is None:
            raise MergeError(f"{d}: not a shard (its {RUN_FILE} records no --shard)")
        shards.append(Shard.from_dict(manifest.shard))
    counts = {s.count for s in shards}
    if len(counts) > 1:
        listed = ", ".join(f"{d} is {s}" for d, s in zip(dirs, shards))
        raise MergeError(f"shards of different splits cannot be merged: {listed}")
    for d, manifest in zip(dirs[1:], manifests[1:]):
        found = differences(manifests[0].identity(across_shards=True), manifest.identity(across_shards=True))
        if found:
            raise MergeError(f"{dirs[0]} and {d} are not shards of one evaluation: "
                             f"{describe_differences(found, f'in {dirs[0]}', f'in {d}')}")
    by_index: dict[int, Path] = {}
    for d, shard in zip(dirs, shards):
        if shard.index in by_index:
            raise MergeError(f"overlapping shards: {by_index[shard.index]} and {d} are both shard {shard}")
        by_index[shard.index] = d
    count = shards[0].count
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise MergeError(f"missing shard(s) {', '.join(missing)}: got "
                         + ", ".join(f"{s} ({d})" for d, s in sorted(zip(dirs, shards), key=lambda x: x[1].index)))
    for d, shard, manifest in zip(dirs, shards, manifests):
        if manifest.sessions != shard.select(manifest.selected):
            raise MergeError(f"{d}: its sessions are not shard {shard} of its selection")
    return shards


def _merged_info(dirs: Sequence[Path], manifests: Sequence[RunManifest], results: Sequence[Mapping[str, Any]],
                 shards: Sequence[Shard], manifest: RunManifest, config: RolloutConfig, steps: int) -> dict[str, Any]:
    """``results.json`` of the merged run: the first shard's provenance, counts summed over the shards."""
    info = {k: v for k, v in results[0].items()
            if k not in ("metrics", "samples_file", "samples_sha256", "created")}
    rollout: dict[str, Any] = {}
    parse_errors: Counter = Counter()
    for result in results:
        for key, value in (result.get("rollout") or {}).items():
            if key == "parse_errors":
                parse_errors.update(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                rollout[key] = rollout.get(key, 0) + value
    rollout["parse_errors"] = dict(parse_errors)
    rollout["steps"] = steps
    if "wall_s" in rollout:
        rollout["wall_s"] = round(rollout["wall_s"], 3)  # summed over the shards: machine time, not elapsed
    commits = sorted({str(_git_commit(r)) for r in results})
    info.update({
        "config": {**manifest.config},
        "env": {**(results[0].get("env") or {}), "sessions": len(manifest.sessions)},
        "rollout": rollout,
        "run": {"shard": None, "selected_sessions": len(manifest.selected), "sessions": len(manifest.sessions),
                "fingerprints": manifest.fingerprints(), "resume": None,
                "merged_from": [{"dir": str(d), "shard": str(s), "sessions": len(m.sessions),
                                 "steps": (r.get("rollout") or {}).get("steps"),
                                 "wall_s": (r.get("rollout") or {}).get("wall_s"),
                                 "samples_sha256": r.get("samples_sha256"), "git_commit": _git_commit(r),
                                 "agent": r.get("agent")}
                                for d, s, m, r in sorted(zip(dirs, shards, manifests, results),
                                                         key=lambda x: x[1].index)],
                "shard_git_commits": commits},
        "seed": config.seed,
    })
    return info


def _git_commit(results: Mapping[str, Any]) -> str | None:
    """The code version a shard's ``results.json`` records (in its provenance)."""
    return (results.get("provenance") or {}).get("git_commit")


def is_comparison_folder(path: str | Path) -> bool:
    """Whether ``path`` is a comparison output folder (it lists its runs in ``comparison.json``)."""
    return (Path(path) / SUMMARY_FILE).is_file()


def merge_comparisons(folders: Sequence[str | Path], out_dir: str | Path, *, overwrite: bool = False) -> Comparison:
    """Merge comparison folders that are the shards of one comparison: each run, then the tables and plots.

    The paired differences against the baseline are recomputed from the merged runs, as
    ``agents.compare`` computes them, so the merged ``comparison.md`` is the unsharded one.

    Returns:
        An :class:`agents.compare.Comparison` of the merged runs.

    Raises:
        MergeError: the folders planned different comparisons (the shard aside), or any run's
            shards cannot be merged.
    """
    folders = [Path(f) for f in folders]
    out = Path(out_dir)
    try:
        listings = [read_listing(f) for f in folders]
    except RunFileError as exc:
        raise MergeError(str(exc)) from None
    plans = [{**planned(listing), "shard": None} for listing in listings]
    for folder, plan in zip(folders[1:], plans[1:]):
        found = differences(plans[0], plan)
        if found:
            raise MergeError(f"{folders[0]} and {folder} are not shards of one comparison: "
                             f"{describe_differences(found, f'in {folders[0]}', f'in {folder}')}")
    if (out / SUMMARY_FILE).exists() and not overwrite:
        raise MergeError(f"--out {out} already holds a comparison: pass --overwrite or choose another --out")
    runs_planned = plans[0]["runs"]
    try:
        config = RolloutConfig.from_dict({**read_manifest(folders[0] / next(iter(runs_planned.values()))["dir"]).config,
                                          "shard": None})
    except RunFileError as exc:
        raise MergeError(str(exc)) from None
    store, train_store = open_stores(config)
    results: dict[str, RolloutResult] = {}
    for label, run in runs_planned.items():
        try:
            results[label] = merge_runs([f / run["dir"] for f in folders], out / run["dir"], overwrite=overwrite,
                                        store=store, train_store=train_store)
        except MergeError as exc:
            raise MergeError(f"run {label!r}: {exc}") from None
    runs = [(label, AgentSpec(run["agent"], dict(run["options"] or {})), run["persona_mode"])
            for label, run in runs_planned.items()]
    return finish_comparison(runs, results, plans[0]["baseline_pairs"] or {}, store, train_store, out, config)


def merge(dirs: Sequence[str | Path], out_dir: str | Path, *, overwrite: bool = False) -> Any:
    """:func:`merge_comparisons` when the shards are comparison folders, else :func:`merge_runs`."""
    kinds = {is_comparison_folder(d) for d in dirs}
    if len(kinds) > 1:
        raise MergeError("give only run directories or only comparison folders, not both")
    return merge_comparisons(dirs, out_dir, overwrite=overwrite) if kinds == {True} else \
        merge_runs(dirs, out_dir, overwrite=overwrite)


def build_parser() -> argparse.ArgumentParser:
    p = CommandLineParser(prog="python -m agents.merge", description=__doc__.split("\n")[0])
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR",
                   help="the shards' output directories (run directories or comparison folders)")
    p.add_argument("--out", type=Path, required=True, help="where the merged run (or comparison) goes")
    p.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        merged = merge(args.shards, args.out, overwrite=args.overwrite)
    except (MergeError, RunFileError) as exc:
        print(f"merge: error: {exc}", file=sys.stderr)
        return 2
    from agents.report import metrics_table

    if isinstance(merged, RolloutResult):
        print(metrics_table(merged.metrics))
        print(f"merged {len(args.shards)} shards, {merged.metrics['n_steps']} steps: wrote "
              f"{merged.files[0]} and {merged.files[1]}")
    else:
        print(merged.table)
        print(f"merged {len(args.shards)} shards of {len(merged.results)} runs: wrote {args.out / 'comparison.md'} "
              f"and {merged.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
