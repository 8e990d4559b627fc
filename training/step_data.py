"""The trainers' data: the environment's exported step dataset, checked against the token budget.

Current TRL has no ``max_prompt_length``: nothing in the trainer would stop an over-long prompt
from being silently cut. So the prompt layer fits every prompt to the budget itself
(``customer_env.export`` marks the ones it could not fit with ``fits=False``), and here every row
is measured once more with the model's own tokenizer and chat template. Rows that do not fit are
never cut: they are dropped and counted (``on_unfit="skip"``, the report says how many and why) or
the run stops (``on_unfit="error"``).

Example:
    >>> data = load_step_data(tokenizer, max_prompt_tokens=2048)  # doctest: +SKIP
    >>> data.report["kept"], data.report["skipped"]                # doctest: +SKIP
    (4321, {'prompt_over_budget': 3})
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: Columns the trainers and reward functions use; the export provides them all.
REQUIRED_COLUMNS = ("prompt", "completion", "gold_type", "gold_name", "gold_text", "page_names", "fits")


@dataclass
class StepData:
    """An exported step dataset, filtered to what fits, with its report.

    Attributes:
        dataset: The kept rows (a ``datasets.Dataset``).
        fingerprint: Content hash of the store, the export options, the tokenizer and the kept rows.
        report: ``rows`` (exported), ``kept``, ``skipped`` (reason -> count), ``max_prompt_tokens``
            and ``max_sequence_tokens`` (templated, measured), ``rationale_sources``.
    """

    dataset: Any
    fingerprint: str
    report: dict[str, Any] = field(default_factory=dict)

    def sample(self, count: int | None, seed: int = 0) -> "StepData":
        """A seeded sample of at most ``count`` rows (all rows when None or enough), reported as such."""
        if count is None or count >= len(self.dataset):
            return self
        rows = self.dataset.shuffle(seed=seed).select(range(count))
        digest = hashlib.sha256(f"{self.fingerprint}:{count}:{seed}".encode()).hexdigest()[:16]
        return StepData(dataset=rows, fingerprint=digest, report={**self.report, "kept": count, "sampled_from": len(self.dataset)})


def templated_lengths(tokenizer: Any, prompt: list[dict[str, str]], completion: list[dict[str, str]]) -> tuple[int, int]:
    """Token counts of the prompt (with the generation prompt) and of prompt + completion."""
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
    full_ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)
    return len(prompt_ids["input_ids"]), len(full_ids["input_ids"])


def load_step_data(
    tokenizer: Any,
    *,
    source: str | None = None,
    variant: str = "filtered",
    split: str = "train",
    page_scale: float | None = None,
    max_prompt_tokens: int = 16384,
    max_completion_tokens: int = 256,
    persona_mode: str = "real",
    rationale_fill: str = "template",
    max_examples: int | None = None,
    on_unfit: str = "skip",
    seed: int = 0,
    store: Any = None,
    sessions: int | None = None,
) -> StepData:
    """Export a split's steps for training and keep the rows that fit the budget.

    Args:
        tokenizer: The model's tokenizer: counts the prompt budget and the templated lengths.
        source: Store source for ``customer_env.data.open_store`` (None: the embedded store).
        variant: ``filtered`` or ``full``.
        split: ``train`` or ``test``.
        page_scale: Page scale of the embedded store (None: full-size pages).
        max_prompt_tokens: Prompt budget in the tokenizer's tokens (chat template excluded).
        max_completion_tokens: Longest target or sampled completion allowed.
        persona_mode: ``real``, ``none`` or ``shuffled`` (the ablations).
        rationale_fill: How steps without a human rationale get one (see the export).
        max_examples: Keep at most this many rows (a seeded sample), e.g. for smoke runs.
        on_unfit: ``skip`` (drop and count) or ``error`` (stop) for rows that do not fit.
        seed: Seed of the ``max_examples`` sample.
        store: An already opened store (then ``source``, ``variant``, ``split``, ``page_scale``
            are ignored).
        sessions: Export only this many sessions (spread evenly over the split, deterministic).

    Raises:
        ValueError: when ``on_unfit="error"`` and a row does not fit, naming the row; when the
            export lacks a required column; when nothing is left to train on.
    """
    from customer_env.export import export_step_dataset

    if on_unfit not in ("skip", "error"):
        raise ValueError(f"on_unfit must be 'skip' or 'error', got {on_unfit!r}")
    if store is None:
        from customer_env.data import open_store

        store = open_store(source, variant=variant, split=split, page_scale=page_scale)
    dataset = export_step_dataset(
        store if sessions is None else {"store": store, "sessions": sessions},
        split=None if sessions is not None else store.split,
        max_prompt_tokens=max_prompt_tokens,
        tokenizer=tokenizer,
        persona_mode=persona_mode,
        rationale_fill=rationale_fill,
    )
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.column_names]
    if missing:
        raise ValueError(f"the exported step dataset lacks columns {missing}; it has {dataset.column_names}")

    keep: list[int] = []
    skipped: dict[str, int] = {}
    longest_prompt = longest_sequence = 0
    limit = max_prompt_tokens + max_completion_tokens
    for index, row in enumerate(dataset):
        reason = None
        if not row["fits"]:
            reason = "prompt_over_budget"
        else:
            prompt_len, full_len = templated_lengths(tokenizer, row["prompt"], row["completion"])
            if full_len - prompt_len > max_completion_tokens:
                reason = "completion_over_budget"
            elif full_len > limit + 32:  # 32: room for the chat template's role markers
                reason = "sequence_over_budget"
            else:
                longest_prompt = max(longest_prompt, prompt_len)
                longest_sequence = max(longest_sequence, full_len)
        if reason is None:
            keep.append(index)
            continue
        where = f"row {index} (session {row.get('session_id')}, step {row.get('step_index')})"
        if on_unfit == "error":
            raise ValueError(f"{where} does not fit the budget: {reason} (max_prompt_tokens={max_prompt_tokens})")
        skipped[reason] = skipped.get(reason, 0) + 1
    kept = dataset.select(keep)
    if len(kept) == 0:
        raise ValueError(f"no step of split {store.split!r} fits max_prompt_tokens={max_prompt_tokens}: {skipped}")

    sources: dict[str, int] = {}
    if "rationale_source" in kept.column_names:
        for value in kept["rationale_source"]:
            sources[str(value)] = sources.get(str(value), 0) + 1
    report = {
        "store": getattr(store, "description", str(source)),
        "split": store.split,
        "rows": len(dataset),
        "kept": len(kept),
        "skipped": skipped,
        "max_prompt_tokens": longest_prompt,
        "max_sequence_tokens": longest_sequence,
        "rationale_sources": sources,
        "persona_mode": persona_mode,
    }
    payload = {
        "store": store.fingerprint,
        "options": [variant, store.split, page_scale, max_prompt_tokens, max_completion_tokens, persona_mode,
                    rationale_fill, max_examples, seed, sessions],
        "tokenizer": [getattr(tokenizer, "name_or_path", ""), len(tokenizer)],
        "rows": list(zip(kept["session_id"], kept["step_index"])) if "session_id" in kept.column_names else len(kept),
    }
    fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return StepData(dataset=kept, fingerprint=fingerprint, report=report).sample(max_examples, seed)


def format_report(report: dict[str, Any]) -> str:
    """One line saying what was exported, kept and skipped."""
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(report["skipped"].items())) or "none"
    kept = report.get("sampled_from", report["kept"])
    sample = f", a seeded sample of {report['kept']} used" if "sampled_from" in report else ""
    return (
        f"{report['split']}: {kept} of {report['rows']} steps kept (skipped: {skipped}){sample}; "
        f"longest prompt {report['max_prompt_tokens']} tokens, longest sequence {report['max_sequence_tokens']}"
    )
