"""Constrained decoding of the action: the name an answer targets must be one of the page's names.

Free generation is the paper's setting (and the default everywhere): a model may write a name
that is not on the page, which the environment scores as a format failure. With the constraint
on, the answer keeps its wire format and its free-text parts (rationale, typed text), but the
value of ``"name"`` can only be one of the current page's actionable names:

* in process (:class:`~agents.backends.transformers_backend.TransformersBackend`):
  :class:`NameConstraintLogitsProcessor`, a ``transformers`` logits processor. While the text
  generated so far is inside the action's ``"name": "...`` string, only tokens that continue some
  page name (or close the string after a complete one) keep their logits; everything else is
  masked. Outside that string nothing is changed, so the model still chooses the action type,
  writes its rationale and decides *which* name; it only cannot misspell or invent one.
* on a server (:class:`~agents.backends.openai_backend.OpenAIBackend`):
  :func:`action_json_schema`, the same constraint as a JSON schema (the action is a click or an
  input on an ``enum`` of the page's names, or a terminate), sent as
  ``response_format={"type": "json_schema", ...}``, which OpenAI and vLLM's OpenAI-compatible
  server (guided decoding) both enforce.

Example:
    >>> schema = action_json_schema(["reviews", "nav_bar.cart"])
    >>> schema["properties"]["action"]["anyOf"][0]["properties"]["name"]["enum"]
    ['reviews', 'nav_bar.cart']
    >>> name_prefix('{"rationale": "ok", "action": {"type": "click", "name": "nav_b')
    'nav_b'
    >>> name_prefix('{"rationale": "ok", "action": {"type": "terminate"}}') is None
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

#: The partial name being written: after ``"action": {`` ... ``"name": "``, up to the cursor.
_NAME_OPEN = re.compile(r'"action"\s*:\s*\{[^{}]*?"name"\s*:\s*"((?:[^"\\]|\\.)*)$', re.DOTALL)


def name_prefix(text: str) -> str | None:
    """The part of the action's name written so far, or None when not inside that string."""
    match = _NAME_OPEN.search(text)
    return match.group(1) if match else None


def _in_string(name: str) -> str:
    """How ``name`` appears inside a JSON string (escaped as the wire format writes it)."""
    return json.dumps(name, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class ActionConstraint:
    """The names an action may target on one page.

    Attributes:
        names: The page's actionable names (the observation's ``actionable_names``).
    """

    names: tuple[str, ...]

    @classmethod
    def from_observation(cls, observation: Any) -> "ActionConstraint | None":
        """The constraint of an observation, or None when it lists no names (nothing to enforce)."""
        names = tuple(dict.fromkeys(n.strip() for n in str(observation.get("actionable_names", "")).splitlines()
                                    if n.strip()))
        return cls(names) if names else None


def action_json_schema(names: Sequence[str]) -> dict[str, Any]:
    """The wire format as a JSON schema whose action names are an ``enum`` of ``names``.

    Strict-mode compatible (every property required, no additional properties), so OpenAI's
    structured outputs and vLLM's guided decoding accept it as ``response_format``.
    """
    enum = list(dict.fromkeys(names))

    def action(kind: str, **properties: Any) -> dict[str, Any]:
        props = {"type": {"type": "string", "enum": [kind]}, **properties}
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string"},
            "action": {"anyOf": [
                action("click", name={"type": "string", "enum": enum}),
                action("input", name={"type": "string", "enum": enum}, text={"type": "string"}),
                action("terminate"),
            ]},
        },
        "required": ["rationale", "action"],
        "additionalProperties": False,
    }


def response_format(constraint: ActionConstraint) -> dict[str, Any]:
    """The OpenAI ``response_format`` request field that enforces ``constraint``."""
    return {"type": "json_schema",
            "json_schema": {"name": "customer_r1_action", "strict": True, "schema": action_json_schema(constraint.names)}}


class TokenTable:
    """Each token id's decoded text, and an index from text to ids (built once per tokenizer)."""

    def __init__(self, tokenizer: Any) -> None:
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        self.strings: list[str] = []
        self.ids_by_string: dict[str, list[int]] = {}
        self.quote_ids: list[int] = []  # tokens that start by closing a JSON string
        for token_id in range(len(tokenizer)):
            text = "" if token_id in special else tokenizer.decode([token_id])
            self.strings.append(text)
            if not text or "\ufffd" in text:  # specials and partial UTF-8 bytes never continue a name
                continue
            self.ids_by_string.setdefault(text, []).append(token_id)
            if text.startswith('"'):
                self.quote_ids.append(token_id)


class NameConstraintLogitsProcessor:
    """Mask every token that would make the action's name leave the page's names (see the module).

    Args:
        tokenizer: The model's tokenizer.
        prompt_width: Width of the (left-padded) prompt block; generated tokens follow it.
        constraints: One :class:`ActionConstraint` (or None: unconstrained) per batch row.
        table: A :class:`TokenTable` of ``tokenizer`` (built here when not given).
    """

    def __init__(self, tokenizer: Any, prompt_width: int, constraints: Sequence[ActionConstraint | None],
                 table: TokenTable | None = None) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.table = table or TokenTable(tokenizer)
        self.targets = [None if c is None else [_in_string(n) for n in c.names] for c in constraints]
        self.masked_steps = 0

    def allowed(self, row: int, generated_text: str) -> list[int] | None:
        """Token ids allowed next for ``row`` (None: no constraint applies at this point)."""
        targets = self.targets[row]
        prefix = name_prefix(generated_text) if targets else None
        if prefix is None:
            return None
        rests = [t[len(prefix):] + '"' for t in targets if t.startswith(prefix)]
        if not rests:  # the text already left every name (cannot happen once constrained)
            return None
        allowed: set[int] = set()
        for rest in rests:
            for end in range(1, len(rest) + 1):
                allowed.update(self.table.ids_by_string.get(rest[:end], ()))
            if rest == '"':  # a complete name: any token that closes the string may follow
                allowed.update(self.table.quote_ids)
        return sorted(allowed) or None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        generated = input_ids[:, self.prompt_width:]
        for row in range(scores.shape[0]):
            if self.targets[row] is None:
                continue
            text = self.tokenizer.decode(generated[row].tolist(), skip_special_tokens=True)
            allowed = self.allowed(row, text)
            if allowed is None:
                continue
            keep = torch.full_like(scores[row], float("-inf"))
            index = torch.tensor(allowed, device=scores.device)
            keep[index] = scores[row, index]
            scores[row] = keep
            self.masked_steps += 1
        return scores
