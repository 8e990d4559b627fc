"""The files of one run directory: what each holds, how it is written as the run goes, and checked.

A run directory (``examples/rollout.py --out DIR``; one per agent inside a comparison folder)
holds three files:

* ``run.json``: the run's identity, written atomically before the first step: the rollout
  config, the agent (its ``describe()`` before it acted), the dataset fingerprints, the prompt
  budget, every selected session in order and, for a shard, which part of them this run plays.
  ``--resume`` compares it with the resuming run's and refuses any difference.
* ``samples.jsonl``: one sample per scored step, appended and flushed as each step is scored and
  synced to disk at the end of every session, in scoring order (sessions advanced in lockstep
  interleave; :func:`canonical_order` sorts them). It is never rewritten while the run lives;
  a process killed mid-write leaves a *torn* last line (bytes after the last newline), which a
  resume drops, counts and reports.
* ``results.json``: written atomically after the last step: metrics, provenance, and the
  SHA-256 of ``samples.jsonl`` (``samples_sha256``), so that a pair whose samples changed or were
  cut after the results were written is detected (:func:`check_samples`).

Every sample carries ``prompt_sha256``, the SHA-256 of its observation as canonical JSON
(:func:`prompt_sha256`), so two runs can be shown to have read the same inputs whatever their
agents; with ``log_prompts`` the observation itself is logged under ``observation``.

Example:
    >>> prompt_sha256({"page": "<div/>", "persona": "p"})[:12]
    '10a827353aba'
    >>> check_samples(json.loads(Path("runs/x/results.json").read_text()), Path("runs/x/samples.jsonl"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from customer_env.cache import atomic_write_text
from customer_env.provenance import file_sha256

logger = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"
RUN_FILE = "run.json"
LOCK_FILE = ".run.lock"
#: Version of the run directory layout (run.json's ``format``).
RUN_FORMAT = 1
#: Keys of an agent's ``describe()`` that count work done, not what the agent is: left out of its
#: identity, so that a resumed run's agent (fresh counters) is the interrupted run's agent.
AGENT_COUNTER_KEYS = frozenset({"stats", "retries_so_far", "request_cache", "matched_steps", "unmatched_steps"})


class RunFileError(ValueError):
    """A run directory that cannot be used as asked; the one-line message names the file at fault."""


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: keys sorted, ASCII escapes, no spaces (what hashes are taken of)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)


def fingerprint(value: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()


def prompt_sha256(observation: Mapping[str, Any]) -> str:
    """SHA-256 of an observation as canonical JSON: equal exactly when two agents read the same input."""
    return fingerprint(dict(observation))


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def json_text(value: Any, **dumps_kwargs: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)`` that is always writable as UTF-8.

    A model can write a lone surrogate (``"\\ud83d"``: half an emoji); decoded, it is text that
    UTF-8 cannot encode. JSON text holds such a character only inside a string, so it is written
    back as its ``\\uXXXX`` escape: the file stays valid UTF-8 and reads back to the same value.

    Example:
        >>> json_text({"completion": "\\ud83d ok é"})
        '{"completion": "\\\\ud83d ok é"}'
    """
    return escape_lone_surrogates(json.dumps(value, ensure_ascii=False, **dumps_kwargs))


def escape_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its ``\\uXXXX`` escape, so it encodes as UTF-8.

    In JSON text the escape reads back as the same character; in a page (the trajectory viewer)
    it shows the reader what the model wrote instead of failing the write.

    Example:
        >>> escape_lone_surrogates("half an emoji: \\ud83d")
        'half an emoji: \\\\ud83d'
    """
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def sample_line(sample: Mapping[str, Any]) -> str:
    """A sample as one JSONL line, with its newline (:func:`json_text`: always writable as UTF-8)."""
    return json_text(sample) + "\n"


def results_text(results: Mapping[str, Any]) -> str:
    """``results.json``'s text (indented, always writable as UTF-8)."""
    return json_text(dict(results), indent=2, default=str) + "\n"


def agent_identity(described: Mapping[str, Any]) -> dict[str, Any]:
    """An agent's ``describe()`` without the counters of work done (:data:`AGENT_COUNTER_KEYS`), at any depth."""
    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in AGENT_COUNTER_KEYS}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(json.dumps(dict(described), default=str)))


