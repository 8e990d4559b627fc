"""The reward functions GRPO trains with: exactly the environment's reward, plus a metric.

``reward_functions`` returns TRL reward functions whose weighted sum is, for every completion,
exactly what ``env.step`` returns for the same text (``customer_env.rewards``, same preset, same
config), and a zero-weight function that logs the exact-match rate per gold action type
(``accuracy/click``, ``accuracy/input``, ``accuracy/terminate``) without changing the reward.

Example:
    >>> funcs, weights = reward_functions("customer_r1")
    >>> weights
    [1.0, 0.0]
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence


def reward_functions(preset: str = "customer_r1", *, rl_only: bool = False, scale: str = "none",
                     format_weight: float | None = None) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """The environment's reward for a preset, then the per-type accuracy logger (weight 0).

    Args:
        preset: ``customer_r1``, ``exact`` or ``shop_r1``.
        rl_only: Customer-R1's RL-only variant (a wrong click earns 0 instead of -1).
        scale: Customer-R1 action-weight scaling: ``none``, ``log`` or ``max``.
        format_weight: Customer-R1 format reward (None: the reward module's default).

    Returns:
        ``(reward_funcs, reward_weights)`` for ``GRPOTrainer`` / ``GRPOConfig``.
    """
    from customer_env.rewards import make_trl_reward_funcs

    overrides: dict[str, Any] = {}
    if preset == "customer_r1":
        overrides = {"variant": "rl_only" if rl_only else "sft_init", "scale": scale}
        if format_weight is not None:
            overrides["format_weight"] = format_weight
    funcs = make_trl_reward_funcs(preset, **overrides)
    return [*funcs, accuracy_by_type], [1.0] * len(funcs) + [0.0]


def accuracy_by_type(prompts: Any = None, completions: Sequence[Any] = (), **columns: Any) -> list[float]:
    """Exact match of each completion (a metric, weighted 0); logs ``accuracy/<gold type>``."""
    from customer_env.rewards import completion_text, compute_reward, gold_from_columns

    scores: list[float] = []
    by_type: dict[str, list[float]] = {}
    names = columns.get("page_names")
    for i, completion in enumerate(completions):
        gold = gold_from_columns(columns["gold_type"][i], columns["gold_name"][i], columns["gold_text"][i],
                                 columns["gold_click_type"][i])
        valid = frozenset(json.loads(names[i])) if names is not None and names[i] is not None else None
        correct = float(compute_reward("exact", completion_text(completion), gold, valid_names=valid).correct)
        scores.append(correct)
        by_type.setdefault(gold.type, []).append(correct)
    log_metric = columns.get("log_metric")
    if callable(log_metric):
        for kind, values in sorted(by_type.items()):
            log_metric(f"accuracy/{kind}", sum(values) / len(values))
    return scores
