"""Verifiable rewards for a predicted action (the environment's; TRL's calling convention is in
``training.grpo_rewards``).

Three presets (:data:`REWARD_PRESETS`); ``docs/METRICS.md`` gives each definition and its source.

``customer_r1``
    The Customer-R1 reward (paper, Eq. 2): ``R = w(a_hat) * R_action + R_format``, ``a_hat`` the
    **predicted** action. A correct prediction earns its difficulty weight: input 2000; click
    1000, except product_option 10 and review or search 1; terminate 1. A well-formed but wrong
    prediction that is a **click** earns -1 (0 in the ``rl_only`` variant); a wrong predicted
    input or terminate earns 0, whatever the gold type. A completion that does not parse earns
    0 and no format reward. ``R_format`` (unpublished size; we use 1.0) is paid for a parseable
    action in the wrapper after a non-blank string rationale (``ParsedCompletion.format_ok``); a
    rationale problem voids only it. ``penalty_keyed_on="gold"`` restores the rule of earlier
    project versions (a wrong or unparseable answer on a gold click earns -1). Weights from 1 to
    2000 make GRPO advantages dominated by rare input steps; ``scale="log"`` maps each action
    weight w to ``sign(w) * log1p(|w|)`` (2000 -> 7.6, 1000 -> 6.9, 10 -> 2.4, 1 -> 0.69) and
    ``scale="max"`` divides by the largest weight; the format reward is never scaled.
``exact``
    1 if the action is exactly right, else 0; no format reward.
``shop_r1``
    Shop-R1's hierarchical reward (paper, Table 1): a valid JSON response earns format 0.5 and
    without one nothing at all; the right action type 0.3; then a click +0.2 for a non-empty
    name and + DARS x ROUGE-L(name); an input +0.1 for a non-empty name, +0.1 for a non-empty
    text, +0.1 x ROUGE-L(name) and + DARS x ROUGE-L(text); a terminate the type reward only. A
    similarity term pays only when ROUGE-L is above the threshold (0.75); DARS is 1000. The
    rationale self-certainty term needs the policy's logits and is left out.

Correctness is :meth:`Action.matches` of a format-valid prediction (names and texts stripped).
Whether the named element is on the page (grounding) changes no reward: ``valid_names`` only
fills ``RewardResult.parsed.grounded``.

Example:
    >>> gold = Action("click", "reviews", click_type="review")
    >>> r = compute_reward("customer_r1", '{"rationale": "Stars.", "action": {"type": "click", "name": "reviews"}}', gold)
    >>> r.total, r.components
    (2.0, {'action': 1.0, 'format': 1.0})
    >>> compute_reward("customer_r1", '{"rationale": "x", "action": {"type": "click", "name": "cart"}}', gold).total
    0.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping

from customer_env.actions import ParsedCompletion, parse_completion
from customer_env.constants import ACTION_TYPES
from customer_env.records import Action

#: Who a Customer-R1 penalty is keyed on: the predicted action (Eq. 2) or the gold one (older rule).
PENALTY_KEYS = ("prediction", "gold")


@dataclass(frozen=True)
class RewardResult:
    """One completion's reward.

    Attributes:
        total: The reward (the sum of ``components``).
        components: Named parts of the reward, in a fixed order per preset.
        parsed: The parsed completion (``parsed.grounded`` when page names were given).
        correct: Whether the predicted action exactly matches the gold one.
    """

    total: float
    components: dict[str, float]
    parsed: ParsedCompletion
    correct: bool


@dataclass(frozen=True)
class CustomerR1RewardConfig:
    """Weights of the Customer-R1 reward (see the module docstring and ``docs/METRICS.md``).

    Attributes:
        variant: ``sft_init`` (GRPO from the SFT model: a wrong click -1) or ``rl_only`` (0).
        input_weight: Correct input.
        click_weight: Correct click of a type not in ``click_type_weights`` (or of unknown type).
        click_type_weights: Correct click of these gold click types.
        terminate_weight: Correct terminate.
        wrong_click: Wrong predicted click; None takes the variant's value (-1 or 0).
        wrong_other: Wrong predicted input or terminate (the paper gives none; we use 0).
        format_weight: Binary format reward (unpublished; we use 1.0), never scaled.
        scale: ``none``, ``log`` or ``max`` rescaling of the action reward.
        penalty_keyed_on: ``prediction`` (Eq. 2, the default: the predicted type picks
            ``wrong_click`` or ``wrong_other``, and an unparseable answer earns 0) or ``gold``
            (the older rule: any wrong or unparseable answer on a gold click earns
            ``wrong_click``, on other golds ``wrong_other``).

    Example:
        >>> CustomerR1RewardConfig(variant="rl_only").wrong_click_value
        0.0
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
    penalty_keyed_on: str = "prediction"

    def __post_init__(self) -> None:
        if self.variant not in ("sft_init", "rl_only"):
            raise ValueError(f"variant must be 'sft_init' or 'rl_only', got {self.variant!r}")
        if self.scale not in ("none", "log", "max"):
            raise ValueError(f"scale must be 'none', 'log' or 'max', got {self.scale!r}")
        if self.penalty_keyed_on not in PENALTY_KEYS:
            raise ValueError(f"penalty_keyed_on must be one of {list(PENALTY_KEYS)}, got {self.penalty_keyed_on!r}")

    @property
    def wrong_click_value(self) -> float:
        if self.wrong_click is not None:
            return float(self.wrong_click)
        return -1.0 if self.variant == "sft_init" else 0.0

    def correct_weight(self, gold: Action) -> float:
        """The weight of a correct prediction of ``gold`` (type, and click type for a click)."""
        if gold.type == "input":
            return self.input_weight
        if gold.type == "click":
            return self.click_type_weights.get(gold.click_type or "", self.click_weight)
        return self.terminate_weight

    def wrong_weight(self, predicted: Action | None, gold: Action) -> float:
        """The action part of a wrong (or, ``predicted`` None, unparseable) answer."""
        if self.penalty_keyed_on == "gold":
            return self.wrong_click_value if gold.type == "click" else self.wrong_other
        if predicted is None:
            return 0.0
        return self.wrong_click_value if predicted.type == "click" else self.wrong_other

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
    """Weights of Shop-R1's hierarchical reward; the defaults are the paper's Table 1.

    Attributes:
        format_weight: A valid JSON response (without one the whole reward is 0).
        type_weight: The predicted action type equals the gold one.
        click_name_presence_weight: A click with a non-empty name (right type only).
        click_name_similarity_weight: Times ``dars_factor`` times ROUGE-L(name) of a click.
        input_name_presence_weight: An input with a non-empty name (right type only).
        input_text_presence_weight: An input with a non-empty text (right type only).
        input_name_similarity_weight: Times ROUGE-L(name) of an input (no DARS in Table 1).
        input_text_similarity_weight: Times ``dars_factor`` times ROUGE-L(text) of an input.
        dars_factor: Difficulty-aware reward scaling of the two long-text values (Table 1 writes
            ``DARS x ROUGE-L`` for a click's name and an input's text).
        similarity_threshold: A similarity term pays only when ROUGE-L is above this.

    Example:
        >>> ShopR1RewardConfig(dars_factor=1.0).dars_factor  # an ablation without DARS
        1.0
    """

    format_weight: float = 0.5
    type_weight: float = 0.3
    click_name_presence_weight: float = 0.2
    click_name_similarity_weight: float = 1.0
    input_name_presence_weight: float = 0.1
    input_text_presence_weight: float = 0.1
    input_name_similarity_weight: float = 0.1
    input_text_similarity_weight: float = 1.0
    dars_factor: float = 1000.0
    similarity_threshold: float = 0.75