@dataclass
class RunManifest:
    """What ``run.json`` holds: everything a resume or a merge must find equal.

    Attributes:
        config: The rollout config as a JSON-ready dict (``dataclasses.asdict``).
        agent: The agent's identity (:func:`agent_identity` of its ``describe()`` before it acted).
        agent_name: The registered name the agent was made from, when known.
        dataset: ``fingerprint`` and ``train_fingerprint`` of the stores, and their description.
        env: What the environment was built with beyond the config (``max_prompt_tokens``, ``tokenizer``).
        selected: Every session the config selects, in order (all shards together).
        sessions: The sessions this run plays, in order (``selected`` unless sharded).
        shard: ``{"index": i, "count": n}`` for shard ``i/n``, else None.
        label: The run's label inside a comparison, else None.
        format: :data:`RUN_FORMAT`.
    """

    config: dict[str, Any]
    agent: dict[str, Any]
    agent_name: str | None
    dataset: dict[str, Any]
    env: dict[str, Any]
    selected: list[str]
    sessions: list[str]
    shard: dict[str, int] | None = None
    label: str | None = None
    format: int = RUN_FORMAT

    def config_without_shard(self) -> dict[str, Any]:
        return {k: v for k, v in self.config.items() if k != "shard"}

    def identity(self, *, across_shards: bool = False) -> dict[str, Any]:
        """The parts that must be equal (``across_shards``: for shards of one run, which differ in shard only)."""
        parts: dict[str, Any] = {
            "config": self.config_without_shard() if across_shards else self.config,
            "dataset": {k: self.dataset.get(k) for k in ("fingerprint", "train_fingerprint")},
            "agent": {"name": self.agent_name, "describe": self.agent},
            "env": self.env, "selected": self.selected, "label": self.label,
        }
        if not across_shards:
            parts["shard"] = self.shard
            parts["sessions"] = self.sessions
        return parts

    def fingerprints(self) -> dict[str, str]:
        """One SHA-256 per part of :meth:`identity` across shards (recorded for people and tools)."""
        return {k: fingerprint(v) for k, v in self.identity(across_shards=True).items()}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fingerprints": self.fingerprints()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> "RunManifest":
        if not isinstance(data, Mapping):
            raise RunFileError(f"{path}: not a JSON object")
        if data.get("format") != RUN_FORMAT:
            raise RunFileError(f"{path}: run format {data.get('format')!r}, this version reads {RUN_FORMAT}")
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        except TypeError as exc:
            raise RunFileError(f"{path}: {exc}") from None


def differences(ours: Any, theirs: Any, path: str = "") -> list[tuple[str, str, str]]:
    """Where two JSON values differ: ``(path, ours, theirs)`` with the values shortened (``absent``: no key).

    Example:
        >>> differences({"config": {"seed": 0, "split": "test"}}, {"config": {"seed": 1, "split": "test"}})
        [('config.seed', '0', '1')]
    """
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
        found: list[tuple[str, str, str]] = []
        for key in [*ours, *(k for k in theirs if k not in ours)]:  # ours' order: config before agent
            sub = f"{path}.{key}" if path else str(key)
            if key not in ours or key not in theirs:
                found.append((sub, "absent" if key not in ours else _short(ours[key]),
                              "absent" if key not in theirs else _short(theirs[key])))
            else:
                found += differences(ours[key], theirs[key], sub)
        return found
    if canonical_json(ours) != canonical_json(theirs):
        return [(path or "value", _short(ours), _short(theirs))]
    return []


def describe_differences(found: Sequence[tuple[str, str, str]], ours: str, theirs: str) -> str:
    """The first difference in words, and how many more there are."""
    path, mine, other = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{path} is {mine} {ours} but {other} {theirs}{more}"


def _short(value: Any, limit: int = 60) -> str:
    text = canonical_json(value)
    return text if len(text) <= limit else f"{text[:limit - 14]}...({len(text)} chars)"


def read_manifest(run_dir: str | Path) -> RunManifest:
    """``run.json`` of a run directory.

    Raises:
        RunFileError: when it is missing or unreadable.
    """
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise RunFileError(f"{path}: not found (not a run directory written by this version)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: not JSON ({' '.join(str(exc).split())})") from None
    return RunManifest.from_dict(data, path)


