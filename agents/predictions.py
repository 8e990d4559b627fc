"""Score predictions made elsewhere (a JSONL file) with the same metrics as a rollout.

One JSON object per line, keyed by ``session_id`` and ``step_index`` (the step's position in its
session, from 0), holding the prediction in the wire format, either as completion text or as the
wire object itself::

    {"session_id": "...", "step_index": 0, "completion": "{\\"rationale\\": ..., \\"action\\": {...}}"}
    {"session_id": "...", "step_index": 1, "rationale": "...", "action": {"type": "click", "name": "..."}}

Nothing is dropped silently:

* a line that is not UTF-8, not a JSON object, lacks a key, or holds no prediction is
  *malformed* (counted, with its line number and the reason; not scored);
* a second line for the same key is a *duplicate* (counted; the first one is scored);
* a key that is no step of the split is *extra* (counted; not scored);
* a step of the split without a prediction is *missing*: scored as a format failure, or left out
  with ``only_predicted_sessions`` when its whole session has no prediction.

A prediction that does not parse is *invalid* (a format failure). A well-formed prediction is
scored whether or not its element is on the page; grounding is its own number, checked against
the full page before the step (no prompt budget applies here; the environment checks the
rendered page). Definitions: ``docs/METRICS.md``.

Example:
    >>> report = score_predictions("preds.jsonl", data=StoreSpec(split="test"))  # doctest: +SKIP
    >>> report.counts  # doctest: +SKIP
    {'scored': 992, 'missing': 0, 'extra': 0, 'duplicates': 0, 'malformed': 1, 'invalid': 3, 'ungrounded': 5}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.rollout import click_type_lookup
from agents.run_files import check_predictions_file
from customer_env.actions import parse_completion
from customer_env.data.spec import StoreSpec
from customer_env.metrics import StepRecord, evaluate
from customer_env.provenance import file_sha256, provenance
from customer_env.records import session_outcome

Key = tuple[str, int]


@dataclass
class PredictionFile:
    """A parsed predictions file: entries by key, and what could not be used."""

    entries: dict[Key, tuple[int, Any]] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, Key]] = field(default_factory=list)


@dataclass
class PredictionReport:
    """Scores and bookkeeping of one predictions file."""

    metrics: dict[str, Any]
    records: list[StepRecord]
    missing: list[Key]
    extra: list[Key]
    malformed: list[tuple[int, str]]
    duplicates: list[tuple[int, Key]]
    invalid: int
    ungrounded: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """How many steps were scored, and every kind of problem (see the module docstring)."""
        return {"scored": len(self.records), "missing": len(self.missing), "extra": len(self.extra),
                "duplicates": len(self.duplicates), "malformed": len(self.malformed), "invalid": self.invalid,
                "ungrounded": self.ungrounded}

    def summary(self) -> str:
        """One line: format validity, grounding and action-type accuracy as counts over the scored steps.

        Example:
            >>> report.summary()  # doctest: +SKIP
            'format-valid 32/40, grounded 18/40, action type right 30/40'
        """
        n = len(self.records)
        valid = sum(r.predicted is not None for r in self.records)
        typed = sum(r.predicted is not None and r.predicted.type == r.gold.type for r in self.records)
        checked = [r for r in self.records if r.grounded is not None]
        grounded = (f"grounded {sum(bool(r.grounded) for r in checked)}/{len(checked)}" if checked
                    else "grounding not checked")
        return f"format-valid {valid}/{n}, {grounded}, action type right {typed}/{n}"


def read_predictions(path: str | Path) -> PredictionFile:
    """Parse the JSONL file (see the module docstring for what counts as malformed)."""
    result = PredictionFile()
    with open(path, "rb") as handle:  # decoded line by line: one bad byte costs one line, not the file
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                result.malformed.append((number, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except RecursionError:
                result.malformed.append((number, "not JSON (nested deeper than the decoder allows)"))
                continue
            except ValueError as exc:  # JSONDecodeError, or an integer over Python's digit limit
                reason = (f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError)
                          else str(exc).split(";")[0])
                result.malformed.append((number, f"not JSON ({reason})"))
                continue
            reason = _problem(obj)
            if reason:
                result.malformed.append((number, reason))
                continue
            key = (obj["session_id"], int(obj["step_index"]))
            if key in result.entries:
                result.duplicates.append((number, key))
                continue
            prediction = obj["completion"] if "completion" in obj else \
                {"rationale": obj.get("rationale"), "action": obj["action"]}
            result.entries[key] = (number, prediction)
    return result


def _problem(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return f"a line must be a JSON object, got {type(obj).__name__}"
    if not isinstance(obj.get("session_id"), str):
        return "missing or non-string 'session_id'"
    index = obj.get("step_index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        return f"'step_index' must be a non-negative integer, got {index!r}"
    if "completion" in obj:
        return None if isinstance(obj["completion"], str) else "'completion' must be a string"
    if "action" not in obj:
        return "no prediction: neither 'completion' nor 'action'"
    return None


def score_predictions(path: str | Path, *, data: StoreSpec | None = None, store: Any = None,
                      train_store: Any = None, only_predicted_sessions: bool = False, check_names: bool = True,
                      n_bootstrap: int = 1000, seed: int = 0) -> PredictionReport:
    """Score a predictions file against a split (see the module docstring).

    Args:
        path: The JSONL file.
        data: The scored data (default: the embedded store's test split); its training split
            gives the click-type lookup.
        store, train_store: Already opened stores instead of ``data``.
        check_names: Read each predicted session's pages to measure grounding; False skips it
            (faster; the grounding rate is then reported as not measured). It changes no other
            number.
        only_predicted_sessions, n_bootstrap, seed: See the module docstring.
    """
    from customer_env.prompt import compress_page

    data = data if data is not None else StoreSpec(split="test")
    store = store if store is not None else data.open()
    train_store = train_store if train_store is not None else data.with_split("train").open()
    check_predictions_file(path)  # a run's samples file is scored only as its results were computed
    predictions = read_predictions(path)
    predicted_sessions = {sid for sid, _ in predictions.entries}
    records, missing, invalid, ungrounded, gold_keys = [], [], 0, 0, set()
    for sid in store.session_ids:
        if only_predicted_sessions and sid not in predicted_sessions:
            continue
        session = store.session(sid)
        pages = store.pages(sid) if check_names and sid in predicted_sessions else None
        outcome = session_outcome(session.steps[-1].action)
        for step in session.steps:
            key = (sid, step.index)
            gold_keys.add(key)
            entry = predictions.entries.get(key)
            parsed = None
            if entry is None:
                missing.append(key)
            else:
                names = compress_page(pages[step.index]).names if pages is not None else None
                parsed = parse_completion(entry[1], valid_names=names)
                invalid += not parsed.ok
                ungrounded += parsed.ok and parsed.grounded is False
            records.append(StepRecord(
                sid, step.index, session.user_id, step.action,
                parsed.action if parsed is not None and parsed.ok else None,
                parsed.rationale if parsed is not None else None, step.rationale, len(session), session.purchased,
                grounded=(parsed.grounded if parsed is not None else False) if check_names else None,
                session_outcome=outcome))
    extra = sorted(k for k in predictions.entries if k not in gold_keys)
    metrics = evaluate(records, click_type_lookup(train_store, store), n_bootstrap=n_bootstrap, seed=seed)
    record = provenance(stores={"evaluated": store, "train": train_store},
                        fingerprints={"predictions": file_sha256(path)})
    return PredictionReport(metrics, records, missing, extra, predictions.malformed, predictions.duplicates,
                            invalid, ungrounded, record)
