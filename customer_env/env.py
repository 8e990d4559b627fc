"""OPeRA-v0: replay recorded shopping sessions; at every step the agent predicts the next action.

An episode is one recorded session of one shopper. The observation is what a Customer-R1 policy
reads (the persona, the session so far and the current page, rendered under a token budget by
:func:`customer_env.prompt.render_observation`); the action is the completion text it writes
(the wire JSON); the reward is :func:`customer_env.rewards.compute_reward` against the action the
human really took. Replay is teacher-forced: whatever the agent does, the next page is the page
the human saw next, because a recording cannot show what a different click would have opened.

Who the agent imitates (``persona=``, ``persona_mode=``):

* ``persona=None``: every session of the store, each conditioned on its own shopper's persona;
* ``persona="<user id>"``: that user's sessions and persona;
* ``persona=<survey dict | Persona | text>``: a counterfactual, every selected session
  conditioned on the given persona instead (``info["persona_mode"] == "custom"``);
* ``persona_mode="none"`` shows no persona, ``"shuffled"`` another user's persona (a fixed
  derangement of the users drawn from ``shuffle_seed``): the paper's two ablations.

What the history shows for a past step (``history_source=``, ``on_mismatch=``):

==================  ======================  ===================================================
``history_source``  ``on_mismatch``         entry shown for a past step
==================  ======================  ===================================================
``"human"``         ``"teacher_forced"``    the human's action and rationale (the default)
``"human"``         ``"continue"``          the human's where the agent was right, else the
                                            agent's action and rationale
``"agent"``         any                     the agent's own action and rationale
any                 ``"terminate"``         as above; the episode ends at the first mismatch
==================  ======================  ===================================================

A completion that is not a valid action on the page (it does not parse, or names an element the
page lacks) has no action to show, so its step shows the human's. Steps before a mid-session
start (``reset(options={"step": k})``) are always the human's.

Only clicks on a named element, inputs and terminates are predicted (all steps of the filtered
variant); the full variant's other steps (scroll, navigation, tab switches, clicks on unnamed
elements) are replayed between them: they enter the history as the human's and are not scored.

An episode ends (``terminated``) after the last recorded step, or at the first wrong action with
``on_mismatch="terminate"``; the final observation repeats the last page. It is ``truncated``
after ``max_episode_steps`` steps (``gym.make(..., max_episode_steps=N)`` does the same through
Gymnasium's ``TimeLimit``); the observation is then the next recorded page.

``info`` describes the observation it comes with: ``session_id``, ``user_id``, ``step_index``
(the step whose page is shown), ``action_id``, ``session_length``, ``prompt_tokens``, ``fits``,
``truncation`` (the renderer's report as a dict), ``persona_mode`` and ``persona_user_id`` (whose
persona is shown; None for none or custom). After a step it also holds the scored step's
``scored_step_index``, ``scored_action_id``, ``gold_action`` (wire dict + ``click_type``), the
answer parsed once (``docs/METRICS.md``): ``agent_action`` (wire dict of the format-valid action,
on the page or not; None when it does not parse), ``agent_rationale``, ``parse_ok`` (format-valid),
``parse_error`` and ``parse_error_code`` (None when it parses), ``rationale_error`` (why no
format reward, or None), ``grounded`` (the action's element is on the rendered page), and
``reward``, ``reward_components`` and ``correct``. The gold action of a step is never in any
info before that step is scored.

Example:
    >>> import gymnasium as gym, customer_env
    >>> env = gym.make("OPeRA-v0", persona=None, max_prompt_tokens=8192)  # doctest: +SKIP
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())  # doctest: +SKIP
    >>> info["gold_action"]["type"], info["correct"]  # doctest: +SKIP
    ('click', False)
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence, Union

import gymnasium as gym
import numpy as np

from customer_env.actions import ParsedCompletion, format_completion, ground, parse_completion
from customer_env.env_options import (
    PersonaSpec,
    RewardSpec,
    _check_choice,
    _derangement,
    _open,
    _resolve_persona,
    _reward_config,
    _select_sessions,
    _token_counter,
    is_scored,
)
from customer_env.prompt import CompressedPage, HistoryItem, RenderedObservation
from customer_env.prompt import compress_page, render_observation
from customer_env.records import Action, Session
from customer_env.rewards import REWARD_PRESETS, compute_reward
from customer_env.spaces import WireActionSpace, observation_space

AgentAction = Union[str, Mapping[str, Any], Action]

PERSONA_MODES = ("real", "none", "shuffled")
ON_MISMATCH = ("continue", "teacher_forced", "terminate")
HISTORY_SOURCES = ("human", "agent")
DEFAULT_MAX_PROMPT_TOKENS = 16384
RESET_OPTIONS = frozenset({"session_id", "step"})
#: Sessions whose compressed pages stay cached (each page is compressed once while cached).
PAGE_CACHE_SESSIONS = 16


@dataclass
class _Episode:
    """The state of the episode in progress."""

    session: Session
    persona_text: str
    persona_user_id: str | None
    index: int  # the next step to score
    shown: int  # the step whose page the current observation shows
    history: list[HistoryItem] = field(default_factory=list)
    rendered: RenderedObservation | None = None
    observation: dict[str, str] = field(default_factory=dict)
    steps_taken: int = 0
    done: bool = False
    last: dict[str, Any] = field(default_factory=dict)


class OperaEnv(gym.Env[dict, str]):
    """Replay OPeRA sessions; the agent predicts each next action of a persona-conditioned shopper.

    See the module docstring for the episode, the persona modes and the history table.

    Args:
        persona: Whose behaviour to simulate: None (every user), a user id (that user's sessions
            and persona), or a survey-shaped dict, a :class:`~customer_env.records.Persona` or
            persona text (a counterfactual). Example: ``persona="324934a2-..."``.
        store: The data: a :class:`~customer_env.data.spec.StoreSpec` (e.g.
            ``store=StoreSpec(source="~/data/OPeRA", split="test")``), or an already opened store
            (trainers and tests share one; ``variant`` and ``split``, if given, must match it).
            None: the embedded synthetic store's train split.
        source, variant, split, revision, page_scale, strict: The fields of a
            :class:`~customer_env.data.spec.StoreSpec`, as keywords (``gym.make("OPeRA-v0",
            split="test")``): checked and opened by the spec, never with ``store=`` a spec.
        persona_mode: ``"real"``, ``"none"`` or ``"shuffled"``. Example: ``persona_mode="none"``.
        shuffle_seed: Seed of the user derangement of ``persona_mode="shuffled"``.
        sessions: Session ids to replay, or a count (that many sessions spread evenly over the
            selection, deterministic). Example: ``sessions=20``.
        reward: A preset of :data:`customer_env.rewards.REWARD_PRESETS` (``"customer_r1"``,
            ``"exact"``, ``"shop_r1"``) or a callable ``compute_reward`` accepts.
        reward_config: The preset's config object, or a dict of its fields. Example:
            ``reward_config={"scale": "log"}`` (see :class:`~customer_env.rewards.CustomerR1RewardConfig`).
        max_prompt_tokens: Token budget of the whole prompt. Example: ``max_prompt_tokens=32768``.
        tokenizer: A Hugging Face tokenizer or its name, to count tokens exactly; None uses the
            fast conservative estimator. Example: ``tokenizer="Qwen/Qwen2.5-7B-Instruct"``.
        include_history_pages: False lists past actions without their pages.
        history_source: ``"human"`` or ``"agent"`` (module docstring). Example: ``"agent"``.
        on_mismatch: ``"teacher_forced"``, ``"continue"`` or ``"terminate"`` (module docstring).
        render_mode: None or ``"ansi"``.
        max_episode_steps: Truncate an episode after this many steps. Example: ``5``.

    Example:
        >>> from customer_env.env import OperaEnv
        >>> env = OperaEnv(persona=None, sessions=3, render_mode="ansi")  # doctest: +SKIP
        >>> obs, info = env.reset(seed=0, options={"step": 0})  # doctest: +SKIP
        >>> print(env.render())  # doctest: +SKIP
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        persona: PersonaSpec = None,
        source: str | None = None,
        variant: str | None = None,
        split: str | None = None,
        store: Any = None,
        persona_mode: str = "real",
        shuffle_seed: int = 0,
        sessions: Sequence[str] | int | None = None,
        reward: RewardSpec = "customer_r1",
        reward_config: Mapping[str, Any] | None = None,
        max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
        tokenizer: Any = None,
        include_history_pages: bool = True,
        history_source: str = "human",
        on_mismatch: str = "teacher_forced",
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
        strict: bool = False,
        revision: str | None = None,
        page_scale: float | str | None = None,
    ) -> None:
        _check_choice("persona_mode", persona_mode, PERSONA_MODES)
        _check_choice("history_source", history_source, HISTORY_SOURCES)
        _check_choice("on_mismatch", on_mismatch, ON_MISMATCH)
        if render_mode is not None:
            _check_choice("render_mode", render_mode, self.metadata["render_modes"])
        if isinstance(reward, str):
            _check_choice("reward", reward, tuple(REWARD_PRESETS))
        elif not callable(reward):
            raise TypeError(f"reward must be a preset name or a callable, got {type(reward).__name__}")
        if not isinstance(max_prompt_tokens, (int, np.integer)) or max_prompt_tokens <= 0:
            raise ValueError(f"max_prompt_tokens must be a positive integer, got {max_prompt_tokens!r}")
        if max_episode_steps is not None and max_episode_steps <= 0:
            raise ValueError(f"max_episode_steps must be positive or None, got {max_episode_steps}")

        self.store = _open(store, source=source, variant=variant, split=split, revision=revision,
                           page_scale=page_scale, strict=strict)
        self.persona_mode = persona_mode
        self.history_source = history_source
        self.on_mismatch = on_mismatch
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self.max_prompt_tokens = int(max_prompt_tokens)
        self.include_history_pages = include_history_pages
        self.reward = reward
        self.reward_config = _reward_config(reward, reward_config)
        self.token_counter = _token_counter(tokenizer)

        replay_user, self._custom_persona = _resolve_persona(persona, self.store)
        if self._custom_persona is not None and persona_mode != "real":
            raise ValueError(f"persona_mode={persona_mode!r} ablates the recorded persona; it cannot "
                             "be combined with a given persona (dict or text)")
        self.session_ids: list[str] = _select_sessions(self.store, replay_user, sessions)
        self._lengths = {sid: len(self.store.session(sid)) for sid in self.session_ids}
        shuffled = persona_mode == "shuffled"
        self._donors = _derangement(sorted(self.store.users), shuffle_seed) if shuffled else {}

        self.observation_space = observation_space()
        self.action_space = WireActionSpace()
        self._starts = self._start_candidates()
        self._queue: list[tuple[str, int]] = []
        self._pages: OrderedDict[str, tuple[list[str], list[CompressedPage | None]]] = OrderedDict()
        self._episode: _Episode | None = None

    @property
    def page_names(self) -> tuple[str, ...]:
        """Every actionable name of the current page (the valid targets), in page order."""
        episode = self._episode
        return episode.rendered.names if episode is not None and episode.rendered is not None else ()

    # ----------------------------------------------------------------- episodes

    def _start_candidates(self) -> list[tuple[str, int]]:
        """The (session id, start step) pairs an unpinned reset draws from: every session's start."""
        return [(sid, 0) for sid in self.session_ids]

    def _episode_over(self, episode: _Episode, correct: bool) -> bool:
        if episode.index >= len(episode.session):
            return True
        return self.on_mismatch == "terminate" and not correct

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode.

        Args:
            seed: Seeds the environment's generator (and the action space's); the session comes
                from a seeded shuffled order that visits every selected session once per pass.
            options: ``{"session_id": sid}`` pins the session, ``{"session_id": sid, "step": k}``
                also starts at step ``k`` (the history holds the human's steps before it).

        Returns:
            The first observation and its info (no gold action: that comes with ``step``).

        Example:
            >>> obs, info = env.reset(options={"session_id": env.unwrapped.session_ids[0]})  # doctest: +SKIP
        """
        super().reset(seed=seed)
        if seed is not None:
            self._queue = []
            self.action_space.seed(seed)
        session_id, start = self._choose_start(options or {})
        session = self.store.session(session_id)
        persona_text, persona_user = self._persona_for(session.user_id)
        self._episode = _Episode(session=session, persona_text=persona_text,
                                 persona_user_id=persona_user, index=start, shown=start)
        self._episode.history = [self._human_item(session, i) for i in range(start)]
        self._skip_unscored(self._episode)
        self._episode.shown = self._episode.index
        self._render_current()
        return dict(self._episode.observation), self._info()

    def _choose_start(self, options: Mapping[str, Any]) -> tuple[str, int]:
        unknown = set(options) - RESET_OPTIONS
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; expected {sorted(RESET_OPTIONS)}")
        if "session_id" not in options:
            if "step" in options:
                raise ValueError("reset option 'step' needs 'session_id' too")
            if not self._queue:
                order = self.np_random.permutation(len(self._starts))
                self._queue = [self._starts[i] for i in order[::-1]]
            return self._queue.pop()
        session_id = options["session_id"]
        if session_id not in self._lengths:
            raise ValueError(f"session {session_id!r} is not among this environment's "
                             f"{len(self.session_ids)} sessions (see env.unwrapped.session_ids)")
        start = options.get("step", 0)
        if not isinstance(start, (int, np.integer)) or not 0 <= start < self._lengths[session_id]:
            raise ValueError(f"reset option step={start!r} is not a step of session {session_id!r} "
                             f"(it has {self._lengths[session_id]} steps)")
        if "step" in options and not is_scored(self.store.session(session_id).steps[start]):
            raise ValueError(f"step {start} of session {session_id!r} is not a predicted action "
                             "(see is_scored); start at a click, input or terminate")
        return session_id, int(start)

    def step(self, action: AgentAction) -> tuple[dict, float, bool, bool, dict]:
        """Score the agent's action against the human's, then move to the recorded next page.

        Args:
            action: The completion text (wire JSON), a wire dict (with or without the
                ``{"rationale", "action"}`` wrapper) or an :class:`~customer_env.records.Action`.
                A bare dict or an Action is written in the wire format with an empty rationale
                (so it earns no format reward). Text that does not parse is scored as a format
                failure; nothing is raised.

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``info`` now holds the gold
            action, the parse result, the reward components and ``correct``.

        Example:
            >>> text = '{"rationale": "Too pricey.", "action": {"type": "terminate"}}'
            >>> obs, reward, terminated, truncated, info = env.step(text)  # doctest: +SKIP
            >>> info["gold_action"], info["parse_ok"], info["correct"]  # doctest: +SKIP
            ({'type': 'click', 'name': 'reviews', 'click_type': 'review'}, True, False)
        """
        episode = self._episode
        if episode is None or episode.done:
            raise RuntimeError("call reset() before step(): the episode is over or has not started")
        session, index = episode.session, episode.index
        gold = session.steps[index].action
        text = completion_text(action)
        result = compute_reward(self.reward, text, gold, valid_names=self.page_names,
                                config=self.reward_config)
        parsed = result.parsed
        if not isinstance(parsed, ParsedCompletion):  # a custom reward that parsed nothing
            parsed = parse_completion(text, valid_names=self.page_names)
        elif parsed.grounded is None:
            parsed = ground(parsed, self.page_names)
        correct = bool(result.correct)
        episode.history.append(self._history_item(session, index, parsed, correct))
        episode.index += 1
        episode.steps_taken += 1
        self._skip_unscored(episode)
        terminated = bool(self._episode_over(episode, correct))
        truncated = (not terminated and self.max_episode_steps is not None
                     and episode.steps_taken >= self.max_episode_steps)
        episode.done = terminated or truncated
        agent_action = parsed.action if parsed.ok else None
        episode.last = {
            "scored_step_index": index,
            "scored_action_id": session.steps[index].action_id,
            "gold_action": {**gold.to_wire(), "click_type": gold.click_type},
            "agent_action": agent_action.to_wire() if agent_action is not None else None,
            "agent_rationale": parsed.rationale,
            "parse_ok": bool(parsed.ok),
            "parse_error": parsed.error,
            "parse_error_code": parsed.error_code,
            "rationale_error": parsed.rationale_error,
            "grounded": bool(parsed.grounded),
            "reward": float(result.total),
            "reward_components": {k: float(v) for k, v in result.components.items()},
            "correct": correct,
        }
        if not terminated:
            self._render_current()
        episode.shown = index if terminated else episode.index
        info = self._info()
        info.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in episode.last.items()})
        return dict(episode.observation), float(result.total), terminated, bool(truncated), info

    # ------------------------------------------------------------ observations

    def _render_current(self) -> None:
        episode = self._episode
        assert episode is not None
        step = episode.session.steps[episode.index]
        page = self._compressed(episode.session.session_id, episode.index)
        episode.rendered = render_observation(
            episode.persona_text, episode.history, page, url=step.url or "",
            max_tokens=self.max_prompt_tokens, counter=self.token_counter,
            include_history_pages=self.include_history_pages)
        episode.observation = dict(episode.rendered.observation)
        self.action_space.set_names(episode.rendered.names, page.input_names)

    def _info(self) -> dict[str, Any]:
        """Facts about the observation returned with it (never the gold action of its step)."""
        episode = self._episode
        assert episode is not None and episode.rendered is not None
        index = episode.shown
        report = episode.rendered.report
        return {
            "session_id": episode.session.session_id,
            "user_id": episode.session.user_id,
            "step_index": index,
            "action_id": episode.session.steps[index].action_id,
            "session_length": len(episode.session),
            "prompt_tokens": int(episode.rendered.prompt_tokens),
            "fits": bool(report.fits),
            "truncation": asdict(report),
            "persona_mode": self._persona_label,
            "persona_user_id": episode.persona_user_id,
        }

    @property
    def _persona_label(self) -> str:
        return "custom" if self._custom_persona is not None else self.persona_mode

    def _persona_for(self, user_id: str) -> tuple[str, str | None]:
        """The persona text shown for a session of ``user_id`` and whose persona it is."""
        if self._custom_persona is not None:
            return self._custom_persona, None
        if self.persona_mode == "none":
            return "", None
        owner = self._donors[user_id] if self.persona_mode == "shuffled" else user_id
        return self.store.users[owner].persona.to_text(), owner

    def _compressed(self, session_id: str, index: int) -> CompressedPage:
        """The session's page before step ``index``, compressed once while the session is cached."""
        entry = self._pages.get(session_id)
        if entry is None:
            raw = list(self.store.pages(session_id))
            entry = (raw, [None] * len(raw))
            self._pages[session_id] = entry
            while len(self._pages) > PAGE_CACHE_SESSIONS:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(session_id)
        raw, compressed = entry
        if compressed[index] is None:
            compressed[index] = compress_page(raw[index])
        return compressed[index]

    def _skip_unscored(self, episode: _Episode) -> None:
        """Replay the human's steps that are not predicted (full variant) into the history."""
        steps = episode.session.steps
        while episode.index < len(steps) and not is_scored(steps[episode.index]):
            episode.history.append(self._human_item(episode.session, episode.index))
            episode.index += 1

    def _human_item(self, session: Session, index: int) -> HistoryItem:
        step = session.steps[index]
        return HistoryItem(action=step.action, rationale=step.rationale, url=step.url or "",
                           compressed=self._history_page(session.session_id, index))

    def _history_item(self, session: Session, index: int, parsed: Any, correct: bool) -> HistoryItem:
        """The history entry of a scored step (see the table in the module docstring)."""
        agents_turn = self.history_source == "agent" or (self.on_mismatch == "continue" and not correct)
        if not agents_turn or not parsed.ok or not parsed.grounded or parsed.action is None:
            return self._human_item(session, index)
        step = session.steps[index]
        return HistoryItem(action=parsed.action, rationale=parsed.rationale, url=step.url or "",
                           compressed=self._history_page(session.session_id, index))

    def _history_page(self, session_id: str, index: int) -> CompressedPage | None:
        return self._compressed(session_id, index) if self.include_history_pages else None

    # ------------------------------------------------------------------ render

    def render(self) -> str | None:
        """In ``"ansi"`` mode, a few lines: the step, the persona, both actions and the reward.

        Example:
            >>> print(env.render())  # doctest: +SKIP
            OPeRA session u1_2025-... step 3/12 (user u1)
        """
        if self.render_mode is None:
            return None
        episode = self._episode
        if episode is None:
            return "OPeRA: no episode yet (call reset())"
        session = episode.session
        persona = " ".join(episode.persona_text.split()) or "(none)"
        if len(persona) > 100:
            persona = persona[:99] + "…"
        last = episode.last
        lines = [
            f"OPeRA session {session.session_id} step {episode.shown + 1}/{len(session)} "
            f"(user {session.user_id}){'  [done]' if episode.done else ''}",
            f"Persona ({self._persona_label}): {persona}",
            f"Page: {episode.observation.get('url') or '(no url)'}",
        ]
        if last:
            gold = json.dumps(last["gold_action"], ensure_ascii=False)
            agent = (json.dumps(last["agent_action"], ensure_ascii=False) if last["agent_action"]
                     else f"(unparsed: {last['parse_error']})")
            lines += [
                f"Human (step {last['scored_step_index'] + 1}): {gold}",
                f"Agent: {agent}  {'correct' if last['correct'] else 'wrong'}",
                f"Reward: {last['reward']:g}  {last['reward_components']}",
            ]
        else:
            lines.append("Human: -  Agent: -  (no step taken yet)")
        return "\n".join(lines)

    def close(self) -> None:
        """Drop the cached pages; closing twice is harmless."""
        self._pages.clear()
        self._episode = None


def completion_text(action: AgentAction) -> str:
    """The completion text the reward scores, for any accepted action form.

    Example:
        >>> completion_text({"type": "terminate"})
        '{"rationale": "", "action": {"type": "terminate"}}'
    """
    if isinstance(action, str):
        return action
    if isinstance(action, Action):
        return format_completion(action, "")
    if isinstance(action, Mapping):
        body = dict(action) if "action" in action else {"rationale": "", "action": dict(action)}
        return json.dumps(body, ensure_ascii=False)
    raise TypeError(f"an action is completion text, a wire dict or an Action, got {type(action).__name__}")