@dataclass
class RecordedSample:
    """One sample line read back: its text (with the newline), the parsed sample and its line number."""

    line: int
    text: str
    sample: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        return self.sample["session_id"], self.sample["step_index"]


@dataclass
class SamplesRead:
    """A samples file read back: the complete lines, and the torn tail (bytes after the last newline)."""

    samples: list[RecordedSample] = field(default_factory=list)
    good_bytes: int = 0
    torn_bytes: int = 0


def read_samples(path: str | Path) -> SamplesRead:
    """Read a samples file line by line; a torn last line is reported, not parsed.

    Raises:
        RunFileError: a complete line that is not UTF-8, not a JSON object, or lacks a string
            ``session_id`` or an integer ``step_index`` (file and line named).
    """
    path = Path(path)
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    result = SamplesRead(good_bytes=end, torn_bytes=len(data) - end)
    for number, raw in enumerate(data[:end].splitlines(keepends=True), start=1):
        try:
            text = raw.decode("utf-8")
            sample = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RunFileError(f"{path}:{number}: not a JSON line ({' '.join(str(exc).split())})") from None
        index = sample.get("step_index") if isinstance(sample, dict) else None
        if not isinstance(sample, dict) or not isinstance(sample.get("session_id"), str) \
                or isinstance(index, bool) or not isinstance(index, int):
            raise RunFileError(f"{path}:{number}: not a sample (a JSON object with session_id and step_index)")
        result.samples.append(RecordedSample(number, text, sample))
    return result


def canonical_order(samples: Sequence[Mapping[str, Any]], session_ids: Sequence[str]) -> list[Mapping[str, Any]]:
    """Samples sorted by their session's position in ``session_ids``, then by step: a run's order.

    Raises:
        RunFileError: when a sample's session is not in ``session_ids``.
    """
    order = {sid: i for i, sid in enumerate(session_ids)}
    stray = next((s["session_id"] for s in samples if s["session_id"] not in order), None)
    if stray is not None:
        raise RunFileError(f"a sample of session {stray!r}, which the run did not select")
    return sorted(samples, key=lambda s: (order[s["session_id"]], s["step_index"]))


def samples_problem(results: Mapping[str, Any], samples_path: str | Path) -> str | None:
    """Why a results file and a samples file are not one finished pair, or None when they are.

    A results file that records no ``samples_sha256`` (written before it was recorded) cannot be
    checked: that is said too, so a caller decides.
    """
    samples_path = Path(samples_path)
    expected = results.get("samples_sha256")
    if not isinstance(expected, str):
        return f"{RESULTS_FILE} beside {samples_path} records no samples_sha256: the pair cannot be checked"
    if not samples_path.is_file():
        return f"{samples_path}: not found, but {RESULTS_FILE} records its hash"
    actual = file_sha256(samples_path)
    if actual != expected:
        return (f"{samples_path}: sha256 {actual[:12]}... differs from the {expected[:12]}... that {RESULTS_FILE} "
                f"records: the samples changed after the results were written (a half-written or edited pair)")
    return None


def check_samples(results: Mapping[str, Any], samples_path: str | Path) -> None:
    """Raise :class:`RunFileError` unless ``results`` records the hash of ``samples_path`` as it is now.

    Example:
        >>> check_samples(json.loads(Path("runs/x/results.json").read_text()), "runs/x/samples.jsonl")  # doctest: +SKIP
    """
    problem = samples_problem(results, samples_path)
    if problem is not None:
        raise RunFileError(problem)


def read_results(run_dir: str | Path, *, check: bool = True) -> dict[str, Any]:
    """``results.json`` of a finished run directory, checked against its samples file.

    Raises:
        RunFileError: the file is missing (the run is unfinished) or unreadable, or (``check``)
            the samples file is not the one the results were computed from.
    """
    run_dir = Path(run_dir)
    path = run_dir / RESULTS_FILE
    if not path.is_file():
        raise RunFileError(f"{path}: not found: the run is unfinished (complete it with --resume)")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: not JSON ({' '.join(str(exc).split())})") from None
    if not isinstance(results, dict):
        raise RunFileError(f"{path}: not a JSON object")
    if check:
        check_samples(results, run_dir / str(results.get("samples_file") or SAMPLES_FILE))
    return results