def _check_gold(gold: Action) -> None:
    if gold.type not in ACTION_TYPES:
        raise ValueError(f"gold action type {gold.type!r} is not one of {list(ACTION_TYPES)}")


def _parse(completion: str | bytes | ParsedCompletion, valid_names: Collection[str] | None) -> ParsedCompletion:
    if isinstance(completion, ParsedCompletion):
        return completion
    return parse_completion(completion, valid_names=valid_names)


def _correct(parsed: ParsedCompletion, gold: Action) -> bool:
    return parsed.ok and parsed.action is not None and parsed.action.matches(gold)


def customer_r1_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                       valid_names: Collection[str] | None = None,
                       config: CustomerR1RewardConfig | None = None) -> RewardResult:
    """The Customer-R1 reward (components ``action`` and ``format``).

    Example:
        >>> wrong_terminate = '{"rationale": "Done.", "action": {"type": "terminate"}}'
        >>> customer_r1_reward(wrong_terminate, Action("click", "reviews", click_type="review")).components
        {'action': 0.0, 'format': 1.0}
    """
    _check_gold(gold)
    cfg = config or CustomerR1RewardConfig()
    parsed = _parse(completion, valid_names)
    correct = _correct(parsed, gold)
    predicted = parsed.action if parsed.ok else None
    weight = cfg.correct_weight(gold) if correct else cfg.wrong_weight(predicted, gold)
    action = cfg.scaled(weight)
    fmt = cfg.format_weight if parsed.format_ok else 0.0
    return RewardResult(action + fmt, {"action": action, "format": fmt}, parsed, correct)


