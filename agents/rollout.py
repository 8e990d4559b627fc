"""Run an agent through recorded sessions of ``OPeRA-v0``, and score and save what it did.

:func:`run_rollout` replays the selected sessions (teacher-forced by default): at every step the
agent answers the observation, the environment scores the answer against the human's action,
and a *sample* records both. Several sessions advance in lockstep when the agent has
``act_batch`` (one batched call per step across ``batch_size`` sessions), so a model sees full
batches; an agent with only ``act`` runs one session at a time. ``reset(info)`` is called at the
start of each session when the agent has it. The metrics are :func:`customer_env.metrics.evaluate`
over the samples; predicted click types come from a :class:`~customer_env.metrics.ClickTypeLookup`
over the gold clicks of the training split and of the evaluated split.

The environment parses each answer once; a sample takes the parsed action, rationale, error
code and grounding from the step's ``info`` (definitions: ``docs/METRICS.md``). An answer that
does not parse is a format failure in every metric (``rollout.parse_errors`` counts why); a
well-formed action on an element that is not on the rendered page is scored like any other
prediction and counted as ungrounded (``rollout.ungrounded_predictions``, the grounding rate).

A trained checkpoint is evaluated under the conditions it was trained on
(:func:`plan_evaluation`): the page scale of its training data when the config leaves the page
scale open, and its prompt budget when the config leaves the budget open. The agent's model is
never asked what its context is; the checkpoint says what it was trained with
(``agents.checkpoint.TrainingConditions``). Any difference from the training conditions that
the config asks for is kept and reported in ``info["conditions"]``.

With ``out_dir`` the run is written as it goes (``agents.run_files``): ``run.json`` first, each
sample appended and flushed as soon as it is scored, ``results.json`` (with the samples' hash)
at the end. ``resume=True`` continues an interrupted run from its directory: the environment
replays the recorded steps with their recorded completions (checking that each replays to the
very line recorded), the agent is asked only for the steps not yet recorded, in the same batches
as an uninterrupted run, so the samples and metrics end identical. ``config.shard`` plays one
shard of the selected sessions (``agents.sharding``; ``agents.merge`` joins the shards).

Example:
    >>> import agents
    >>> result = run_rollout(agents.make("random"), RolloutConfig(sessions=2))  # doctest: +SKIP
    >>> result.metrics["headline"]["exact_match"]["value"]  # doctest: +SKIP
    >>> write_rollout(result, "runs/random")  # doctest: +SKIP
    >>> run_rollout(agents.make("random"), RolloutConfig(sessions=2), out_dir="runs/random", resume=True)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Mapping

from agents.agent_spec import AgentSpecError
from agents.base import Agent, act_many, describe_agent, observe_agent, reset_agent
from agents.checkpoint import ResolvedCheckpoint, TrainingConditions, checkpoint_of
from agents.run_files import RESULTS_FILE, SAMPLES_FILE  # noqa: F401 - re-exported (the viewer's names)
from agents.run_files import (RecordedSample, RunFileError, RunManifest, RunWriter, agent_identity, prompt_sha256,
                              json_text, sample_line, write_run_files)
from agents.sharding import Shard
from customer_env.data.decode import parse_timestamp, user_id_from_session_id
from customer_env.data.spec import StoreSpec
from customer_env.metrics import ClickTypeLookup, StepRecord, evaluate
from customer_env.provenance import provenance
from customer_env.records import session_outcome

logger = logging.getLogger(__name__)

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
        shard: Play only this shard of the selected sessions (None: all of them).
        log_prompts: Log each step's observation in its sample (``observation``); every sample
            carries ``prompt_sha256`` either way.
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
    shard: Shard | None = None
    log_prompts: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RolloutConfig":
        """The config that ``asdict`` turned into ``data`` (as recorded in ``run.json``).

        Raises:
            ValueError: naming a key that is no field of the config.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rollout config field(s) {unknown}")
        values = dict(data)
        values["data"] = StoreSpec.from_dict(values["data"]) if isinstance(values.get("data"), Mapping) else \
            values.get("data", StoreSpec(split="test"))
        values["shard"] = Shard.from_dict(values.get("shard"))
        return cls(**values)