def check_predictions_file(path: str | Path) -> None:
    """When ``path`` is a run's samples file (a ``results.json`` beside it names it), check the pair.

    A predictions file of another origin has no such neighbour and passes. Used by
    :func:`agents.predictions.score_predictions`, so a run's samples are never scored half-written.

    Raises:
        RunFileError: the neighbouring results file records another hash.
    """
    path = Path(path)
    results_path = path.parent / RESULTS_FILE
    if not results_path.is_file():
        return
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(results, dict) and results.get("samples_file") == path.name and "samples_sha256" in results:
        check_samples(results, path)


class SampleLog:
    """The append-only samples file of a live run: each line flushed when written, synced per session."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "ab")
        self.written = 0

    def append(self, line: str) -> None:
        self._handle.write(line.encode("utf-8"))
        self._handle.flush()
        self.written += 1

    def sync(self) -> None:
        """Force what was written to disk (called at the end of each session and on close)."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if not self._handle.closed:
            try:
                self.sync()
            finally:
                self._handle.close()


@dataclass
class ResumeState:
    """What a run directory held when the run (re)started."""

    recorded: list[RecordedSample] = field(default_factory=list)
    torn_lines_dropped: int = 0
    torn_bytes_dropped: int = 0
    stale_results_removed: bool = False
    resumed: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"resumed": self.resumed, "steps_recorded": len(self.recorded),
                "torn_lines_dropped": self.torn_lines_dropped, "torn_bytes_dropped": self.torn_bytes_dropped,
                "stale_results_removed": self.stale_results_removed, "notes": list(self.notes)}


def run_files_present(run_dir: str | Path) -> list[str]:
    """Which of the run files exist in ``run_dir``."""
    run_dir = Path(run_dir)
    return [name for name in (RUN_FILE, SAMPLES_FILE, RESULTS_FILE) if (run_dir / name).exists()]