def exact_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                 valid_names: Collection[str] | None = None, config: Any = None) -> RewardResult:
    """1.0 for an exactly right action, else 0.0 (component ``exact``)."""
    _check_gold(gold)
    parsed = _parse(completion, valid_names)
    correct = _correct(parsed, gold)
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
        return 1.0 if prediction.strip() == reference.strip() else 0.0
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


def shop_r1_format_ok(parsed: ParsedCompletion) -> bool:
    """Shop-R1's "valid JSON response": the ``{"rationale", "action"}`` object with a parseable
    action. The rationale's quality is Shop-R1's separate self-certainty term, not this one."""
    return parsed.ok and parsed.wrapped


def shop_r1_reward(completion: str | bytes | ParsedCompletion, gold: Action, *,
                   valid_names: Collection[str] | None = None,
                   config: ShopR1RewardConfig | None = None) -> RewardResult:
    """Shop-R1's hierarchical reward (components ``format``, ``type``, ``attributes``, ``similarity``).

    Example:
        >>> gold = Action("input", "nav_bar.search_input", "rice cooker")
        >>> wrong_query = '{"rationale": "", "action": {"type": "input", "name": "nav_bar.search_input", "text": "kettle"}}'
        >>> shop_r1_reward(wrong_query, gold).total  # 0.5 + 0.3 + 0.1 + 0.1 + 0.1 * 1.0; no text credit
        1.1
    """
    _check_gold(gold)
    cfg = config or ShopR1RewardConfig()
    parsed = _parse(completion, valid_names)
    parts = {"format": 0.0, "type": 0.0, "attributes": 0.0, "similarity": 0.0}
    predicted = parsed.action
    if shop_r1_format_ok(parsed) and predicted is not None:
        parts["format"] = cfg.format_weight
        if predicted.type == gold.type:
            parts["type"] = cfg.type_weight
            name, text = (predicted.name or "").strip(), (predicted.text or "").strip()
            if gold.type == "click":
                presence = [(name, cfg.click_name_presence_weight)]
                similar = [(name, gold.name, cfg.click_name_similarity_weight * cfg.dars_factor)]
            elif gold.type == "input":
                presence = [(name, cfg.input_name_presence_weight), (text, cfg.input_text_presence_weight)]
                similar = [(name, gold.name, cfg.input_name_similarity_weight),
                           (text, gold.text, cfg.input_text_similarity_weight * cfg.dars_factor)]
            else:
                presence, similar = [], []
            parts["attributes"] = float(sum(weight for value, weight in presence if value))
            for value, gold_value, weight in similar:
                similarity = rouge_l_f1(value, (gold_value or "").strip()) if value else 0.0
                if similarity > cfg.similarity_threshold:  # an empty value is no attribute at all
                    parts["similarity"] += weight * similarity
    return RewardResult(sum(parts.values()), parts, parsed, _correct(parsed, gold))


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
        valid_names: The page's names: they fill ``result.parsed.grounded`` and change no reward.
        config: The preset's config object (default weights when None).
    """
    return _resolve(preset)(completion, gold, valid_names=valid_names, config=config)
