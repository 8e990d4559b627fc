"""The reward functions GRPO trains with: the environment's reward in TRL's calling convention.

TRL (>= 1.0) calls a reward function as ``f(prompts=, completions=, completion_ids=, **columns)``
with every dataset column as a list. :func:`make_trl_reward_funcs` adapts a preset of
``customer_env.rewards`` to that convention over the exported step dataset's gold columns
(``customer_env.export.GOLD_COLUMNS`` and ``page_names``): for every completion, the value is
exactly what ``env.step`` returns for the same text (same preset, same config). The environment
layer itself knows nothing of the trainer.

``reward_functions`` is what ``training/grpo.py`` passes to ``GRPOTrainer``: the reward, then a
zero-weight function that logs the exact-match rate per gold action type (``accuracy/click``,
``accuracy/input``, ``accuracy/terminate``) without changing the reward.

Example:
    >>> funcs, weights = reward_functions("customer_r1")
    >>> weights
    [1.0, 0.0]
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Mapping, Sequence

from customer_env.export import GOLD_COLUMNS, PAGE_NAMES_COLUMN, decode_page_names, gold_from_columns
from customer_env.rewards import REWARD_PRESETS, RewardFn, RewardResult, compute_reward

TRLRewardFunc = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a conversational list ending in the answer.

    Example:
        >>> completion_text([{"role": "assistant", "content": "hi"}])
        'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        message = completion[-1]
        content = message.get("content", "") if isinstance(message, Mapping) else message
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        return content if isinstance(content, str) else ""
    return ""


def make_trl_reward_funcs(preset: str | RewardFn, *, components: bool = False,
                          use_page_names: bool = True, config: Any = None,
                          **overrides: Any) -> list[TRLRewardFunc]:
    """TRL GRPO reward functions computing a preset from the dataset's gold columns.

    Each value is exactly ``compute_reward(preset, text, gold, valid_names=page_names,
    config=config).total`` for the row's gold action (``gold_from_columns``) and page names.

    Args:
        preset: A preset name (or reward function, with ``components=False``).
        components: False: one function returning the total, which also logs every component's
            mean, the exact-match rate and the parse-failure rate through TRL's ``log_metric``.
            True: one function per component (named ``<preset>_<component>``); TRL logs each
            separately and their sum (with reward weights 1) is the total.
        use_page_names: Reject names not on the page (the ``page_names`` column).
        config: The preset's config object; or give its fields as keyword ``overrides``.

    Returns:
        The list to pass as ``GRPOTrainer(reward_funcs=...)``.

    Raises:
        ValueError: An unknown preset or config field. When called: ``KeyError`` naming the gold
            columns the dataset lacks, ``ValueError`` naming a row whose ``page_names`` is bad.
    """
    if not callable(preset) and preset not in REWARD_PRESETS:
        raise ValueError(f"unknown reward preset {preset!r}; choose one of {sorted(REWARD_PRESETS)}")
    name = preset if isinstance(preset, str) else getattr(preset, "__name__", "reward")
    if overrides:
        config_cls = REWARD_PRESETS[name][1] if isinstance(preset, str) and name in REWARD_PRESETS else None
        if config_cls is None:
            raise ValueError(f"preset {name!r} takes no config fields, got {sorted(overrides)}")
        known = {f.name for f in fields(config_cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown {config_cls.__name__} fields {unknown}; known: {sorted(known)}")
        config = config_cls(**overrides)

    def score(completions: Sequence[Any], columns: Mapping[str, Any]) -> list[RewardResult]:
        golds = _golds(columns, len(completions))
        names = columns.get(PAGE_NAMES_COLUMN) if use_page_names else None
        return [compute_reward(preset, completion_text(completion), gold, config=config,
                               valid_names=decode_page_names(names[i], i) if names is not None else None)
                for i, (completion, gold) in enumerate(zip(completions, golds))]

    if not components:
        def total_reward(prompts=None, completions=None, completion_ids=None, **columns: Any) -> list[float]:
            results = score(completions or [], columns)
            log_metric = columns.get("log_metric")
            if callable(log_metric) and results:
                n = len(results)
                for key in results[0].components:
                    log_metric(f"{name}/{key}", sum(r.components[key] for r in results) / n)
                log_metric(f"{name}/exact", sum(r.correct for r in results) / n)
                log_metric(f"{name}/parse_failed", sum(not r.parsed.ok for r in results) / n)
            return [r.total for r in results]

        total_reward.__name__ = f"{name}_reward"
        return [total_reward]

    if not isinstance(preset, str):
        raise ValueError("components=True needs a preset name (its component list is registered)")
    funcs = []
    for key in REWARD_PRESETS[name][2]:
        def component_reward(prompts=None, completions=None, completion_ids=None, _key=key,
                             **columns: Any) -> list[float]:
            return [r.components[_key] for r in score(completions or [], columns)]

        component_reward.__name__ = f"{name}_{key}"
        funcs.append(component_reward)
    return funcs


def _golds(columns: Mapping[str, Any], count: int) -> list[Any]:
    missing = [c for c in GOLD_COLUMNS if c not in columns]
    if missing:
        raise KeyError(f"reward function needs dataset columns {missing}")
    return [gold_from_columns(*(columns[c][i] for c in GOLD_COLUMNS)) for i in range(count)]


def reward_functions(preset: str = "customer_r1", *, rl_only: bool = False, scale: str = "none",
                     format_weight: float | None = None) -> tuple[list[TRLRewardFunc], list[float]]:
    """The environment's reward for a preset, then the per-type accuracy logger (weight 0).

    Args:
        preset: ``customer_r1``, ``exact`` or ``shop_r1``.
        rl_only: Customer-R1's RL-only variant (a wrong click earns 0 instead of -1).
        scale: Customer-R1 action-weight scaling: ``none``, ``log`` or ``max``.
        format_weight: Customer-R1 format reward (None: the reward module's default).

    Returns:
        ``(reward_funcs, reward_weights)`` for ``GRPOTrainer`` / ``GRPOConfig``.
    """
    funcs = make_trl_reward_funcs(preset, **reward_config(preset, rl_only=rl_only, scale=scale,
                                                          format_weight=format_weight))
    return [*funcs, accuracy_by_type], [1.0] * len(funcs) + [0.0]


def reward_config(preset: str = "customer_r1", *, rl_only: bool = False, scale: str = "none",
                  format_weight: float | None = None) -> dict[str, Any]:
    """The preset's config fields for the trainer's reward options (``OperaEnv(reward_config=...)``).

    Example:
        >>> reward_config("customer_r1", rl_only=True)
        {'variant': 'rl_only', 'scale': 'none'}
    """
    if preset != "customer_r1":
        return {}
    config: dict[str, Any] = {"variant": "rl_only" if rl_only else "sft_init", "scale": scale}
    if format_weight is not None:
        config["format_weight"] = format_weight
    return config


def accuracy_by_type(prompts: Any = None, completions: Sequence[Any] = (), **columns: Any) -> list[float]:
    """Exact match of each completion (a metric, weighted 0); logs ``accuracy/<gold type>``."""
    scores: list[float] = []
    by_type: dict[str, list[float]] = {}
    names = columns.get(PAGE_NAMES_COLUMN)
    for i, (completion, gold) in enumerate(zip(completions, _golds(columns, len(completions)))):
        valid = decode_page_names(names[i], i) if names is not None else None
        correct = float(compute_reward("exact", completion_text(completion), gold, valid_names=valid).correct)
        scores.append(correct)
        by_type.setdefault(gold.type, []).append(correct)
    log_metric = columns.get("log_metric")
    if callable(log_metric):
        for kind, values in sorted(by_type.items()):
            log_metric(f"accuracy/{kind}", sum(values) / len(values))
    return scores