def check_out_dir(run_dir: str | Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, to start a run over an existing one without ``resume`` or ``overwrite``.

    Raises:
        RunFileError: ``run_dir`` holds a run and neither is set, or both are set.
    """
    if resume and overwrite:
        raise RunFileError("--resume and --overwrite exclude each other")
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise RunFileError(f"--out {run_dir}: not a directory")
    present = run_files_present(run_dir)
    if present and not resume and not overwrite:
        raise RunFileError(f"{run_dir} already holds a run ({', '.join(present)}): pass --resume to continue it, "
                           "--overwrite to start over, or choose another --out")


class RunWriter:
    """Writes one run directory as the run goes, and resumes one that was interrupted.

    Use as a context manager around the steps: entering it takes the directory's lock (a second
    process on the same directory is refused), checks or writes ``run.json`` and opens
    ``samples.jsonl`` for appending; :attr:`state` says what was already recorded. Leaving it
    syncs and closes the samples file, whether the run finished or failed; :meth:`finish` then
    writes the results.

    Args:
        run_dir: The run directory (created if missing).
        manifest: This run's identity.
        resume: Continue the run recorded there (refused when its ``run.json`` differs); with no
            run there, start one.
        overwrite: Remove a run recorded there and start over.

    Raises:
        RunFileError: see :func:`check_out_dir`; a resume whose ``run.json`` differs (the first
            differences named); a samples file without ``run.json``; another process holding the
            directory; a samples line that is not a sample.
    """

    def __init__(self, run_dir: str | Path, manifest: RunManifest, *, resume: bool = False,
                 overwrite: bool = False) -> None:
        self.dir = Path(run_dir)
        self.manifest = manifest
        self.resume, self.overwrite = resume, overwrite
        self.samples_path = self.dir / SAMPLES_FILE
        self.results_path = self.dir / RESULTS_FILE
        self.state = ResumeState()
        self.log: SampleLog | None = None
        self._lock: Any = None

    def __enter__(self) -> "RunWriter":
        check_out_dir(self.dir, resume=self.resume, overwrite=self.overwrite)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            if self.resume and (self.dir / RUN_FILE).exists():
                self._prepare_resume()
            else:
                if self.resume and self.samples_path.exists():
                    raise RunFileError(f"{self.dir / RUN_FILE}: not found beside {SAMPLES_FILE}: nothing says "
                                       "what run those samples belong to, so it cannot be resumed")
                if self.resume:
                    self.state.notes.append(f"nothing to resume in {self.dir}: started the run")
                for name in (RESULTS_FILE, SAMPLES_FILE, RUN_FILE):  # results first: no pair outlives its samples
                    (self.dir / name).unlink(missing_ok=True)
                atomic_write_text(self.dir / RUN_FILE, json.dumps(self.manifest.to_dict(), indent=1) + "\n")
            self.log = SampleLog(self.samples_path)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.log is not None:
                self.log.close()
        finally:
            self._release()

    def _acquire(self) -> None:
        from filelock import FileLock, Timeout

        self._lock = FileLock(str(self.dir / LOCK_FILE))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise RunFileError(f"{self.dir}: another process is writing this run (lock {self.dir / LOCK_FILE})") \
                from None

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _prepare_resume(self) -> None:
        old = read_manifest(self.dir)
        found = differences(self.manifest.identity(), old.identity())
        if found:
            raise RunFileError(f"resume refused: {self.dir} holds a different run: "
                               f"{describe_differences(found, 'here', f'in its {RUN_FILE}')}")
        self.state.resumed = True
        if not self.samples_path.exists():
            return
        read = read_samples(self.samples_path)
        if read.torn_bytes:
            os.truncate(self.samples_path, read.good_bytes)
            self.state.torn_lines_dropped, self.state.torn_bytes_dropped = 1, read.torn_bytes
            self.state.notes.append(f"{self.samples_path}: dropped a torn last line ({read.torn_bytes} bytes "
                                    f"after line {len(read.samples)}); its step is played again")
        self.state.recorded = read.samples

    def append(self, sample: Mapping[str, Any]) -> str:
        """Append one sample's line (flushed); returns the line."""
        assert self.log is not None, "RunWriter used outside its with-block"
        if self.log.written == 0 and self.results_path.exists():
            # The samples are about to grow: results of the shorter file must not outlive it. Kept
            # until now, so a resume refused while replaying leaves a finished run as it was.
            self.results_path.unlink()
            self.state.stale_results_removed = True
        line = sample_line(sample)
        self.log.append(line)
        return line

    def end_session(self) -> None:
        assert self.log is not None
        self.log.sync()

    def finish(self, payload: Mapping[str, Any]) -> tuple[Path, Path]:
        """After the with-block: write ``results.json`` with the samples file's hash, atomically.

        Raises:
            RunFileError: another process took the directory over meanwhile.
        """
        assert self.log is not None and self._lock is None, "finish() comes after the with-block"
        self._acquire()
        try:
            results = {**payload, "samples_file": SAMPLES_FILE, "samples_sha256": file_sha256(self.samples_path)}
            atomic_write_text(self.results_path, results_text(results))
        finally:
            self._release()
        return self.samples_path, self.results_path


def write_run_files(run_dir: str | Path, samples: Sequence[Mapping[str, Any]], payload: Mapping[str, Any],
                    manifest: RunManifest | None = None) -> tuple[Path, Path]:
    """Write a whole run at once (samples in the given order, then results with their hash), each atomically."""
    run_dir = Path(run_dir)
    samples_path, results_path = run_dir / SAMPLES_FILE, run_dir / RESULTS_FILE
    results_path.unlink(missing_ok=True)
    if manifest is not None:
        atomic_write_text(run_dir / RUN_FILE, json.dumps(manifest.to_dict(), indent=1) + "\n")
    atomic_write_text(samples_path, "".join(sample_line(s) for s in samples))
    results = {**payload, "samples_file": SAMPLES_FILE, "samples_sha256": file_sha256(samples_path)}
    atomic_write_text(results_path, results_text(results))
    return samples_path, results_path


def iter_run_dirs(folder: str | Path) -> Iterator[Path]:
    """The run directories directly inside a comparison folder (those holding ``run.json``), sorted."""
    yield from sorted(p.parent for p in Path(folder).glob(f"*/{RUN_FILE}"))
