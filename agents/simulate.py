"""Free shopping sessions in OPeRA-Shop-v0, and how they compare with the reference shoppers'.

:func:`run_simulation` lets an agent shop on its own: ``episodes`` episodes for each of
``personas`` users of the store, each episode pinned by a seed derived from the config's seed,
the persona and the episode's number (so every agent meets the same visits: the same intents,
the same first pages). It drives the shop as :mod:`agents.rollout` drives OPeRA-v0: ``reset(info)``
at the start of each episode, ``act_batch`` across lanes of episodes in lockstep (one at a time
for an agent without it), ``observe(info)`` after each step. Samples are written as they go in
the rollout's format (``agents.run_files``: ``run.json``, ``samples.jsonl``, ``results.json``), so
the trajectory viewer reads them; each sample's ``gold`` is the reference shopper's most likely
action in that state when the reference law is computed (``reference_law``), with the action's
probability under it (``reference``), else None. ``resume=True`` keeps the episodes a run finished
and plays the others again from their start.

:func:`compare_with_reference` runs the agent and the reference shopper (another draw of its
choices: ``agents.make("reference_shopper")`` with a seed of its own) on the same episodes and
compares the two with :func:`customer_env.shop.session_metrics.compare`: Jensen-Shannon divergence
of action-type and click-type distributions, session length, purchase rate and the persona
effects, with bootstrap intervals, overall and per persona; :mod:`agents.simulation_report` turns
it into a table and a plot.

Example:
    >>> import agents
    >>> result = run_simulation(agents.make("random"), SimulationConfig(personas=2, episodes=1))  # doctest: +SKIP
    >>> comparison = compare_with_reference("random", SimulationConfig(personas=5), out_dir="runs/sim")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from agents.base import Agent, act_many, describe_agent, observe_agent, reset_agent
from agents.run_files import (RESULTS_FILE, SAMPLES_FILE, RunFileError, RunManifest, RunWriter, agent_identity,
                              prompt_sha256, read_samples, sample_line)
from customer_env.cache import atomic_write_text
from customer_env.metrics import StepRecord, evaluate
from customer_env.provenance import provenance
from customer_env.records import Action
from customer_env.shop.env import DEFAULT_MAX_EPISODE_STEPS, OperaShopEnv, shop_click_types
from customer_env.shop.session_metrics import SessionSummary, compare, profile_traits, summarize
from customer_env.shop.world import ShopWorld
from customer_env.synthetic.seeds import derive_rng

logger = logging.getLogger(__name__)

#: The reference run of a comparison is played by this agent, with its own seed.
REFERENCE_AGENT = "reference_shopper"
#: Where :func:`compare_with_reference` writes the comparison beside the two run directories.
COMPARISON_FILE = "comparison.json"


@dataclass
class SimulationConfig:
    """Which episodes to play and how.

    Attributes:
        personas: A count (the first users of the store in id order) or a list of user ids.
        episodes: Episodes per persona.
        seed: Seeds the episodes, the bootstrap and (through ``agents.make``) the agent.
        source: A synthetic store directory (None: the embedded store's world).
        page_scale: Page length relative to real pages (None: real lengths).
        max_prompt_tokens: Prompt budget (None: the environment's default, capped to the agent
            model's context when the agent exposes one).
        max_steps: Steps after which an episode is cut (``truncated``).
        reward: The shop's reward (None, ``likelihood``, ``outcome``).
        reference_law: Compute the reference shopper's law at every step (each sample's ``gold``
            and ``reference``); costs about a tenth of a second per step on one core.
        include_history_pages: Show past pages in the prompt's history.
        batch_size: Episodes advanced in lockstep for agents with ``act_batch``.
        n_bootstrap: Resamples of the comparison's intervals (0: none).
        log_prompts: Log each step's observation in its sample.
    """

    personas: int | list[str] = 10
    episodes: int = 2
    seed: int = 0
    source: str | None = None
    page_scale: float | None = None
    max_prompt_tokens: int | None = None
    max_steps: int = DEFAULT_MAX_EPISODE_STEPS
    reward: str | None = None
    reference_law: bool = True
    include_history_pages: bool = True
    batch_size: int = 8
    n_bootstrap: int = 1000
    log_prompts: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.personas, bool) or (isinstance(self.personas, int) and self.personas < 1):
            raise ValueError(f"personas must be a positive count or a list of user ids, got {self.personas!r}")
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.reward == "likelihood" and not self.reference_law:
            raise ValueError("reward='likelihood' needs reference_law=True")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SimulationConfig":
        """The config ``asdict`` turned into ``data``.

        Raises:
            ValueError: naming a key that is no field.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown simulation config field(s) {unknown}")
        return cls(**dict(data))


@dataclass(frozen=True)
class Episode:
    """One episode to play: whose, which, and its id."""

    persona: str
    number: int
    seed: int

    @property
    def session_id(self) -> str:
        return f"shop-{self.persona}-{self.seed}"


@dataclass
class SimulationResult:
    """What :func:`run_simulation` returns.

    Attributes:
        samples: One per step, in episode order.
        sessions: One summary per episode (:class:`~customer_env.shop.session_metrics.SessionSummary`).
        info: Provenance and bookkeeping (``results.json``).
        files: The samples and results files, when written.
    """

    samples: list[dict[str, Any]]
    sessions: list[SessionSummary]
    info: dict[str, Any]
    files: tuple[Path, Path] | None = None


def build_world(config: SimulationConfig) -> ShopWorld:
    """The shop's world for ``config``."""
    from customer_env.data.embedded import resolve_page_scale

    if config.source:
        return ShopWorld.from_store(config.source, page_scale=None if config.page_scale is None
                                    else resolve_page_scale(config.page_scale))
    return ShopWorld.build(page_scale=resolve_page_scale(config.page_scale))


def select_personas(world: ShopWorld, personas: int | Sequence[str]) -> list[str]:
    """The user ids a config names.

    Raises:
        ValueError: A count larger than the store's users, or ids that are not users.
    """
    users = world.user_ids
    if isinstance(personas, int):
        if personas > len(users):
            raise ValueError(f"--personas {personas}: the store has {len(users)} users")
        return users[:personas]
    missing = [p for p in personas if p not in world.users]
    if missing:
        raise ValueError(f"{len(missing)} persona(s) are not users of the store, e.g. {missing[0]!r}")
    return list(dict.fromkeys(personas))


def plan_episodes(world: ShopWorld, config: SimulationConfig) -> list[Episode]:
    """Every episode of ``config``, persona by persona (the same for every agent)."""
    out = []
    for persona in select_personas(world, config.personas):
        for number in range(config.episodes):
            seed = derive_rng(config.seed, "simulate", persona, number).randrange(2**31 - 1)
            out.append(Episode(persona, number, seed))
    return out


def make_env(world: ShopWorld, config: SimulationConfig, *, tokenizer: Any = None,
             max_prompt_tokens: int | None = None) -> OperaShopEnv:
    """An OPeRA-Shop-v0 environment for ``config`` (through ``gym.make``)."""
    import gymnasium as gym

    import customer_env  # noqa: F401 - registers OPeRA-Shop-v0

    options: dict[str, Any] = {"world": world, "reward": config.reward, "reference_law": config.reference_law,
                               "tokenizer": tokenizer, "include_history_pages": config.include_history_pages}
    if max_prompt_tokens is not None:
        options["max_prompt_tokens"] = max_prompt_tokens
    env = gym.make("OPeRA-Shop-v0", disable_env_checker=True, **options)
    # The shop's own step limit (gym.make would take max_episode_steps for a TimeLimit wrapper,
    # and the shop could then not say in its info that the episode was cut).
    env.unwrapped.max_episode_steps = config.max_steps
    return env


def run_simulation(agent: Agent, config: SimulationConfig | None = None, *, world: ShopWorld | None = None,
                   progress: bool = True, on_step: Callable[[dict[str, Any]], None] | None = None,
                   out_dir: str | Path | None = None, resume: bool = False, overwrite: bool = False,
                   agent_name: str | None = None, desc: str = "simulate") -> SimulationResult:
    """Play the configured episodes with ``agent`` (module docstring).

    Raises:
        agents.run_files.RunFileError: ``out_dir`` cannot be used as asked.
    """
    from tqdm.auto import tqdm

    from agents.rollout import agent_tokenizer

    config = config or SimulationConfig()
    world = world or build_world(config)
    episodes = plan_episodes(world, config)
    tokenizer = agent_tokenizer(agent)
    # As rollout: a checkpoint agent shops with the prompt budget it was trained with, unless told.
    conditions = getattr(agent, "trained_conditions", None)
    budget = config.max_prompt_tokens
    if budget is None and conditions is not None:
        budget = conditions.max_prompt_tokens
    lanes = max(1, min(config.batch_size, len(episodes))) if callable(getattr(agent, "act_batch", None)) else 1
    envs = [make_env(world, config, tokenizer=tokenizer, max_prompt_tokens=budget) for _ in range(lanes)]
    lookup = shop_click_types(world)
    manifest = RunManifest(
        config=json.loads(json.dumps(asdict(config), default=str)), agent=agent_identity(describe_agent(agent)),
        agent_name=agent_name, dataset={"fingerprint": _world_fingerprint(world), "train_fingerprint": None,
                                        "description": f"OPeRA-Shop-v0 world {world.describe()}", "split": "shop",
                                        "variant": "live"},
        env={"id": "OPeRA-Shop-v0", "max_prompt_tokens": envs[0].unwrapped.max_prompt_tokens,
             "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None},
        selected=[e.session_id for e in episodes], sessions=[e.session_id for e in episodes])
    done_ids: set[str] = set()
    kept: list[dict[str, Any]] = []
    if out_dir is not None and resume:
        kept, done_ids = _keep_finished_episodes(Path(out_dir))
    writer = RunWriter(out_dir, manifest, resume=resume, overwrite=overwrite) if out_dir is not None else None
    samples: list[dict[str, Any]] = list(kept)
    pending = [e for e in reversed(episodes) if e.session_id not in done_ids]
    effects: Counter = Counter()
    started = time.perf_counter()
    active: list[list[Any]] = []  # [env, episode, observation, info]
    free = list(reversed(envs))
    with writer or nullcontext(), tqdm(total=len(pending), desc=desc, unit="episode", disable=not progress) as bar:
        while pending or active:
            while pending and free:
                env, episode = free.pop(), pending.pop()
                observation, info = env.reset(options={"persona": episode.persona, "episode_seed": episode.seed})
                reset_agent(agent, info)
                active.append([env, episode, observation, info])
            texts = act_many(agent, [lane[2] for lane in active])
            still = []
            for lane, text in zip(active, texts):
                env, episode, observation, before = lane
                next_observation, _, terminated, truncated, info = env.step(text)
                observe_agent(agent, info)
                sample = _sample(episode, observation, before, info, text, lookup, config.log_prompts,
                                 done=terminated or truncated)
                effects[info["effect"]] += 1
                if writer is not None:
                    writer.append(sample)
                samples.append(sample)
                if on_step is not None:
                    on_step(sample)
                if terminated or truncated:
                    free.append(env)
                    bar.update(1)
                    if writer is not None:
                        writer.end_session()
                else:
                    still.append([env, episode, next_observation, info])
            active = still
    for env in envs:
        env.close()
    order = {e.session_id: i for i, e in enumerate(episodes)}
    samples.sort(key=lambda s: (order[s["session_id"]], s["step_index"]))
    sessions = session_summaries(samples, world)
    # With the reference law every step has a gold (the reference shopper's most likely action):
    # the rollout metrics then score the run against it, as the viewer and the scorer read them.
    metrics = None
    if samples and all(s.get("gold") for s in samples):
        metrics = evaluate([StepRecord.from_sample(s) for s in samples], lookup, n_bootstrap=config.n_bootstrap,
                           seed=config.seed)
    info = {
        **({"agent_name": agent_name} if agent_name is not None else {}),
        "agent": describe_agent(agent), "config": asdict(config), "seed": config.seed,
        "env": {"id": "OPeRA-Shop-v0", "max_prompt_tokens": envs[0].unwrapped.max_prompt_tokens, "lanes": lanes,
                "world": world.describe()},
        "simulation": {"episodes": len(episodes), "steps": len(samples), "wall_s": round(time.perf_counter() - started, 3),
                       "episodes_resumed": len(done_ids), "effects": dict(effects),
                       "truncated": sum(1 for s in samples if s.get("done") and s.get("ended") is None),
                       **_reference_counts(samples)},
        "sessions": _session_overview(sessions),
        "metrics": metrics, "metrics_gold": "reference shopper's most likely action" if metrics is not None else None,
        "conditions": {"trained": conditions.to_dict() if conditions is not None else None},
        "provenance": provenance(fingerprints={"world": _world_fingerprint(world)}),
    }
    result = SimulationResult(samples, sessions, info)
    if writer is not None:
        result.files = writer.finish({**info, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return result


def _world_fingerprint(world: ShopWorld) -> str:
    from agents.run_files import fingerprint

    return fingerprint({"world": world.describe(), "generator": _generator_version()})


def _generator_version() -> str:
    from customer_env.synthetic import GENERATOR_VERSION

    return GENERATOR_VERSION


def _keep_finished_episodes(run_dir: Path) -> tuple[list[dict[str, Any]], set[str]]:
    """Before a resume: keep the samples of finished episodes, drop those of an unfinished one
    (rewritten atomically), so the run plays the unfinished ones again from their start."""
    path = run_dir / SAMPLES_FILE
    if not path.exists():
        return [], set()
    read = read_samples(path)
    samples = [r.sample for r in read.samples]
    finished = {s["session_id"] for s in samples if s.get("done")}
    kept = [s for s in samples if s["session_id"] in finished]
    if len(kept) != len(samples) or read.torn_bytes:
        dropped = len(samples) - len(kept)
        logger.warning("%s: dropping %d sample(s) of unfinished episodes (played again from their start)", path, dropped)
        atomic_write_text(path, "".join(sample_line(s) for s in kept))
        (run_dir / RESULTS_FILE).unlink(missing_ok=True)
    return kept, finished


def _sample(episode: Episode, observation: Mapping[str, str], before: Mapping[str, Any], info: Mapping[str, Any],
            text: str, lookup: Any, log_prompts: bool, *, done: bool) -> dict[str, Any]:
    """One sample, in the rollout's format (``agents.rollout``) plus what the shop says."""
    truncation = before.get("truncation") or {}
    reference = info.get("reference")
    gold = reference["gold"] if reference else None
    predicted = info["agent_action"]
    action = Action.from_wire(predicted) if predicted else None
    sample = {
        "session_id": info["session_id"], "step_index": info["scored_step_index"], "user_id": info["user_id"],
        "persona_user_id": info["persona_user_id"], "persona_mode": info["persona_mode"],
        "completion": text, "predicted": predicted, "predicted_rationale": info.get("agent_rationale"),
        "predicted_click_type": lookup.predicted_click_type(action) if action is not None else None,
        "parse_ok": info["parse_ok"], "parse_error": None if info["parse_ok"] else info["parse_error"],
        "grounded": bool(info.get("grounded")), "rationale_error": info.get("rationale_error"),
        "gold": gold, "reward": info["reward"], "reward_components": info["reward_components"],
        "correct": (action is not None and Action.from_wire(gold).matches(action)) if gold else None,
        "human_rationale": None, "session_length": None, "session_purchased": None, "session_outcome": None,
        "prompt_tokens": before.get("prompt_tokens"), "fits": bool(before.get("fits", True)),
        "within_budget": bool(truncation.get("within_budget", True)),
        "page_elements_dropped": int(truncation.get("page_elements_dropped", 0)),
        "gold_in_prompt": None, "prompt_sha256": prompt_sha256(observation),
        "episode_seed": info["episode_seed"], "episode_number": episode.number, "url": before.get("url"),
        "page_kind": before.get("page_kind"), "effect": info["effect"], "went_back": info["went_back"],
        "submitted_search": info["submitted_search"], "ended": info["ended"], "order": info["order"],
        "reference": {k: v for k, v in reference.items() if k != "gold"} if reference else None,
        "done": done,
    }
    if done:
        sample["episode"] = info.get("episode")
    if log_prompts:
        sample["observation"] = dict(observation)
    return sample


def session_summaries(samples: Sequence[Mapping[str, Any]], world: ShopWorld) -> list[SessionSummary]:
    """One summary per episode of a simulation's samples (in their order)."""
    lookup = shop_click_types(world)
    episodes: dict[str, list[Mapping[str, Any]]] = {}
    for sample in samples:
        episodes.setdefault(sample["session_id"], []).append(sample)
    out = []
    for session_id, steps in episodes.items():
        steps = sorted(steps, key=lambda s: s["step_index"])
        persona = steps[0].get("persona_user_id") or "custom"
        traits = profile_traits(world.users[persona].profile) if persona in world.users else {}
        actions = [(Action.from_wire(s["predicted"]) if s.get("predicted") else None, s.get("effect") != "invalid")
                   for s in steps]
        out.append(summarize(session_id, persona, traits, actions, lookup))
    return out


def _session_overview(sessions: Sequence[SessionSummary]) -> dict[str, Any]:
    n = len(sessions)
    return {"episodes": n, "mean_length": sum(s.length for s in sessions) / n if n else 0.0,
            "purchase_rate": sum(s.purchased for s in sessions) / n if n else 0.0}


def _reference_counts(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    scored = [s["reference"] for s in samples if s.get("reference")]
    if not scored:
        return {"reference_law_steps": 0}
    return {"reference_law_steps": len(scored),
            "steps_in_reference_support": sum(1 for r in scored if r["in_support"]),
            "steps_on_resumed_anchor": sum(1 for r in scored if r["anchor"] == "resumed"),
            "steps_truncated": sum(1 for r in scored if r["truncated"]),
            "mean_log_probability": sum(r["log_probability"] for r in scored) / len(scored),
            "exact_match_with_reference_mode": sum(1 for s in samples if s.get("correct")) / len(samples)}


# ---- the comparison -----------------------------------------------------------------------


def reference_seed(seed: int) -> int:
    """The reference run's agent seed: another draw of the reference shopper's choices than an
    agent run with ``seed`` makes (so ``--agent reference_shopper`` measures the noise floor)."""
    return derive_rng(seed, "reference baseline").randrange(2**31 - 1)


#: What an agent's free run is compared with: the reference shopper's run in the same shop on the
#: same episodes, or the store's recorded sessions of the same personas.
AGAINST = ("reference_shopper", "recorded")


def compare_with_reference(agent_name: str, config: SimulationConfig, *, out_dir: str | Path,
                           agent_kwargs: Mapping[str, Any] | None = None, agent: Agent | None = None,
                           resume: bool = False, overwrite: bool = False, progress: bool = True,
                           on_step: Callable[[dict[str, Any]], None] | None = None,
                           against: str = "reference_shopper") -> dict[str, Any]:
    """Run ``agent_name`` and compare its sessions with the reference shoppers' of the same personas.

    Writes ``out_dir/<agent_name>/`` (a run directory) and ``out_dir/comparison.json``, and with
    ``against="reference_shopper"`` (the default) ``out_dir/reference/``: the reference shopper
    played on the same episodes with a seed of its own (:func:`reference_seed`). With
    ``against="recorded"`` the reference is the store's recorded sessions of the same personas
    (:func:`customer_env.shop.session_metrics.recorded_summaries`): the check that the live shop
    is the world the recordings come from. Returns the comparison
    (``customer_env.shop.session_metrics.compare`` under ``"comparison"``, with provenance).

    Raises:
        ValueError: ``against`` is not one of :data:`AGAINST`.
    """
    if against not in AGAINST:
        raise ValueError(f"--against {against!r}: expected one of {list(AGAINST)}")
    out_dir = Path(out_dir)
    world = build_world(config)
    if agent is None:
        agent = _make_agent(agent_name, config, agent_kwargs or {})
    run = run_simulation(agent, config, world=world, out_dir=out_dir / run_dir_name(agent_name), resume=resume,
                         overwrite=overwrite, agent_name=agent_name, progress=progress, on_step=on_step,
                         desc=agent_name)
    import agents

    if against == "recorded":
        from customer_env.shop.session_metrics import recorded_summaries

        reference_sessions = recorded_summaries(world, select_personas(world, config.personas))
        if not reference_sessions:
            raise ValueError("--against recorded: the store records no session of these personas")
        reference_info: dict[str, Any] = {"recorded_sessions": len(reference_sessions)}
        runs = {"agent": str(out_dir / run_dir_name(agent_name)), "reference": None}
    else:
        reference_config = SimulationConfig(**{**asdict(config), "reward": None, "reference_law": False})
        reference_agent = agents.make(REFERENCE_AGENT, seed=reference_seed(config.seed))
        baseline = run_simulation(reference_agent, reference_config, world=world, out_dir=out_dir / "reference",
                                  resume=resume, overwrite=overwrite, agent_name=REFERENCE_AGENT,
                                  progress=progress, desc="reference")
        reference_sessions, reference_info = baseline.sessions, baseline.info
        runs = {"agent": str(out_dir / run_dir_name(agent_name)), "reference": str(out_dir / "reference")}
    comparison = compare(run.sessions, reference_sessions, n_bootstrap=config.n_bootstrap, seed=config.seed)
    payload = {"agent_name": agent_name, "against": against,
               "reference": REFERENCE_AGENT if against == "reference_shopper" else "recorded sessions",
               "reference_seed": reference_seed(config.seed) if against == "reference_shopper" else None,
               "config": asdict(config), "world": world.describe(), "runs": runs,
               "agent_run": run.info, "reference_run": reference_info, "comparison": comparison,
               "provenance": provenance(fingerprints={"world": _world_fingerprint(world)})}
    atomic_write_text(out_dir / COMPARISON_FILE, json.dumps(payload, indent=1, default=_jsonable) + "\n")
    return json.loads(json.dumps(payload, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def run_dir_name(name: str) -> str:
    """The folder of an agent's run inside a comparison folder (its name, filesystem-safe)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "agent"


def _make_agent(name: str, config: SimulationConfig, kwargs: Mapping[str, Any]) -> Agent:
    """``agents.make`` as rollout does it (:func:`agents.rollout.make_agent`): the config's seed,
    and the training split of the config's store for the factories that take ``store``."""
    from agents.rollout import RolloutConfig, make_agent

    return make_agent(name, RolloutConfig(data=store_spec(config, split="train"), seed=config.seed), **dict(kwargs))


def store_spec(config: SimulationConfig, *, split: str = "train") -> Any:
    """The recorded store behind the shop's world (a split of it), as a :class:`customer_env.data.spec.StoreSpec`."""
    from customer_env.data.spec import EMBEDDED, StoreSpec

    return StoreSpec(source=config.source or EMBEDDED, split=split, page_scale=config.page_scale)


def plan_simulation(config: SimulationConfig, agent_name: str,
                    agent_kwargs: Mapping[str, Any]) -> tuple[SimulationConfig, dict[str, Any], list[str]]:
    """The simulation as :func:`agents.rollout.plan_evaluation` would evaluate the agent: its
    checkpoint resolved (``checkpoint=`` set to it, so the run loads the very one read) and, when
    the config leaves the page scale open on the embedded store, the scale it was trained at.

    Returns:
        The config to run, the agent's keyword arguments, and what was adopted (notes).
    """
    from dataclasses import replace as replace_config

    from agents.rollout import RolloutConfig, plan_evaluation

    plan = plan_evaluation(RolloutConfig(data=store_spec(config), seed=config.seed),
                           {agent_name: (agent_name, agent_kwargs)})
    page_scale = plan.config.data.page_scale
    adopted = config if page_scale == config.page_scale else replace_config(config, page_scale=page_scale)
    return adopted, plan.agent_kwargs[agent_name], list(plan.notes)


def read_comparison(out_dir: str | Path) -> dict[str, Any]:
    """``comparison.json`` of a comparison folder.

    Raises:
        RunFileError: It is missing or unreadable.
    """
    path = Path(out_dir) / COMPARISON_FILE
    if not path.is_file():
        raise RunFileError(f"{path}: not found (run examples/simulate.py first)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RunFileError(f"{path}: not JSON ({exc})") from None
