"""The command-line options of how an evaluation runs and is written, shared by the example scripts.

``examples/rollout.py`` and ``examples/compare.py`` both take ``--shard I/N``, ``--resume``,
``--overwrite``, ``--log-prompts`` and ``--cache DIR``; this module declares them once, refuses
what cannot run before any work (one line, exit 2), and prints what a finished run reports.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> parser.add_argument("--out")  # doctest: +ELLIPSIS
    _StoreAction(...)
    >>> add_run_arguments(parser)
    >>> args = parser.parse_args(["--shard", "2/4"])
    >>> str(args.shard), args.resume
    ('2/4', False)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.run_files import RunFileError, check_out_dir
from agents.sharding import Shard


def shard_argument(text: str) -> Shard:
    """``--shard`` as a :class:`~agents.sharding.Shard` (argparse reports a bad one in one line)."""
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--shard``, ``--resume``, ``--overwrite``, ``--log-prompts`` and ``--cache``."""
    parser.add_argument("--shard", type=shard_argument, metavar="I/N",
                        help="play shard I of N of the selected sessions (join them with python -m agents.merge)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--log-prompts", action="store_true", help="log each step's observation in its sample")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="answer deterministic (temperature 0) model requests from a SQLite cache in DIR")


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace, *,
                        comparison: bool = False) -> None:
    """Refuse, before any work, in one line and exit 2: ``--resume``/``--overwrite`` without ``--out``,
    both together, or a run (``comparison``: a comparison) already in ``--out`` without either."""
    def refuse(message: str) -> None:
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    if (args.resume or args.overwrite) and not args.out:
        refuse("--resume and --overwrite need --out")
    if not args.out:
        return
    try:
        check_out_dir(args.out, resume=args.resume, overwrite=args.overwrite)
    except RunFileError as exc:
        refuse(str(exc))
    from agents.compare import SUMMARY_FILE

    if comparison and (args.out / SUMMARY_FILE).exists() and not (args.resume or args.overwrite):
        refuse(f"{args.out} already holds a comparison: pass --resume to continue it, --overwrite to start over, "
               "or choose another --out")


def attach_cache(agent: Any, directory: Path | None, name: str) -> None:
    """Put the request cache in front of the agent's backend, or say why there is nothing to cache."""
    if directory is None:
        return
    from agents.backends.request_cache import use_request_cache

    if use_request_cache(agent, directory) is None:
        print(f"[run] --cache: agent {name} has no model backend; nothing to cache")


def report_run(result: Any) -> None:
    """Print what a resume found, the request cache's counts, and the files written."""
    resume = (result.info.get("run") or {}).get("resume") or {}
    for note in resume.get("notes", []):
        print(f"[run] {note}")
    if resume.get("resumed"):
        print(f"[run] resumed: {resume['steps_recorded']} steps replayed from the samples file, "
              f"{result.metrics['n_steps'] - resume['steps_recorded']} played now")
    cache = _find(result.info.get("agent"), "request_cache")
    if cache:
        print(f"[run] request cache {cache['path']}: {cache['hits']} hits, {cache['misses']} misses"
              + (f", {cache['bypassed']} not cacheable (sampling)" if cache["bypassed"] else ""))
    for path in result.files or ():
        print(f"wrote {path}")


def _find(value: Any, key: str) -> Any:
    """The first ``key`` entry at any depth of nested dicts."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for inner in value.values():
            found = _find(inner, key)
            if found is not None:
                return found
    return None
