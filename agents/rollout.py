"""Run an agent through recorded sessions of ``OPeRA-v0``, and score and save what it did.

:func:`run_rollout` replays the selected sessions (teacher-forced by default): at every step the
agent answers the observation, the environment scores the answer against the human's action,
and a *sample* records both. Several sessions advance in lockstep when the agent has
``act_batch`` (one batched call per step across ``batch_size`` sessions), so a model sees full
batches; an agent with only ``act`` runs one session at a time. ``reset(info)`` is called at the
start of each session when the agent has it. The metrics are :func:`customer_env.metrics.evaluate`
over the samples; predicted click types come from a :class:`~customer_env.metrics.ClickTypeLookup`
over the gold clicks of the training split and of the evaluated split.

An action whose name is not on the current page is invalid, as the environment scores it: it is
a format failure in every metric; ``rollout.parse_errors`` counts why answers were invalid.

A trained checkpoint is evaluated under the conditions it was trained on
(:func:`plan_evaluation`): the page scale of its training data when the config leaves the page
scale open, and its prompt budget when the config leaves the budget open. The agent's model is
never asked what its context is; the checkpoint says what it was trained with
(``agents.checkpoint.TrainingConditions``). Any difference from the training conditions that
the config asks for is kept and reported in ``info["conditions"]``.

Example:
    >>> import agents
    >>> result = run_rollout(agents.make("random"), RolloutConfig(sessions=2))  # doctest: +SKIP
    >>> result.metrics["headline"]["exact_match"]["value"]  # doctest: +SKIP
    >>> write_rollout(result, "runs/random")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Mapping

from agents.base import Agent, act_many, describe_agent, reset_agent
from agents.checkpoint import ResolvedCheckpoint, TrainingConditions, checkpoint_of
from customer_env.actions import parse_completion
from customer_env.cache import atomic_write_text
from customer_env.data.spec import StoreSpec
from customer_env.metrics import ClickTypeLookup, StepRecord, evaluate
from customer_env.prompt.observation import actionable_names
from customer_env.provenance import provenance

logger = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"


@dataclass
class RolloutConfig:
    """Which sessions to replay and how (the environment's options, plus rollout's own).

    Attributes:
        data: The evaluated data (default: the embedded store's test split); the training split
            of the same data gives the frequency agents' statistics and the click-type lookup.
            A page scale left open (None) becomes a checkpoint's training scale
            (:func:`plan_evaluation`).
        sessions: A count (spread evenly, deterministic), a list of ids, or None for all.
        persona: A user id: that user's sessions only.
        persona_mode: ``real``, ``none`` or ``shuffled``.
        on_mismatch: ``teacher_forced``, ``continue`` or ``terminate``.
        max_prompt_tokens: Prompt budget (None: the agent's training budget when it comes from a
            checkpoint that records one, else the environment's default).
        seed: Seed of the environment, the bootstrap and (through ``agents.make``) the agent.
        batch_size: Sessions advanced in lockstep for agents with ``act_batch``.
        n_bootstrap: Bootstrap resamples of the confidence intervals (0: none).
        reward: The environment's reward preset.
    """

    data: StoreSpec = field(default_factory=lambda: StoreSpec(split="test"))
    sessions: int | list[str] | None = None
    persona: str | None = None
    persona_mode: str = "real"
    on_mismatch: str = "teacher_forced"
    max_prompt_tokens: int | None = None
    seed: int = 0
    batch_size: int = 8
    n_bootstrap: int = 1000
    reward: str = "customer_r1"


@dataclass
class RolloutResult:
    """What :func:`run_rollout` returns: the samples, the metrics and everything to reproduce them."""

    samples: list[dict[str, Any]]
    metrics: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[StepRecord]:
        return [StepRecord.from_sample(s) for s in self.samples]


def open_stores(config: RolloutConfig) -> tuple[Any, Any]:
    """The evaluated store and the training split of the same data."""
    return config.data.open(), config.data.with_split("train").open()


@dataclass
class EvaluationPlan:
    """Agents and a rollout config matched to the conditions the agents' checkpoints were trained on.

    Attributes:
        config: The config to run, with the checkpoints' page scale when it left it open.
        agent_kwargs: Per agent, its keyword arguments, ``checkpoint=`` resolved (a directory or
            hub id), so that every run loads the very checkpoint the plan read.
        checkpoints: The agents that load a checkpoint, and what it says.
        notes: What was adopted from the checkpoints, and where the config departs from them.
    """

    config: RolloutConfig
    agent_kwargs: dict[str, dict[str, Any]]
    checkpoints: dict[str, ResolvedCheckpoint]
    notes: list[str]


def plan_evaluation(config: RolloutConfig, agents: Mapping[str, Mapping[str, Any]]) -> EvaluationPlan:
    """Evaluate checkpoints on the pages they were trained on (the one resolver of training conditions).

    Every agent that loads a checkpoint (``agents.checkpoint.checkpoint_of``) has it resolved and
    its ``training_summary.json`` read. When ``config.data`` is the embedded store with no page
    scale, and the checkpoints were trained on the embedded store, their page scale is adopted
    (the sessions and actions are the same at every scale; only the pages' filler differs). A
    page scale given in the config is kept, and noted when a checkpoint was trained at another.
    The prompt budget is per agent, at rollout (see :func:`run_rollout`).

    Args:
        config: The requested rollout.
        agents: Agent name -> keyword arguments (``checkpoint=`` where given).

    Raises:
        ValueError: When the checkpoints were trained at different page scales and the config
            does not choose one (every agent of a comparison sees the same pages).
    """
    kwargs = {name: dict(values) for name, values in agents.items()}
    checkpoints: dict[str, ResolvedCheckpoint] = {}
    for name, values in kwargs.items():
        resolved = checkpoint_of(name, values)
        if resolved is not None:
            checkpoints[name] = resolved
            values["checkpoint"] = resolved.path
    notes: list[str] = []
    trained = {name: r.conditions for name, r in checkpoints.items() if r.conditions is not None}
    for name in sorted(set(checkpoints) - set(trained)):
        notes.append(f"{name}: checkpoint {checkpoints[name].path} records no training conditions; "
                     "evaluating as configured")
    data = config.data
    embedded = {name: c.data.page_scale for name, c in trained.items() if c.data.is_embedded}
    if data.is_embedded and data.page_scale is None and embedded:
        scales = sorted(set(embedded.values()), key=lambda v: -1.0 if v is None else v)
        if len(scales) > 1:
            raise ValueError("the checkpoints were trained at different page scales ("
                             + ", ".join(f"{n}: {v}" for n, v in sorted(embedded.items()))
                             + "); choose one for all agents (--page-scale)")
        if scales[0] is not None:
            data = data.replace(page_scale=scales[0])
            notes.append(f"evaluating on the embedded store at page scale {scales[0]:g}, the scale "
                         f"{', '.join(sorted(embedded))} trained at")
    for name, conditions in sorted(trained.items()):
        if conditions.data.is_embedded and data.is_embedded and conditions.data.page_scale != data.page_scale:
            notes.append(f"{name} was trained at page scale {conditions.data.page_scale}, evaluated at "
                         f"{data.page_scale}")
        if conditions.data.source != data.source:
            notes.append(f"{name} was trained on {conditions.data.describe()}, evaluated on {data.describe()}")
    return EvaluationPlan(replace(config, data=data), kwargs, checkpoints, notes)


def click_type_lookup(*stores: Any) -> ClickTypeLookup:
    """Gold-standard element click types from every recorded click of the given stores."""
    return ClickTypeLookup.from_sessions(chain.from_iterable(s.iter_sessions() for s in stores))


def make_agent(name: str, config: RolloutConfig, *, train_store: Any = None, **kwargs: Any) -> Agent:
    """``agents.make(name, **kwargs)``, adding what the factory declares and the caller left out:
    ``seed`` (the rollout's) and ``store`` (the training store, else the spec of the config's
    training split)."""
    import inspect

    from agents.registry import factory

    build = factory(name)
    try:
        accepted = {p.name for p in inspect.signature(build).parameters.values()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    except (TypeError, ValueError):
        accepted = set()
    context = {"seed": config.seed, "store": train_store if train_store is not None else config.data.with_split("train")}
    extra = {k: v for k, v in context.items() if k in accepted and k not in kwargs}
    return build(**kwargs, **extra)


def agent_tokenizer(agent: Agent) -> Any:
    """The tokenizer of the agent's model, when its backend exposes one (it counts the budget)."""
    return getattr(getattr(agent, "backend", None), "tokenizer", None)


def prompt_budget(config: RolloutConfig, conditions: TrainingConditions | None) -> tuple[int | None, str]:
    """The prompt budget of a rollout and where it comes from: the config, the checkpoint's
    training budget, or (None) the environment's default."""
    if config.max_prompt_tokens is not None:
        return config.max_prompt_tokens, "config"
    if conditions is not None:
        return conditions.max_prompt_tokens, "checkpoint"
    return None, "environment default"


def make_env(config: RolloutConfig, store: Any, sessions: Any, *, tokenizer: Any = None,
             max_prompt_tokens: int | None = None) -> Any:
    """An ``OPeRA-v0`` environment over ``store`` for ``config``."""
    import gymnasium as gym

    import customer_env  # noqa: F401 - registers OPeRA-v0

    options: dict[str, Any] = {"store": store, "sessions": sessions, "persona": config.persona,
                               "persona_mode": config.persona_mode, "on_mismatch": config.on_mismatch,
                               "reward": config.reward, "tokenizer": tokenizer}
    if max_prompt_tokens is not None:
        options["max_prompt_tokens"] = max_prompt_tokens
    return gym.make("OPeRA-v0", disable_env_checker=True, **options)


def run_rollout(agent: Agent, config: RolloutConfig | None = None, *, store: Any = None, train_store: Any = None,
                progress: bool = True, on_step: Callable[[dict[str, Any]], None] | None = None) -> RolloutResult:
    """Replay the configured sessions with ``agent`` and score every step.

    Args:
        agent: Any object with ``act`` (``act_batch`` and ``reset`` are used when present).
        config: What to replay (default :class:`RolloutConfig`).
        store, train_store: Already opened stores (default: opened from ``config``).
        progress: Show a tqdm bar over steps.
        on_step: Called with each sample as soon as it is scored (e.g. to print it).
    """
    from tqdm.auto import tqdm

    config = config or RolloutConfig()
    if store is None or train_store is None:
        opened = open_stores(config)
        store = opened[0] if store is None else store
        train_store = opened[1] if train_store is None else train_store
    tokenizer = agent_tokenizer(agent)
    conditions: TrainingConditions | None = getattr(agent, "trained_conditions", None)
    budget, budget_source = prompt_budget(config, conditions)
    if conditions is not None and budget != conditions.max_prompt_tokens:
        logger.warning("evaluating with a %s-token prompt budget; the checkpoint was trained with %d",
                       budget, conditions.max_prompt_tokens)
    first = make_env(config, store, config.sessions, tokenizer=tokenizer, max_prompt_tokens=budget)
    session_ids = list(first.unwrapped.session_ids)
    lanes = max(1, min(config.batch_size, len(session_ids))) if callable(getattr(agent, "act_batch", None)) else 1
    envs = [first] + [make_env(config, store, session_ids, tokenizer=tokenizer, max_prompt_tokens=budget)
                      for _ in range(lanes - 1)]
    total = sum(len(store.session(sid)) for sid in session_ids)
    samples: list[dict[str, Any]] = []
    parse_errors: Counter = Counter()
    started = time.perf_counter()
    pending = list(reversed(session_ids))
    active: list[list[Any]] = []  # [env, observation, info]
    free = list(reversed(envs))
    with tqdm(total=total, desc="rollout", unit="step", disable=not progress) as bar:
        while pending or active:
            while pending and free:
                env = free.pop()
                observation, info = env.reset(seed=config.seed, options={"session_id": pending.pop()})
                reset_agent(agent, info)
                active.append([env, observation, info])
            texts = act_many(agent, [lane[1] for lane in active])
            still = []
            for lane, text in zip(active, texts):
                env, observation, before = lane
                next_observation, _, terminated, truncated, info = env.step(text)
                sample = _sample(store, observation, before, info, text)
                parse_errors[(sample["parse_error"] or "ok").split(":", 1)[0]] += 1
                samples.append(sample)
                bar.update(1)
                if on_step is not None:
                    on_step(sample)
                if terminated or truncated:
                    free.append(env)
                else:
                    still.append([env, next_observation, info])
            active = still
    for env in envs:
        env.close()
    order = {sid: i for i, sid in enumerate(session_ids)}
    samples.sort(key=lambda s: (order[s["session_id"]], s["step_index"]))
    lookup = click_type_lookup(train_store, store)
    records = [StepRecord.from_sample(s) for s in samples]
    metrics = evaluate(records, lookup, n_bootstrap=config.n_bootstrap, seed=config.seed)
    info = {
        "agent": describe_agent(agent), "config": asdict(config), "seed": config.seed,
        "env": {"max_prompt_tokens": first.unwrapped.max_prompt_tokens, "max_prompt_tokens_from": budget_source,
                "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None,
                "sessions": len(session_ids), "lanes": lanes},
        "conditions": {"trained": conditions.to_dict() if conditions is not None else None},
        "dataset": {"description": store.description, "split": store.split, "variant": store.variant,
                    "fingerprint": store.fingerprint, "train_fingerprint": train_store.fingerprint},
        "rollout": {"steps": len(samples), "wall_s": round(time.perf_counter() - started, 3),
                    "parse_errors": dict(parse_errors),
                    # fits: within budget with every element of the current page kept.
                    "prompts_not_fitting": sum(1 for s in samples if not s["fits"]),
                    "prompts_over_budget": sum(1 for s in samples if not s["within_budget"]),
                    "steps_with_page_elements_dropped": sum(1 for s in samples if s["page_elements_dropped"]),
                    "steps_with_gold_target_not_in_prompt": sum(1 for s in samples if not s["gold_in_prompt"])},
        "provenance": provenance(stores={"evaluated": store, "train": train_store}),
    }
    return RolloutResult(samples, metrics, info)


def _sample(store: Any, observation: Mapping[str, str], before: Mapping[str, Any], info: Mapping[str, Any],
            text: str) -> dict[str, Any]:
    session = store.session(info["session_id"])
    index = info["scored_step_index"]
    names = actionable_names(observation)
    parsed = parse_completion(text, valid_names=names or None)
    truncation = before.get("truncation") or {}
    return {
        "session_id": info["session_id"], "step_index": index, "user_id": session.user_id,
        "persona_user_id": before.get("persona_user_id"), "persona_mode": before.get("persona_mode"),
        "completion": text, "predicted": info["agent_action"], "predicted_rationale": parsed.rationale,
        "parse_ok": info["parse_ok"], "parse_error": None if info["parse_ok"] else info["parse_error"],
        "gold": info["gold_action"], "reward": info["reward"], "reward_components": info["reward_components"],
        "correct": info["correct"], "human_rationale": session.steps[index].rationale,
        "session_length": len(session), "session_purchased": session.purchased,
        "prompt_tokens": before.get("prompt_tokens"), "fits": bool(before.get("fits", True)),
        "within_budget": bool(truncation.get("within_budget", True)),
        "page_elements_dropped": int(truncation.get("page_elements_dropped", 0)),
        # format.md section 6: a gold element cut from the prompt's page makes the step unanswerable.
        "gold_in_prompt": _shown(info["gold_action"].get("name"), observation.get("page", "")),
    }


def _shown(name: str | None, page_text: str) -> bool:
    """Whether the element ``name`` is in the rendered page text (always true without a name)."""
    return name is None or f'name="{name}"' in page_text or f'name="{html.escape(name)}"' in page_text


def write_rollout(result: RolloutResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``samples.jsonl`` and ``results.json`` into ``out_dir``, each atomically."""
    out = Path(out_dir)
    samples_path, results_path = out / SAMPLES_FILE, out / RESULTS_FILE
    atomic_write_text(samples_path, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in result.samples))
    payload = {**result.info, "metrics": result.metrics, "samples_file": SAMPLES_FILE}
    atomic_write_text(results_path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return samples_path, results_path


def step_line(sample: Mapping[str, Any]) -> str:
    """One printable line: the human's action, the agent's, and the reward."""
    gold = {k: v for k, v in sample["gold"].items() if v is not None}
    agent = json.dumps(sample["predicted"], ensure_ascii=False) if sample["predicted"] else \
        f"(invalid: {sample['parse_error']})"
    mark = "correct" if sample["correct"] else "wrong"
    return (f"{sample['session_id'][:24]} #{sample['step_index']:<3} human {json.dumps(gold, ensure_ascii=False)}"
            f" | agent {agent} | reward {sample['reward']:g} {mark}")