@dataclass
class RolloutResult:
    """What :func:`run_rollout` returns: the samples, the metrics and everything to reproduce them.

    Attributes:
        samples: In the run's order (session order of the selection, then step).
        metrics: :func:`customer_env.metrics.evaluate` of the samples.
        info: Provenance and bookkeeping, as written to ``results.json``.
        manifest: The run's identity (``run.json``).
        files: The samples and results files, when the run was written as it went.
    """

    samples: list[dict[str, Any]]
    metrics: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    manifest: RunManifest | None = None
    files: tuple[Path, Path] | None = None

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
        agent_kwargs: Per run label, the agent's keyword arguments, ``checkpoint=`` resolved (a
            directory or hub id), so that every run loads the very checkpoint the plan read.
        checkpoints: Per run label of an agent that loads a checkpoint, what it says.
        notes: What was adopted from the checkpoints, and where the config departs from them.
    """

    config: RolloutConfig
    agent_kwargs: dict[str, dict[str, Any]]
    checkpoints: dict[str, ResolvedCheckpoint]
    notes: list[str]


def plan_evaluation(config: RolloutConfig, agents: Mapping[str, tuple[str, Mapping[str, Any]]]) -> EvaluationPlan:
    """Evaluate checkpoints on the pages they were trained on (the one resolver of training conditions).

    Every agent that loads a checkpoint (``agents.checkpoint.checkpoint_of``) has it resolved and
    its ``training_summary.json`` read. When ``config.data`` is the embedded store with no page
    scale, and the checkpoints were trained on the embedded store, their page scale is adopted
    (the sessions and actions are the same at every scale; only the pages' filler differs). A
    page scale given in the config is kept, and noted when a checkpoint was trained at another.
    The prompt budget is per agent, at rollout (see :func:`run_rollout`).

    Args:
        config: The requested rollout.
        agents: Run label -> (agent name, keyword arguments with ``checkpoint=`` where given); the
            label is the agent name unless one agent runs with several options.

    Raises:
        AgentSpecError: Naming the run, for a checkpoint that cannot be used (missing, unfinished:
            ``agents.checkpoint.UnfinishedRunError``, malformed; the original error is its
            cause), or when the checkpoints were trained at different page scales and the config
            does not choose one (every agent of a comparison sees the same pages).
    """
    kwargs = {label: dict(values) for label, (_, values) in agents.items()}
    checkpoints: dict[str, ResolvedCheckpoint] = {}
    for label, (name, _) in agents.items():
        try:
            resolved = checkpoint_of(name, kwargs[label])
        except (FileNotFoundError, ValueError) as exc:  # before any store or model is loaded
            raise AgentSpecError(f"agent {label!r}: {exc}") from exc
        if resolved is not None:
            checkpoints[label] = resolved
            kwargs[label]["checkpoint"] = resolved.path
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
            raise AgentSpecError("the checkpoints were trained at different page scales ("
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
    ``seed`` (the rollout's), ``store`` (the training store, else the config's training split,
    opened) and ``source`` (the config's data source)."""
    import inspect

    from agents.registry import factory

    build = factory(name)
    try:
        accepted = {p.name for p in inspect.signature(build).parameters.values()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    except (TypeError, ValueError):
        accepted = set()
    context: dict[str, Any] = {"seed": config.seed, "source": config.data.source}
    if "store" in accepted and "store" not in kwargs:
        context["store"] = train_store if train_store is not None else config.data.with_split("train").open()
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


def _trained_on_other_data(conditions: TrainingConditions | None, data: StoreSpec, train_store: Any) -> str | None:
    """Why the training split opened here is not the one the checkpoint trained on, though it has the
    same source, variant and page scale (a regenerated or changed store); None when it is, when the
    data differ anyway (then the plan's notes say so), or when the checkpoint does not say."""
    if conditions is None or conditions.store_fingerprint is None:
        return None
    trained = conditions.data
    if (trained.source, trained.variant, trained.page_scale) != (data.source, data.variant, data.page_scale):
        return None
    here = getattr(train_store, "fingerprint", None)
    if here is None or here == conditions.store_fingerprint:
        return None
    return f"the training store's fingerprint was {conditions.store_fingerprint[:16]}, this one's is {here[:16]}"


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
                progress: bool = True, on_step: Callable[[dict[str, Any]], None] | None = None,
                out_dir: str | Path | None = None, resume: bool = False, overwrite: bool = False,
                agent_name: str | None = None, extra_info: Mapping[str, Any] | None = None,
                desc: str = "rollout") -> RolloutResult:
    """Replay the configured sessions with ``agent`` and score every step.

    Args:
        agent: Any object with ``act`` (``act_batch`` and ``reset`` are used when present).
        config: What to replay (default :class:`RolloutConfig`).
        store, train_store: Already opened stores (default: opened from ``config``).
        progress: Show a tqdm bar over steps.
        on_step: Called with each sample as soon as it is scored (e.g. to print it); not for
            the steps a resume replays from the samples file.
        out_dir: Write the run there as it goes (see the module docstring); None: in memory only.
        resume: Continue the run recorded in ``out_dir`` (refused when its ``run.json`` differs).
        overwrite: Replace a run recorded in ``out_dir`` (without it, or ``resume``, an existing
            run there is refused).
        agent_name: The registered name the agent was made from (recorded, and part of the identity).
        extra_info: More entries for ``info`` (and ``results.json``), e.g. a comparison's label;
            its ``conditions`` (the evaluation plan's ``notes``) join ``info["conditions"]``.
        desc: The progress bar's label (compare labels each bar with its run).

    Raises:
        agents.run_files.RunFileError: ``out_dir`` cannot be used as asked (one line, file named).
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
    trained_on_other_data = _trained_on_other_data(conditions, config.data, train_store)
    if trained_on_other_data:
        logger.warning("the checkpoint was trained on another version of this data: %s", trained_on_other_data)
    first = make_env(config, store, config.sessions, tokenizer=tokenizer, max_prompt_tokens=budget)
    selected = list(first.unwrapped.session_ids)
    session_ids = config.shard.select(selected) if config.shard is not None else selected
    lanes = max(1, min(config.batch_size, len(session_ids))) if callable(getattr(agent, "act_batch", None)) else 1
    envs = [first] + [make_env(config, store, selected, tokenizer=tokenizer, max_prompt_tokens=budget)
                      for _ in range(lanes - 1)]
    manifest = RunManifest(
        config=json.loads(json.dumps(asdict(config), default=str)),
        agent=agent_identity(describe_agent(agent)), agent_name=agent_name,
        dataset={"fingerprint": store.fingerprint, "train_fingerprint": train_store.fingerprint,
                 "description": store.description, "split": store.split, "variant": store.variant},
        env={"max_prompt_tokens": first.unwrapped.max_prompt_tokens,
             "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None},
        selected=selected, sessions=session_ids, shard=asdict(config.shard) if config.shard is not None else None,
        label=(extra_info or {}).get("label"))
    writer = RunWriter(out_dir, manifest, resume=resume, overwrite=overwrite) if out_dir is not None else None
    total = sum(len(store.session(sid)) for sid in session_ids)
    samples: list[dict[str, Any]] = []
    parse_errors: Counter = Counter()
    started = time.perf_counter()
    pending = list(reversed(session_ids))
    active: list[list[Any]] = []  # [env, observation, info]
    free = list(reversed(envs))
    with writer or nullcontext(), tqdm(total=total, desc=desc, unit="step", disable=not progress) as bar:
        recorded = writer.state.recorded if writer is not None else []
        for note in writer.state.notes if writer is not None else []:
            logger.warning("%s", note)
        while pending or active:
            while pending and free:
                env = free.pop()
                observation, info = env.reset(seed=config.seed, options={"session_id": pending.pop()})
                reset_agent(agent, info)
                active.append([env, observation, info])
            # A resume replays recorded steps with their recorded completions; a batch the file
            # only partly holds is asked of the agent whole, so every batch is the one an
            # uninterrupted run asks (a seeded sampler's outputs depend on its batch).
            known = [_recorded_completion(r, writer.samples_path)
                     for r in recorded[len(samples):len(samples) + len(active)]]
            texts = known if len(known) == len(active) else \
                known + act_many(agent, [lane[1] for lane in active])[len(known):]
            still = []
            for lane, text in zip(active, texts):
                env, observation, before = lane
                next_observation, _, terminated, truncated, info = env.step(text)
                new = len(samples) >= len(recorded)
                if new:  # the agent's own answer (a replayed one was not asked of it)
                    observe_agent(agent, info)
                sample = _sample(store, observation, before, info, text)
                sample["prompt_sha256"] = prompt_sha256(observation)
                if config.log_prompts:
                    sample["observation"] = dict(observation)
                parse_errors[info.get("parse_error_code") or "ok"] += 1
                if not new:
                    _check_replay(recorded[len(samples)], sample, writer.samples_path)
                elif writer is not None:
                    writer.append(sample)
                samples.append(sample)
                bar.update(1)
                if on_step is not None and new:
                    on_step(sample)
                if terminated or truncated:
                    free.append(env)
                    if writer is not None:
                        writer.end_session()
                else:
                    still.append([env, next_observation, info])
            active = still
    for env in envs:
        env.close()
    if len(samples) < len(recorded):
        raise RunFileError(f"resume refused: {writer.samples_path} holds {len(recorded)} samples, "
                           f"but this run has only {len(samples)} steps")
    order = {sid: i for i, sid in enumerate(session_ids)}
    samples.sort(key=lambda s: (order[s["session_id"]], s["step_index"]))
    lookup = click_type_lookup(train_store, store)
    records = [StepRecord.from_sample(s) for s in samples]
    metrics = evaluate(records, lookup, n_bootstrap=config.n_bootstrap, seed=config.seed)
    info = {
        **({"agent_name": agent_name} if agent_name is not None else {}),
        "agent": describe_agent(agent), "config": asdict(config), "seed": config.seed,
        "env": {"max_prompt_tokens": first.unwrapped.max_prompt_tokens, "max_prompt_tokens_from": budget_source,
                "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None,
                "sessions": len(session_ids), "lanes": lanes},
        "conditions": {"trained": conditions.to_dict() if conditions is not None else None,
                       "trained_on_other_data": trained_on_other_data},
        "dataset": {"description": store.description, "split": store.split, "variant": store.variant,
                    "fingerprint": store.fingerprint, "train_fingerprint": train_store.fingerprint},
        "rollout": {"steps": len(samples), "wall_s": round(time.perf_counter() - started, 3),
                    "parse_errors": dict(parse_errors),
                    "ungrounded_predictions": sum(1 for s in samples if s["parse_ok"] and not s["grounded"]),
                    # fits: within budget with every element of the current page kept.
                    "prompts_not_fitting": sum(1 for s in samples if not s["fits"]),
                    "prompts_over_budget": sum(1 for s in samples if not s["within_budget"]),
                    "steps_with_page_elements_dropped": sum(1 for s in samples if s["page_elements_dropped"]),
                    "steps_with_gold_target_not_in_prompt": sum(1 for s in samples if not s["gold_in_prompt"])},
        "provenance": provenance(stores={"evaluated": store, "train": train_store}),
        "run": {"shard": str(config.shard) if config.shard is not None else None,
                "selected_sessions": len(selected), "sessions": len(session_ids),
                "fingerprints": manifest.fingerprints(),
                "resume": writer.state.as_dict() if writer is not None else None},
        **{k: v for k, v in (extra_info or {}).items() if k != "conditions"},
    }
    info["conditions"].update((extra_info or {}).get("conditions") or {})  # e.g. the evaluation plan's notes
    result = RolloutResult(samples, metrics, info, manifest)
    if writer is not None:
        result.files = writer.finish(results_payload(result))
    return result


def _recorded_completion(recorded: RecordedSample, path: Path) -> str:
    completion = recorded.sample.get("completion")
    if not isinstance(completion, str):
        raise RunFileError(f"resume refused: {path}:{recorded.line} has no string 'completion' to replay")
    return completion


def _check_replay(recorded: RecordedSample, sample: Mapping[str, Any], path: Path) -> None:
    """Refuse a resume whose replay of a recorded step does not give the very line recorded."""
    if sample_line(sample) == recorded.text:
        return
    where = f"{path}:{recorded.line}"
    if recorded.key != (sample["session_id"], sample["step_index"]):
        raise RunFileError(f"resume refused: {where} records session {recorded.key[0]!r} step {recorded.key[1]}, "
                           f"but this run plays session {sample['session_id']!r} step {sample['step_index']} there")
    fields_differing = sorted(k for k in set(sample) | set(recorded.sample)
                              if json.dumps(sample.get(k), default=str) != json.dumps(recorded.sample.get(k), default=str))
    raise RunFileError(f"resume refused: {where} (session {recorded.key[0]!r} step {recorded.key[1]}) does not "
                       f"replay to the line recorded (fields {', '.join(fields_differing) or 'formatting'}): it was "
                       "written by another version of the code or the data")


def _sample(store: Any, observation: Mapping[str, str], before: Mapping[str, Any], info: Mapping[str, Any],
            text: str) -> dict[str, Any]:
    """One sample from the step's ``info``: the environment has parsed and scored the answer."""
    session = store.session(info["session_id"])
    index = info["scored_step_index"]
    truncation = before.get("truncation") or {}
    return {
        "session_id": info["session_id"], "step_index": index, "user_id": session.user_id,
        "persona_user_id": before.get("persona_user_id"), "persona_mode": before.get("persona_mode"),
        "completion": text, "predicted": info["agent_action"], "predicted_rationale": info.get("agent_rationale"),
        "parse_ok": info["parse_ok"], "parse_error": None if info["parse_ok"] else info["parse_error"],
        "grounded": bool(info.get("grounded")), "rationale_error": info.get("rationale_error"),
        "gold": info["gold_action"], "reward": info["reward"], "reward_components": info["reward_components"],
        "correct": info["correct"], "human_rationale": session.steps[index].rationale,
        "session_length": len(session), "session_purchased": session.purchased,
        "session_outcome": session_outcome(session.steps[-1].action),
        "prompt_tokens": before.get("prompt_tokens"), "fits": bool(before.get("fits", True)),
        "within_budget": bool(truncation.get("within_budget", True)),
        "page_elements_dropped": int(truncation.get("page_elements_dropped", 0)),
        # docs/METRICS.md (pitfalls): a gold element cut from the prompt's page makes the step unanswerable.
        "gold_in_prompt": _shown(info["gold_action"].get("name"), observation.get("page", "")),
    }


def _shown(name: str | None, page_text: str) -> bool:
    """Whether the element ``name`` is in the rendered page text (always true without a name)."""
    return name is None or f'name="{name}"' in page_text or f'name="{html.escape(name)}"' in page_text


def results_payload(result: RolloutResult) -> dict[str, Any]:
    """What ``results.json`` holds besides the samples file's name and hash."""
    return {**result.info, "metrics": result.metrics}


def write_rollout(result: RolloutResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write a finished in-memory run into ``out_dir``: ``run.json`` (when known), ``samples.jsonl``
    and ``results.json`` with the samples' hash, each atomically. A run made with ``out_dir`` is
    already written."""
    return write_run_files(out_dir, result.samples, results_payload(result), result.manifest)


def session_label(session_id: str) -> str:
    """A short label that tells sessions apart in printed lines.

    An OPeRA id ``{user_id}_{start_iso}_{end_iso}`` becomes the user id's first 8 characters and
    the start time to the second (one shopper does not start two sessions in the same second);
    its first 24 characters, printed before, are the same for every session of one user. Another
    id of up to 24 characters stays whole; a longer one keeps 15 characters and a hash of all of it.

    Example:
        >>> session_label("324934a2-5d58-49d9-bae8-545fba660731_2025-04-14T21:52:46.756000Z_"
        ...               "2025-04-14T21:55:50.785000Z")
        '324934a2 2025-04-14 21:52:46'
    """
    user_id = user_id_from_session_id(session_id)
    if user_id is not None:
        start = parse_timestamp(session_id[len(user_id) + 1:].rsplit("_", 1)[0])
        return f"{user_id[:8]} {start:%Y-%m-%d %H:%M:%S}"
    if len(session_id) <= 24:
        return session_id
    return f"{session_id[:15]}~{hashlib.blake2b(session_id.encode(), digest_size=4).hexdigest()}"


def step_line(sample: Mapping[str, Any]) -> str:
    """One printable line: the session's label, the human's action, the agent's (marked when not on
    the page), and the reward."""
    gold = {k: v for k, v in sample["gold"].items() if v is not None}
    agent = json_text(sample["predicted"]) if sample["predicted"] else f"(invalid: {sample['parse_error']})"
    if sample["predicted"] and sample.get("grounded") is False:
        agent += " (not on the page)"
    mark = "correct" if sample["correct"] else "wrong"
    return (f"{session_label(sample['session_id'])} #{sample['step_index']:<3} human {json_text(gold)}"
            f" | agent {agent} | reward {sample['reward']:g} {mark}")
