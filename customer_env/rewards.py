"""Verifiable rewards for a predicted action (the environment's; TRL's calling convention is in
``training.grpo_rewards``).

Three presets (:data:`REWARD_PRESETS`):

``customer_r1``
    The Customer-R1 reward: an action reward weighted by the difficulty of the **gold** action,
    plus a binary format reward. Correct input 2000; correct click 1000, except product_option 10
    and review or search 1; correct terminate 1; a wrong answer when the gold is a click -1 (0 in
    the ``rl_only`` variant). The paper leaves two values open; we choose a wrong answer on a
    non-click gold = 0 and format reward = 1.0 (a format-only completion earns as much as a
    correct terminate). Everything is a field of :class:`CustomerR1RewardConfig`. Weights from
    1 to 2000 make GRPO advantages dominated by rare input steps; ``scale="log"`` maps each action
    weight w to ``sign(w) * log1p(|w|)`` (2000 -> 7.6, 1000 -> 6.9, 10 -> 2.4, 1 -> 0.69) and
    ``scale="max"`` divides by the largest weight; the format reward is never scaled.
``exact``
    1 if the action is exactly right, else 0; no format reward.
``shop_r1``
    Shop-R1's hierarchical reward: format 0.5, action type 0.3, then for the right type 0.1 per
    required attribute present (name; text for an input) and, for hard actions (click, input),
    ``hard_scale`` (1000) times the ROUGE-L F1 of each required value when it reaches 0.75. The
    rationale self-certainty term needs the policy's logits and is left out. When the only
    problem of a completion is a name not on the page, its type and values still earn the soft
    parts (format does not).

A completion is correct when it parses (with the page's names, when given) and
:meth:`Action.matches` the gold action.

Example:
    >>> gold = Action("click", "reviews", click_type="review")
    >>> r = compute_reward("customer_r1", '{"rationale": "", "action": {"type": "click", "name": "reviews"}}', gold)
    >>> r.total, r.components
    (2.0, {'action': 1.0, 'format': 1.0})
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping

from customer_env.actions import ParsedCompletion, parse_completion
from customer_env.constants import ACTION_TYPES
from customer_env.records import Action


@dataclass(frozen=True)
class RewardResult:
    """One completion's reward.

    Attributes:
        total: The reward (the sum of ``components``).
        components: Named parts of the reward, in a fixed order per preset.
        parsed: The parsed completion.
        correct: Whether the predicted action exactly matches the gold one.
    """

    total: float
    components: dict[str, float]
    parsed: ParsedCompletion
    correct: bool


@dataclass(frozen=True)
class CustomerR1RewardConfig:
    """Weights of the Customer-R1 reward (see the module docstring for the choices).

    Attributes:
        variant: ``sft_init`` (GRPO from the SFT model: wrong click -1) or ``rl_only`` (wrong 0).
        input_weight: Correct input.
        click_weight: Correct click of a type not in ``click_type_weights`` (or of unknown type).
        click_type_weights: Correct click of these gold click types.
        terminate_weight: Correct terminate.
        wrong_click: Wrong answer on a click gold; None takes the variant's value (-1 or 0).
        wrong_other: Wrong answer on an input or terminate gold (unpublished; we use 0).
        format_weight: Binary format reward (unpublished; we use 1.0), never scaled.
        scale: ``none``, ``log`` or ``max`` rescaling of the action reward.
    """

    variant: str = "sft_init"
    input_weight: float = 2000.0
    click_weight: float = 1000.0
    click_type_weights: Mapping[str, float] = field(
        default_factory=lambda: {"product_option": 10.0, "review": 1.0, "search": 1.0}
    )
    terminate_weight: float = 1.0
    wrong_click: float | None = None
    wrong_other: float = 0.0
    format_weight: float = 1.0
    scale: str = "none"

    def __post_init__(self) -> None:
        if self.variant not in ("sft_init", "rl_only"):
            raise ValueError(f"variant must be 'sft_init' or 'rl_only', got {self.variant!r}")
        if self.scale not in ("none", "log", "max"):
            raise ValueError(f"scale must be 'none', 'log' or 'max', got {self.scale!r}")

    @property
    def wrong_click_value(self) -> float:
        if self.wrong_click is not None:
            return self.wrong_click
        return -1.0 if self.variant == "sft_init" else 0.0

    def scaled(self, weight: float) -> float:
        """Apply ``scale`` to an action-reward value."""
        if self.scale == "log":
            return math.copysign(math.log1p(abs(weight)), weight)
        if self.scale == "max":
            top = max(abs(w) for w in (self.input_weight, self.click_weight, self.terminate_weight,
                                       self.wrong_click_value, self.wrong_other,
                                       *self.click_type_weights.values()))
            return weight / top if top else 0.0
        return float(weight)


@dataclass(frozen=True)
class ShopR1RewardConfig:
    """Weights of the Shop-R1 hierarchical reward (see the module docstring)."""

    format_weight: float = 0.5
    type_weight: float = 0.3
    name_presence_weight: float = 0.1
    text_presence_weight: float = 0.1
    similarity_threshold: float = 0.75
    hard_scale: float = 1000.0
    hard_types: tuple[str, ...] = ("click", "input")


def _check_gold(gold: Action) -> None:
    if gold.type not in ACTION_TYPES:
        raise ValueError(f"gold action type {gold.type!r} is not one of {list(ACTION_TYPES)}")


def _parse(completion: str | bytes | ParsedCompletion, valid_names: Collection[str] | None) -> ParsedCompletion:
    if isinstance(completion, ParsedCompletion):
        return completion
    return parse_completion(completion, valid_names=valid_names)


def customer_r1_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                       valid_names: Collection[str] | None = None,
                       config: CustomerR1RewardConfig | None = None) -> RewardResult:
    """The Customer-R1 reward (components ``action`` and ``format``)."""
    _check_gold(gold)
    cfg = config or CustomerR1RewardConfig()
    parsed = _parse(completion, valid_names)
    correct = parsed.ok and parsed.action is not None and parsed.action.matches(gold)
    if correct:
        if gold.type == "input":
            weight = cfg.input_weight
        elif gold.type == "click":
            weight = cfg.click_type_weights.get(gold.click_type or "", cfg.click_weight)
        else:
            weight = cfg.terminate_weight
    else:
        weight = cfg.wrong_click_value if gold.type == "click" else cfg.wrong_other
    action = cfg.scaled(weight)
    fmt = cfg.format_weight if parsed.format_ok else 0.0
    return RewardResult(action + fmt, {"action": action, "format": fmt}, parsed, correct)


def exact_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                 valid_names: Collection[str] | None = None, config: Any = None) -> RewardResult:
    """1.0 for an exactly right action, else 0.0 (component ``exact``)."""
    _check_gold(gold)
    parsed = _parse(completion, valid_names)
    correct = parsed.ok and parsed.action is not None and parsed.action.matches(gold)
    value = 1.0 if correct else 0.0
    return RewardResult(value, {"exact": value}, parsed, correct)


_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; "_" and "." separate


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased runs of letters and digits (``_``, ``.`` and spaces separate words).

    Example:
        >>> rouge_l_f1("search_result.red_mug.product_title", "search_result.blue_mug.product_title")
        0.8333333333333334
    """
    a, b = _WORD.findall(prediction.lower()), _WORD.findall(reference.lower())
    if not a or not b:
        return 1.0 if prediction == reference else 0.0
    previous = [0] * (len(b) + 1)
    for token in a:  # longest common subsequence, one row at a time
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def shop_r1_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                   valid_names: Collection[str] | None = None,
                   config: ShopR1RewardConfig | None = None) -> RewardResult:
    """Shop-R1's hierarchical reward (components ``format``, ``type``, ``attributes``, ``similarity``)."""
    _check_gold(gold)
    cfg = config or ShopR1RewardConfig()
    parsed = _parse(completion, valid_names)
    predicted = parsed.action or parsed.candidate
    parts = {"format": cfg.format_weight if parsed.format_ok else 0.0,
             "type": 0.0, "attributes": 0.0, "similarity": 0.0}
    if predicted is not None and predicted.type == gold.type:
        parts["type"] = cfg.type_weight
        pairs: list[tuple[str, str]] = []
        if gold.type in ("click", "input"):
            parts["attributes"] += cfg.name_presence_weight
            pairs.append((predicted.name or "", gold.name or ""))
        if gold.type == "input":
            parts["attributes"] += cfg.text_presence_weight
            pairs.append((predicted.text or "", gold.text or ""))
        scale = cfg.hard_scale if gold.type in cfg.hard_types else 1.0
        for pred_value, gold_value in pairs:
            similarity = rouge_l_f1(pred_value, gold_value)
            if similarity >= cfg.similarity_threshold:
                parts["similarity"] += scale * similarity
    correct = parsed.ok and parsed.action is not None and parsed.action.matches(gold)
    return RewardResult(sum(parts.values()), parts, parsed, correct)


