"""OPeRA-Shop-v0: a live shop where the agent's actions change the page, with persona-driven shoppers.

OPeRA-v0 replays recordings: whatever the agent does, the next page is the human's next page.
Here the next page follows from the agent's action, in the world of the embedded synthetic store
(:mod:`customer_env.shop.world`: its catalogue, search with filters, sort and pagination, related
searches, product pages with options and reviews, cart side bar, cart page, checkout, nav bar).
Pages are written by the store's own page writers, in OPeRA's simplified-HTML style with its
semantic ids; what each element does is :mod:`customer_env.shop.transitions`, where an action
lands (the current page, a submitted search, a page of the back history) is
:mod:`customer_env.shop.state`.

Observation, action space, wire JSON and prompt rendering are OPeRA-v0's
(:func:`customer_env.prompt.render_observation`), so every agent runs in both unchanged. The
history shows the agent's own past actions (those that parsed) on the pages it took them on.

**An episode.** A persona (``persona=``: a user id, a survey dict, a
:class:`~customer_env.records.Persona` or persona text, as in OPeRA-v0; None draws a user of the
store per episode) comes to the shop; the visit's intent (the product type they came to buy),
whether they would buy, their engagement and where they open (home, a results page, a product,
the cart) are drawn from the persona by the store's generator from the episode's seed
(:func:`customer_env.shop.walker.draw_visit`). The intent is not shown, except as the recordings
show it: by the page the visit opens on. An episode ends on ``terminate``, on a purchase (buy now
or a checkout), or after ``max_episode_steps`` (``truncated``).

**Rewards** (``reward=``): None (0: pure simulation), ``"likelihood"`` (the reference shopper's
log-probability of the action), ``"outcome"`` (1 at the end for an order that fits the intent):
:mod:`customer_env.shop.rewards`. With ``reference_law=True`` (implied by ``"likelihood"``) every
step's info also holds the reference shopper's law there (:mod:`customer_env.shop.reference`).

``reset(options=...)``: ``{"persona": ...}`` sets this episode's persona; ``{"episode_seed": n}``
pins the episode (otherwise drawn from the environment's generator); ``{"session_id": sid}``
starts a recorded session of the store instead (its user, up-front decisions and first page; the
shop's drawn pages then come from the recording: the consistency replay).

``info`` (reset and step): ``session_id`` (the episode's id), ``user_id`` and ``persona_user_id``
(None for a given persona), ``persona_mode`` (``real`` or ``custom``), ``persona_profile`` (what
the behaviour model reads), ``episode_seed``, ``world``, ``step_index`` (the step whose page is
shown), ``url``, ``page_kind``, ``prompt_tokens``, ``fits``, ``truncation``, and ``session``: the
session so far (``steps``, ``actions`` as wire dicts, ``cart`` lines). After a step also
``scored_step_index``, the parse as OPeRA-v0 reports it (``agent_action``, ``agent_rationale``,
``parse_ok``, ``parse_error``, ``parse_error_code``, ``rationale_error``, ``grounded``: on the
shown page), what the action did (``effect``: ``navigated``, ``no_effect``, ``invalid`` or
``ended``; ``went_back``: pages gone back first; ``submitted_search``; ``invalid_reason``),
``ended`` (``purchase``, ``terminate`` or None), ``order`` (the products bought), ``reward``,
``reward_components``, and with the reference law ``reference`` (the law's most likely action as
``gold`` with its click type, the action's ``probability`` and ``log_probability``,
``in_support``, ``anchor``, ``runs``, ``paths``, ``truncated``, ``reanchors`` so far). At the end of
an episode ``episode`` holds its summary (intent, steps, outcome, re-anchors).

Example:
    >>> import gymnasium as gym, customer_env
    >>> env = gym.make("OPeRA-Shop-v0", persona=None, seed=0, page_scale=0.05)  # doctest: +SKIP
    >>> obs, info = env.reset()  # doctest: +SKIP
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())  # doctest: +SKIP
    >>> info["effect"]  # doctest: +SKIP
    'navigated'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from customer_env.actions import ParsedCompletion, parse_completion
from customer_env.env import DEFAULT_MAX_PROMPT_TOKENS, AgentAction, completion_text
from customer_env.env_options import _token_counter
from customer_env.metrics import ClickTypeLookup
from customer_env.prompt import CompressedPage, HistoryItem, RenderedObservation, render_observation
from customer_env.records import Action
from customer_env.shop.draws import WorldDraws
from customer_env.shop.episodes import EpisodeStart, live_start, recorded_start
from customer_env.shop.persona import PersonaSpec, ShopPersona, resolve_persona
from customer_env.shop.reference import ReferenceLaw, ReferenceTracker
from customer_env.shop.rewards import DEFAULT_LIKELIHOOD_FLOOR, SHOP_REWARDS, likelihood_reward, outcome_reward
from customer_env.shop.state import ShopState
from customer_env.shop.transitions import Transition, apply_action
from customer_env.shop.walker import Visit
from customer_env.shop.world import ShopWorld
from customer_env.spaces import WireActionSpace, observation_space
from customer_env.synthetic import views
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.session_records import MAX_STEPS

RESET_OPTIONS = frozenset({"persona", "episode_seed", "session_id"})
#: Longest episode by default: the generator's shoppers end by then (they terminate at this many steps).
DEFAULT_MAX_EPISODE_STEPS = MAX_STEPS


@dataclass
class _Episode:
    persona: ShopPersona
    visit: Visit
    draws: WorldDraws
    state: ShopState
    session_id: str
    episode_seed: int
    key: tuple[object, ...]
    recorded: str | None = None
    shown: list[views.View] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    pages: dict[views.View, CompressedPage] = field(default_factory=dict)
    rendered: RenderedObservation | None = None
    observation: dict[str, str] = field(default_factory=dict)
    tracker: ReferenceTracker | None = None
    steps: int = 0
    done: bool = False
    out_of_support: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class OperaShopEnv(gym.Env[dict, str]):
    """The live shop (see the module docstring).

    Args:
        persona: Who shops: None (a user of the store drawn per episode), a user id, a survey
            dict, a Persona or persona text. Example: ``persona="850e6689-..."``.
        seed: Seed of the first ``reset()`` that is given none (later resets continue its stream).
        source: A synthetic store directory (its manifest names its world); None: the embedded
            default store's world.
        world: An already built :class:`~customer_env.shop.world.ShopWorld` instead of ``source``.
        reward: None, ``"likelihood"`` or ``"outcome"``.
        likelihood_floor: The probability a zero-probability action is scored at.
        reference_law: Compute the reference shopper's law at every step (info ``reference``);
            None: only when the reward needs it.
        max_episode_steps: Truncate after this many steps.
        max_prompt_tokens: Token budget of the whole prompt (as OPeRA-v0).
        tokenizer: A Hugging Face tokenizer or its name, to count tokens exactly.
        include_history_pages: False lists past actions without their pages.
        page_scale: Page length relative to real pages (None: 1.0, real lengths, or a
            ``source`` store's own scale; named elements are the same at every scale).
        render_mode: None or ``"ansi"``.
        max_runs: The reference tracker's cap on consistent runs (see :mod:`customer_env.shop.reference`).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        persona: PersonaSpec = None,
        seed: int | None = None,
        source: str | None = None,
        world: ShopWorld | None = None,
        reward: str | None = None,
        likelihood_floor: float = DEFAULT_LIKELIHOOD_FLOOR,
        reference_law: bool | None = None,
        max_episode_steps: int | None = DEFAULT_MAX_EPISODE_STEPS,
        max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
        tokenizer: Any = None,
        include_history_pages: bool = True,
        page_scale: float | str | None = None,
        render_mode: str | None = None,
        max_runs: int | None = None,
    ) -> None:
        from customer_env.data.embedded import resolve_page_scale

        if reward not in SHOP_REWARDS:
            raise ValueError(f"reward={reward!r} is not one of {list(SHOP_REWARDS)}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r} is not one of {self.metadata['render_modes']}")
        if not isinstance(max_prompt_tokens, (int, np.integer)) or max_prompt_tokens <= 0:
            raise ValueError(f"max_prompt_tokens must be a positive integer, got {max_prompt_tokens!r}")
        if max_episode_steps is not None and max_episode_steps <= 0:
            raise ValueError(f"max_episode_steps must be positive or None, got {max_episode_steps}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        likelihood_reward(1.0, likelihood_floor)  # checks the floor
        if world is not None and (source is not None or page_scale is not None):
            raise ValueError("give either world= or the options that build one (source=, page_scale=), not both")
        if world is None:
            world = (ShopWorld.from_store(source, page_scale=None if page_scale is None else resolve_page_scale(page_scale))
                     if source else ShopWorld.build(page_scale=resolve_page_scale(page_scale)))
        self.world = world
        self.reward = reward
        self.likelihood_floor = float(likelihood_floor)
        self.reference_law = bool(reward == "likelihood" if reference_law is None else reference_law)
        if reward == "likelihood" and not self.reference_law:
            raise ValueError("reward='likelihood' needs the reference law (reference_law=True or None)")
        self.max_episode_steps = max_episode_steps
        self.max_prompt_tokens = int(max_prompt_tokens)
        self.include_history_pages = include_history_pages
        self.render_mode = render_mode
        self.max_runs = max_runs
        self.token_counter = _token_counter(tokenizer)
        self._persona = None if persona is None else resolve_persona(world, persona)
        self._default_seed = None if seed is None else int(seed)
        self._seeded = False
        self.observation_space = observation_space()
        self.action_space = WireActionSpace()
        self._episode: _Episode | None = None
        self._types_by_asin = {p.asin: p.type_name for p in world.catalogue.products}

    # ---- properties -----------------------------------------------------------------------

    @property
    def page_names(self) -> tuple[str, ...]:
        """Every actionable name of the shown page, in page order."""
        episode = self._episode
        return episode.rendered.names if episode is not None and episode.rendered is not None else ()

    @property
    def state(self) -> ShopState | None:
        """The episode's state (None before the first reset)."""
        return self._episode.state if self._episode is not None else None

    @property
    def visit(self) -> Visit | None:
        """The episode's hidden up-front decisions and first page (for harnesses, never agents)."""
        return self._episode.visit if self._episode is not None else None

    @property
    def persona(self) -> ShopPersona | None:
        """The episode's persona."""
        return self._episode.persona if self._episode is not None else None

    @property
    def click_types(self) -> ClickTypeLookup:
        """Click types of the shop's elements (from every recorded click of its world)."""
        return shop_click_types(self.world)

    @property
    def tracker(self) -> ReferenceTracker | None:
        """The episode's reference tracker (None without the reference law)."""
        return self._episode.tracker if self._episode is not None else None

    # ---- episodes -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode (see the module docstring for ``options``).

        Raises:
            ValueError: An unknown option, an unknown session, a bad persona.
        """
        if seed is None and not self._seeded and self._default_seed is not None:
            seed = self._default_seed
        super().reset(seed=seed)
        if seed is not None:
            self._seeded = True
            self.action_space.seed(seed)
        options = dict(options or {})
        unknown = set(options) - RESET_OPTIONS
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; expected {sorted(RESET_OPTIONS)}")
        drawn = int(self.np_random.integers(2**31 - 1))  # drawn whatever the options, so streams stay aligned
        if "session_id" in options:
            if "persona" in options or "episode_seed" in options:
                raise ValueError("reset option 'session_id' replays a recorded session: it takes no persona or episode_seed")
            self._episode = self._recorded_episode(str(options["session_id"]))
        else:
            episode_seed = options.get("episode_seed", drawn)
            if isinstance(episode_seed, bool) or not isinstance(episode_seed, (int, np.integer)) or episode_seed < 0:
                raise ValueError(f"reset option episode_seed={episode_seed!r} must be an int >= 0")
            persona = self._persona_for(options, int(episode_seed))
            self._episode = self._live_episode(persona, int(episode_seed))
        self._show(self._episode.state.page)
        return dict(self._episode.observation), self._info()

    def _persona_for(self, options: Mapping[str, Any], episode_seed: int) -> ShopPersona:
        if options.get("persona") is not None:
            return resolve_persona(self.world, options["persona"])
        if self._persona is not None:
            return self._persona
        users = self.world.user_ids
        user = users[derive_rng(self.world.inputs.seed, "shop-persona", episode_seed).randrange(len(users))]
        return resolve_persona(self.world, user)

    def _live_episode(self, persona: ShopPersona, episode_seed: int) -> _Episode:
        start = live_start(self.world, persona.profile, episode_seed)
        who = persona.user_id or "custom"
        return self._begin(persona, start, f"shop-{who}-{episode_seed}", episode_seed)

    def _recorded_episode(self, session_id: str) -> _Episode:
        start = recorded_start(self.world, session_id)
        planned = self.world.sessions[session_id]
        persona = resolve_persona(self.world, planned.user.user_id)
        return self._begin(persona, start, session_id, planned.index, recorded=session_id)

    def _begin(self, persona: ShopPersona, start: EpisodeStart, session_id: str, episode_seed: int,
               recorded: str | None = None) -> _Episode:
        visit = start.visit
        state = ShopState(page=visit.first_page, cart=visit.start.cart, intent=visit.start.intent)
        tracker = None
        if self.reference_law:
            limits = {"max_runs": self.max_runs} if self.max_runs is not None else {}
            tracker = ReferenceTracker(self.world, start.draws, persona.profile, visit, **limits)
        return _Episode(persona=persona, visit=visit, draws=start.draws, state=state, session_id=session_id,
                        episode_seed=episode_seed, key=start.key, recorded=recorded, tracker=tracker)

    def step(self, action: AgentAction) -> tuple[dict, float, bool, bool, dict]:
        """Apply the agent's action to the shop and show the page it leads to.

        Args:
            action: Completion text (wire JSON), a wire dict or an Action (as OPeRA-v0 takes).
                Text that does not parse is a format failure: nothing happens in the shop.

        Returns:
            ``(observation, reward, terminated, truncated, info)``.
        """
        episode = self._episode
        if episode is None or episode.done:
            raise RuntimeError("call reset() before step(): the episode is over or has not started")
        text = completion_text(action)
        parsed: ParsedCompletion = parse_completion(text, valid_names=self.page_names)
        shown_page = episode.state.page
        law: ReferenceLaw | None = episode.tracker.law() if episode.tracker is not None else None
        if parsed.ok and parsed.action is not None:
            transition = apply_action(self.world, episode.draws, episode.state, parsed.action)
        else:
            transition = Transition(episode.state, "invalid", _nowhere(), "the completion is not a valid action")
        acted = parsed.action if parsed.ok and transition.effect != "invalid" else None
        index = episode.steps
        episode.state = transition.state
        episode.steps += 1
        if parsed.ok and parsed.action is not None:
            episode.history.append(HistoryItem(action=parsed.action, rationale=parsed.rationale,
                                               url=self.world.url(shown_page), compressed=self._page(shown_page)))
            episode.actions.append(parsed.action.to_wire())
        terminated = transition.state.ended is not None
        truncated = not terminated and self.max_episode_steps is not None and episode.steps >= self.max_episode_steps
        episode.done = terminated or truncated
        reference = None
        if law is not None and episode.tracker is not None:
            probability = law.probability(acted)
            in_support = episode.tracker.observe(acted, transition.state, [*episode.shown, transition.state.page]) \
                if not episode.done else probability > 0
            episode.out_of_support += not in_support
            gold = law.most_likely()
            reference = {"gold": {**gold.to_wire(), "click_type": gold.click_type}, "probability": probability,
                         "log_probability": likelihood_reward(probability, self.likelihood_floor),
                         "in_support": bool(in_support), "anchor": law.anchor, "runs": law.runs,
                         "paths": law.paths, "truncated": law.truncated,
                         "reanchors": episode.tracker.reanchors}
        reward, components = self._reward(reference, episode, terminated)
        episode.last = {
            "scored_step_index": index,
            "agent_action": parsed.action.to_wire() if parsed.ok and parsed.action is not None else None,
            "agent_rationale": parsed.rationale,
            "parse_ok": bool(parsed.ok), "parse_error": parsed.error, "parse_error_code": parsed.error_code,
            "rationale_error": parsed.rationale_error, "grounded": bool(parsed.grounded),
            "effect": transition.effect, "went_back": transition.location.back,
            "submitted_search": transition.location.submitted, "invalid_reason": transition.reason,
            "ended": transition.state.ended, "order": list(transition.state.order or []) or None,
            "reward": float(reward), "reward_components": components,
        }
        if reference is not None:
            episode.last["reference"] = reference
        if not terminated:
            self._show(transition.state.page)
        info = self._info()
        info.update(episode.last)
        if episode.done:
            info["episode"] = self._summary(episode, truncated)
        return dict(episode.observation), float(reward), terminated, bool(truncated), info

    def _reward(self, reference: dict[str, Any] | None, episode: _Episode, terminated: bool) -> tuple[float, dict[str, float]]:
        if self.reward == "likelihood":
            assert reference is not None
            value = float(reference["log_probability"])
            return value, {"likelihood": value}
        if self.reward == "outcome":
            value = outcome_reward(episode.state.order, self._types_by_asin, episode.visit.start.intent) \
                if episode.done else 0.0
            return value, {"outcome": value}
        return 0.0, {}

    # ---- observations -------------------------------------------------------------------

    def _page(self, view: views.View) -> CompressedPage:
        episode = self._episode
        assert episode is not None
        page = episode.pages.get(view)
        if page is None:
            page = self.world.page(view, key=episode.key, deliver_to=episode.persona.location)
            episode.pages[view] = page
        return page

    def _show(self, view: views.View) -> None:
        episode = self._episode
        assert episode is not None
        page = self._page(view)
        episode.shown.append(view)
        episode.rendered = render_observation(
            episode.persona.text, episode.history, page, url=self.world.url(view),
            max_tokens=self.max_prompt_tokens, counter=self.token_counter,
            include_history_pages=self.include_history_pages)
        episode.observation = dict(episode.rendered.observation)
        self.action_space.set_names(episode.rendered.names, page.input_names)

    def _info(self) -> dict[str, Any]:
        episode = self._episode
        assert episode is not None and episode.rendered is not None
        report = episode.rendered.report
        page = episode.state.page
        return {
            "session_id": episode.session_id,
            "user_id": episode.persona.user_id,
            "persona_user_id": episode.persona.user_id,
            "persona_mode": episode.persona.mode,
            "persona_profile": episode.persona.profile_dict(),
            "profile_source": episode.persona.profile_source,
            "episode_seed": episode.episode_seed,
            "recorded_session": episode.recorded,
            "world": self.world.describe(),
            "step_index": episode.steps,
            "url": self.world.url(page),
            "page_kind": page.kind,
            "prompt_tokens": int(episode.rendered.prompt_tokens),
            "fits": bool(report.fits),
            "truncation": asdict(report),
            "session": {"steps": episode.steps, "actions": [dict(a) for a in episode.actions],
                        "cart": [{"asin": line.asin, "quantity": line.quantity, "selected": line.selected}
                                 for line in episode.state.cart]},
        }

    def _summary(self, episode: _Episode, truncated: bool) -> dict[str, Any]:
        start = episode.visit.start
        tracker = episode.tracker
        return {"intent": start.intent, "would_buy": start.will_buy, "opening": start.opening,
                "steps": episode.steps, "ended": episode.state.ended or ("truncated" if truncated else None),
                "order": list(episode.state.order or []) or None,
                "out_of_support_steps": episode.out_of_support if tracker is not None else None,
                "reanchors": tracker.reanchors if tracker is not None else None,
                "truncations": tracker.truncations if tracker is not None else None}

    # ---- render ------------------------------------------------------------------------

    def render(self) -> str | None:
        """In ``"ansi"`` mode, a few lines: the episode, the page, the last action and what it did."""
        if self.render_mode is None:
            return None
        episode = self._episode
        if episode is None:
            return "OPeRA-Shop: no episode yet (call reset())"
        persona = " ".join(episode.persona.text.split()) or "(none)"
        lines = [f"OPeRA-Shop episode {episode.session_id} step {episode.steps}{'  [done]' if episode.done else ''}",
                 f"Persona ({episode.persona.mode}): {persona[:99] + '…' if len(persona) > 100 else persona}",
                 f"Page: {episode.state.page.kind} {self.world.url(episode.state.page)}"]
        last = episode.last
        if last:
            agent = json.dumps(last["agent_action"]) if last["agent_action"] else f"(unparsed: {last['parse_error']})"
            lines.append(f"Agent: {agent} -> {last['effect']}  reward {last['reward']:g}")
        return "\n".join(lines)

    def close(self) -> None:
        """Forget the episode; closing twice is harmless."""
        self._episode = None


def _nowhere() -> Any:
    from customer_env.shop.state import Location

    return Location(None)


def shop_click_types(world: ShopWorld) -> ClickTypeLookup:
    """The click type of every element the store's shoppers click (their recorded clicks), names
    never clicked read from their patterns (:class:`~customer_env.metrics.ClickTypeLookup`)."""
    return _click_types(world)


@lru_cache(maxsize=8)
def _click_types(world: ShopWorld) -> ClickTypeLookup:
    actions = [Action(s.action.type, s.action.name, s.action.text, s.action.click_type)
               for planned in world.plan.sessions for s in planned.sim.steps if s.action.type == "click"]
    return ClickTypeLookup.from_actions(actions)
