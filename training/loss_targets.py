"""Which tokens the SFT loss falls on: the answer, and optionally the past actions in the prompt.

The SFT of the paper puts the loss on the completion only: one action per prompt. But every
prompt also lists the session so far, the same shopper's earlier actions in order (``Step N:
{"type": ..., "name": ...}``), and each of them is a next action to predict from the persona and
the steps before it. :func:`tokenize_with_targets` with ``history_actions=True`` adds those
action objects to the loss (the step numbers, rationales, persona and page text stay out of
it), so one forward pass supervises every transition of the session so far instead of only the
last. It is the same data (the training split's recorded actions), read once more; nothing of
any evaluated step is added. Rows come out pre-tokenized (``input_ids``, ``labels`` with
``-100`` off the targets), which TRL's ``SFTTrainer`` uses as they are.

Example:
    >>> history_action_spans("## Session so far\\nStep 1: {\\"type\\": \\"terminate\\"}\\n\\n## Current page")
    [(26, 47)]
"""

from __future__ import annotations

import re
from typing import Any, Sequence

#: One past step's line in the rendered history (see ``customer_env.prompt.render``).
_STEP_LINE = re.compile(r"^Step \d+: (\{.*?\})(?: \| Rationale: .*)?$", re.MULTILINE)
_HISTORY_HEADING = "## Session so far\n"


def history_action_spans(user_text: str) -> list[tuple[int, int]]:
    """Character spans of the past actions' JSON objects in a rendered user message."""
    start = user_text.find(_HISTORY_HEADING)
    if start < 0:
        return []
    start += len(_HISTORY_HEADING)
    end = user_text.find("\n## ", start)
    section = user_text[start:end if end >= 0 else len(user_text)]
    return [(start + m.start(1), start + m.end(1)) for m in _STEP_LINE.finditer(section)]


def tokenize_with_targets(tokenizer: Any, prompt: Sequence[dict[str, str]], completion: Sequence[dict[str, str]], *,
                          history_actions: bool = True) -> dict[str, list[int]]:
    """``input_ids`` of prompt + completion (the chat template) and ``labels`` on the targets.

    Targets: every completion token (as TRL's completion-only loss), plus with
    ``history_actions`` every token overlapping a past action's JSON in the user message. With
    no completion (a session transcript, ``training.transcripts``) only the past actions count.

    Raises:
        ValueError: when the tokenizer splits the templated text differently from the chat
            template's own tokenization (the spans could not be placed safely).
    """
    messages = list(prompt) + list(completion)
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    prompt_len = len(tokenizer.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"]) if completion else len(ids)
    labels = [-100] * prompt_len + list(ids[prompt_len:])
    if history_actions:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if list(encoded["input_ids"]) != list(ids):
            raise ValueError("the tokenizer does not reproduce the chat template's tokens from its text")
        user = next((m["content"] for m in prompt if m["role"] == "user"), "")
        where = text.find(user) if user else -1
        spans = [(where + a, where + b) for a, b in history_action_spans(user)] if where >= 0 else []
        k = 0
        for position, (start, end) in enumerate(encoded["offset_mapping"][:prompt_len]):
            while k < len(spans) and spans[k][1] <= start:
                k += 1
            if k < len(spans) and start < spans[k][1] and end > spans[k][0]:
                labels[position] = ids[position]
    return {"input_ids": list(ids), "labels": labels}


def with_history_targets(data: Any, tokenizer: Any, *, progress: bool = True) -> Any:
    """A :class:`training.step_data.StepData` whose rows are pre-tokenized with history targets.

    Keeps every other column (the gold columns GRPO and the reports read); adds ``input_ids``
    and ``labels``, and records the number of target tokens in the report.
    """
    from training.step_data import StepData

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        return tokenize_with_targets(tokenizer, row["prompt"], row["completion"], history_actions=True)

    dataset = data.dataset.map(encode, desc="history targets", disable_nullable=True) if progress else \
        data.dataset.map(encode, disable_nullable=True)
    targets = sum(sum(1 for t in labels if t != -100) for labels in dataset["labels"])
    return StepData(dataset=dataset, fingerprint=f"{data.fingerprint}:history",
                    report={**data.report, "loss_targets": "completion+history_actions", "target_tokens": targets})