RewardFn = Callable[..., RewardResult]
#: Preset name -> (reward function, config class or None, component names).
REWARD_PRESETS: dict[str, tuple[RewardFn, type | None, tuple[str, ...]]] = {
    "customer_r1": (customer_r1_reward, CustomerR1RewardConfig, ("action", "format")),
    "exact": (exact_reward, None, ("exact",)),
    "shop_r1": (shop_r1_reward, ShopR1RewardConfig, ("format", "type", "attributes", "similarity")),
}


def _resolve(preset: str | RewardFn) -> RewardFn:
    if callable(preset):
        return preset
    if preset not in REWARD_PRESETS:
        raise ValueError(f"unknown reward preset {preset!r}; choose one of {sorted(REWARD_PRESETS)}")
    return REWARD_PRESETS[preset][0]


def compute_reward(preset: str | RewardFn, completion: str | bytes | ParsedCompletion, gold: Action, *,
                   valid_names: Collection[str] | None = None, config: Any = None) -> RewardResult:
    """Score one completion against the gold action with a preset (or any reward function).

    Args:
        preset: A key of :data:`REWARD_PRESETS`, or a callable with the same signature as
            :func:`customer_r1_reward`.
        completion: The model's text (or an already parsed completion).
        gold: The recorded action (its ``click_type`` sets the Customer-R1 weight).
        valid_names: The page's names; a name not among them makes the completion invalid.
        config: The preset's config object (default weights when None).
    """
    return _resolve(preset)(completion, gold, valid_names=valid_names, config=config)
