"""The trainers' data: the environment's exported step dataset, checked against the token budget,
cached by its fingerprint.

Current TRL has no ``max_prompt_length``: nothing in the trainer would stop an over-long prompt
from being silently cut. So the prompt layer fits every prompt to the budget itself
(``customer_env.export`` marks the ones it could not fit with ``fits=False``), and here every row
is measured once more with the model's own tokenizer and chat template. Rows that do not fit are
never cut: they are dropped and counted (``on_unfit="skip"``, the report says how many and why) or
the run stops (``on_unfit="error"``).

The result is cached under ``$CUSTOMER_R1_CACHE/step_data/<key>``, where the key hashes the
store's fingerprint, every export and budget option and the tokenizer's content
(``training.model_setup.tokenizer_fingerprint``): a second run with the same inputs loads it in
seconds instead of exporting again, and a launch of several processes exports once (the scripts
call this under ``TrainingArguments.main_process_first``: the main process builds the cache, the
others then read it).

Example:
    >>> data = load_step_data(tokenizer, StoreSpec(), max_prompt_tokens=2048)  # doctest: +SKIP
    >>> data.report["kept"], data.report["skipped"]                # doctest: +SKIP
    (4321, {'prompt_over_budget': 3})
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from customer_env.data.spec import StoreSpec
from customer_env.export import missing_columns

#: Bump when the rows this module keeps change for the same inputs (invalidates the cache).
STEP_DATA_VERSION = 1
#: Room for the chat template's role markers around a prompt and its completion.
TEMPLATE_TOKENS = 32
_REPORT_FILE = "step_data.json"


@dataclass
class StepData:
    """An exported step dataset, filtered to what fits, with its report.

    Attributes:
        dataset: The kept rows (a ``datasets.Dataset``).
        fingerprint: Content hash of the store, the export options, the tokenizer and the kept rows.
        report: ``rows`` (exported), ``kept``, ``skipped`` (reason -> count), ``max_prompt_tokens``
            and ``max_sequence_tokens`` (templated, measured), ``rationale_sources``, ``store`` and
            ``store_fingerprint``, ``cached`` (whether it was read from the cache).
    """

    dataset: Any
    fingerprint: str
    report: dict[str, Any] = field(default_factory=dict)

    def sample(self, count: int | None, seed: int = 0) -> "StepData":
        """A seeded sample of at most ``count`` rows (all rows when None or enough), reported as such."""
        if count is None or count >= len(self.dataset):
            return self
        rows = self.dataset.shuffle(seed=seed, keep_in_memory=True).select(range(count), keep_in_memory=True)
        digest = hashlib.sha256(f"{self.fingerprint}:{count}:{seed}".encode()).hexdigest()[:16]
        return StepData(dataset=rows, fingerprint=digest, report={**self.report, "kept": count, "sampled_from": len(self.dataset)})


def templated_lengths(tokenizer: Any, prompt: list[dict[str, str]], completion: list[dict[str, str]]) -> tuple[int, int]:
    """Token counts of the prompt (with the generation prompt) and of prompt + completion."""
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
    full_ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)
    return len(prompt_ids["input_ids"]), len(full_ids["input_ids"])


def load_step_data(
    tokenizer: Any,
    data: Any = None,
    *,
    max_prompt_tokens: int = 16384,
    max_completion_length: int = 256,
    persona_mode: str = "real",
    rationale_fill: str = "template",
    sessions: int | None = None,
    max_examples: int | None = None,
    on_unfit: str = "skip",
    seed: int = 0,
    cache: bool = True,
) -> StepData:
    """Export a split's steps for training and keep the rows that fit the budget (cached).

    Args:
        tokenizer: The model's tokenizer: counts the prompt budget and the templated lengths.
        data: A :class:`~customer_env.data.spec.StoreSpec` (default: the embedded train split) or
            an already opened store.
        max_prompt_tokens: Prompt budget in the tokenizer's tokens (chat template excluded).
        max_completion_length: Longest target completion allowed.
        persona_mode: ``real``, ``none`` or ``shuffled`` (the ablations).
        rationale_fill: How steps without a human rationale get one (see the export).
        sessions: Export only this many sessions (spread evenly over the split, deterministic).
        max_examples: Keep at most this many rows (a seeded sample), e.g. for smoke runs.
        on_unfit: ``skip`` (drop and count) or ``error`` (stop) for rows that do not fit.
        seed: Seed of the ``max_examples`` sample.
        cache: Read and write the cache (``$CUSTOMER_R1_CACHE/step_data``).

    Raises:
        ValueError: when ``on_unfit="error"`` and a row does not fit, naming the row; when the
            export lacks a required column; when nothing is left to train on.
    """
    from training.model_setup import tokenizer_fingerprint

    if on_unfit not in ("skip", "error"):
        raise ValueError(f"on_unfit must be 'skip' or 'error', got {on_unfit!r}")
    data = StoreSpec() if data is None else data
    store = data.open() if isinstance(data, StoreSpec) else data
    options = {"version": STEP_DATA_VERSION, "store": store.fingerprint, "variant": store.variant,
               "split": store.split, "max_prompt_tokens": max_prompt_tokens,
               "max_completion_length": max_completion_length, "persona_mode": persona_mode,
               "rationale_fill": rationale_fill, "sessions": sessions, "on_unfit": on_unfit,
               "tokenizer": tokenizer_fingerprint(tokenizer)}
    key = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]
    cached = _read_cache(key) if cache else None
    if cached is None:
        cached = _export(tokenizer, store, options, on_unfit)
        if cache:
            _write_cache(key, cached)
    return cached.sample(max_examples, seed)


def load_run_data(tokenizer: Any, project: Any, training_args: Any,
                  train_data: StepData | None = None) -> tuple[StepData, StepData | None]:
    """A trainer's step data: the train split (unless given) and, when it evaluates, the test split.

    Built once, by the main process when several are launched (the others wait, then read the
    cache), and cached by fingerprint.

    Args:
        tokenizer: The model's tokenizer.
        project: The run's ``training.options.ProjectOptions`` (data, budget, persona mode, ...).
        training_args: Its TRL config (``max_completion_length``, ``seed``, ``eval_strategy``).
        train_data: Train rows already built by the caller (the pipeline's), used as they are.
    """
    def split_data(split: str, max_examples: int | None) -> StepData:
        return load_step_data(tokenizer, project.store_spec().with_split(split),
                              max_prompt_tokens=project.max_prompt_tokens,
                              max_completion_length=training_args.max_completion_length,
                              persona_mode=project.persona_mode, rationale_fill=project.rationale_fill,
                              sessions=project.sessions, max_examples=max_examples, on_unfit=project.on_unfit,
                              seed=training_args.seed)

    with training_args.main_process_first(desc="exporting the step dataset"):
        if train_data is None:
            train_data = split_data(project.split, project.max_examples)
        eval_data = split_data("test", None) if training_args.eval_strategy != "no" else None
    return train_data, eval_data


def _export(tokenizer: Any, store: Any, options: dict[str, Any], on_unfit: str) -> StepData:
    from customer_env.export import export_step_dataset

    max_prompt_tokens, max_completion = options["max_prompt_tokens"], options["max_completion_length"]
    sessions = options["sessions"]
    dataset = export_step_dataset(
        store if sessions is None else {"store": store, "sessions": sessions},
        split=None if sessions is not None else store.split,
        max_prompt_tokens=max_prompt_tokens,
        tokenizer=tokenizer,
        persona_mode=options["persona_mode"],
        rationale_fill=options["rationale_fill"],
    )
    missing = missing_columns(dataset.column_names)
    if missing:
        raise ValueError(f"the exported step dataset lacks columns {missing}; it has {dataset.column_names}")

    keep: list[int] = []
    skipped: dict[str, int] = {}
    longest_prompt = longest_sequence = 0
    limit = max_prompt_tokens + max_completion + TEMPLATE_TOKENS
    for index, row in enumerate(dataset):
        reason = None
        if not row["fits"]:
            reason = "prompt_over_budget"
        else:
            prompt_len, full_len = templated_lengths(tokenizer, row["prompt"], row["completion"])
            if full_len - prompt_len > max_completion:
                reason = "completion_over_budget"
            elif full_len > limit:
                reason = "sequence_over_budget"
            else:
                longest_prompt = max(longest_prompt, prompt_len)
                longest_sequence = max(longest_sequence, full_len)
        if reason is None:
            keep.append(index)
            continue
        where = f"row {index} (session {row.get('session_id')}, step {row.get('step_index')})"
        if on_unfit == "error":
            raise ValueError(f"{where} does not fit the budget: {reason} (max_prompt_tokens={max_prompt_tokens}, "
                             f"max_completion_length={max_completion})")
        skipped[reason] = skipped.get(reason, 0) + 1
    kept = dataset.select(keep)
    if len(kept) == 0:
        raise ValueError(f"no step of split {store.split!r} fits max_prompt_tokens={max_prompt_tokens}: {skipped}")

    sources: dict[str, int] = {}
    for value in kept["rationale_source"]:
        sources[str(value)] = sources.get(str(value), 0) + 1
    report = {
        "store": store.description,
        "store_fingerprint": store.fingerprint,
        "split": store.split,
        "rows": len(dataset),
        "kept": len(kept),
        "skipped": skipped,
        "max_prompt_tokens": longest_prompt,
        "max_sequence_tokens": longest_sequence,
        "rationale_sources": sources,
        "persona_mode": options["persona_mode"],
        "cached": False,
    }
    payload = {"options": options, "rows": list(zip(kept["session_id"], kept["step_index"]))}
    fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return StepData(dataset=kept, fingerprint=fingerprint, report=report)


def _read_cache(key: str) -> StepData | None:
    import datasets

    from customer_env.cache import cache_dir

    path = cache_dir("step_data") / key
    if not (path / _REPORT_FILE).is_file():
        return None
    meta = json.loads((path / _REPORT_FILE).read_text(encoding="utf-8"))
    return StepData(datasets.load_from_disk(str(path / "dataset")), meta["fingerprint"], {**meta["report"], "cached": True})


def _write_cache(key: str, data: StepData) -> None:
    from customer_env.cache import atomic_directory, atomic_write_text, cache_dir

    final = cache_dir("step_data") / key
    if (final / _REPORT_FILE).is_file():
        return  # another process wrote it meanwhile
    with atomic_directory(final) as tmp:
        data.dataset.save_to_disk(str(tmp / "dataset"))
        # The report is written last: a directory without it is never read.
        atomic_write_text(tmp / _REPORT_FILE, json.dumps({"fingerprint": data.fingerprint, "report": data.report},
                                                         indent=2) + "\n")


def format_report(report: dict[str, Any]) -> str:
    """One line saying what was exported, kept and skipped."""
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(report["skipped"].items())) or "none"
    kept = report.get("sampled_from", report["kept"])
    sample = f", a seeded sample of {report['kept']} used" if "sampled_from" in report else ""
    return (
        f"{report['split']}: {kept} of {report['rows']} steps kept (skipped: {skipped}){sample}; "
        f"longest prompt {report['max_prompt_tokens']} tokens, longest sequence {report['max_sequence_tokens']}"
    )
