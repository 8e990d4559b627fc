"""Whole-session GRPO (``training/grpo.py --multi_step``): the policy acts on OPeRA-v0 through tools.

The paper's recipe (``training/grpo.py`` without ``--multi_step``, the default) trains on
independent steps: each row is one recorded step whose prompt shows the human's history, and each
completion is scored alone. ``--multi_step`` trains on episodes instead, through TRL's multi-turn
path, ``GRPOTrainer(environment_factory=...)``:

* TRL makes one :class:`OperaToolEnv` per rollout and calls ``reset(**row)``: the episode starts
  at the row's session and step (``session_id``, ``step_index``; the human's earlier steps are its
  history) and the first observation, rendered by the project's renderer
  (:func:`customer_env.prompt.messages.build_user_content`), becomes the user message.
* The policy acts by calling one of the environment's public methods as a tool:
  ``click(name)``, ``type_text(name, text)`` or ``terminate()``, each with an optional
  ``rationale``. TRL shows their signatures and docstrings to the model through the chat
  template's ``tools``, parses each call from the model's text (the template's tool-call format),
  runs the method and appends what it returns, the next observation, as the tool's answer; then the
  policy acts again. The environment replays the recording with the policy's own history
  (``history_source="agent"``, ``on_mismatch="continue"``): whatever the policy does, the next page
  is the page the human saw next, and a ``terminate`` the human did not take does not end it.
* The episode ends at the session's last step, when the policy answers without a tool call, after
  ``--max_tool_calling_iterations`` calls, or when the conversation outgrows
  ``--max_completion_length`` (TRL counts the observations in the completion and drops the one that
  does not fit; the step it answered was still taken).
* The reward (:meth:`OperaToolEnv.get_reward`, which TRL adds as a reward function of weight 1) is
  the sum of the environment's rewards over the steps the policy acted on: the per-step reward of
  ``--reward_preset`` (Customer-R1's by default), so a step never reached earns nothing. The
  weight-0 function :func:`episode_exact_match` logs ``multi_step/steps`` (actions per episode),
  ``multi_step/exact_match`` and ``multi_step/finished`` (episodes that reached the session's end).

Each tool answer is a whole observation (persona, the session so far, the current page), laid
out as a per-step prompt is, without past pages (``include_history_pages=False``): the pages of
earlier turns are in the conversation already, and those before the episode's start are left out.

The model's chat template must render tools and TRL must be able to parse its tool calls
(:func:`tool_calling_tokenizer`): Qwen2.5/Qwen3-style templates are; the tiny model's template,
which renders a plain conversation exactly as TRL's Qwen2.5 template does, is given that template.

Example:
    >>> from customer_env.data import open_store
    >>> store = open_store()                                                          # doctest: +SKIP
    >>> factory = environment_factory({"train": store}, max_prompt_tokens=4096)       # doctest: +SKIP
    >>> env = factory()                                                               # doctest: +SKIP
    >>> first_page = env.reset(session_id=store.session_ids[0], step_index=0)         # doctest: +SKIP
    >>> next_page = env.click("nav_bar.search_input", rationale="I know what I want.")  # doctest: +SKIP
    >>> env.get_reward()                                                              # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from customer_env.prompt.messages import TASK_PROMPT, build_user_content

#: The system prompt of an episode: the task, then how to act (the template adds the tools).
TOOL_SYSTEM_PROMPT = TASK_PROMPT + """

You act for the shopper by calling one of the tools, one call per turn: click an element, type \
text into an input field and submit it, or terminate to leave the session without buying anything. \
Give every call a short rationale in the shopper's own voice (first person, one or two sentences). \
Each call answers with the page the shopper sees next; act again on it. When a call says the \
session is over, stop: answer without calling a tool."""

#: The closing question of every observation in an episode.
TOOL_QUESTION = "What does this shopper do next? Call one tool."

#: The tool's answer after the session's last recorded step.
SESSION_OVER = "The session is over: that was the shopper's last action. Do not call a tool again."


@dataclass(frozen=True)
class EpisodeStep:
    """One step the policy acted on.

    Attributes:
        step_index: The session step it answered.
        completion: What the environment scored: the call written in the wire format.
        action: The wire dict of the format-valid action, or None when it did not parse.
        reward: The environment's reward for it.
        correct: Whether it matched the human's action.
    """

    step_index: int
    completion: str
    action: dict[str, Any] | None
    reward: float
    correct: bool


class OperaToolEnv:
    """One OPeRA-v0 episode per rollout, acted on through tool methods (TRL's ``environment_factory``).

    TRL exposes every public method except ``reset`` and ``get_reward`` as a tool, so this class
    has exactly three: :meth:`click`, :meth:`type_text`, :meth:`terminate`. Their docstrings are
    what the model reads (so they carry no examples); the example is here.

    Args:
        stores: The opened store of each split a row may name (``"train"``, and ``"test"`` for
            evaluation); shared read-only by every instance.
        max_prompt_tokens: The renderer's budget for each observation.
        tokenizer: Counts tokens exactly (None: the conservative estimator).
        persona_mode: ``"real"``, ``"none"`` or ``"shuffled"``.
        reward: A preset of ``customer_env.rewards``.
        reward_config: Its config fields (``training.grpo_rewards.reward_config``).

    Example:
        >>> env = OperaToolEnv({"train": store}, max_prompt_tokens=2048)         # doctest: +SKIP
        >>> print(env.reset(session_id=sid, step_index=0)[:10])                  # doctest: +SKIP
        ## Persona
        >>> env.terminate(rationale="Nothing here for me.")[:10]                 # doctest: +SKIP
        '## Persona'
        >>> env.get_reward(), env.steps[0].correct                               # doctest: +SKIP
        (1.0, False)
    """

    def __init__(self, stores: Mapping[str, Any], *, max_prompt_tokens: int, tokenizer: Any = None,
                 persona_mode: str = "real", reward: str = "customer_r1",
                 reward_config: Mapping[str, Any] | None = None) -> None:
        if not stores:
            raise ValueError("OperaToolEnv needs the store of at least one split")
        self._stores = dict(stores)
        self._env_options = dict(max_prompt_tokens=max_prompt_tokens, tokenizer=tokenizer, persona_mode=persona_mode,
                                 reward=reward, reward_config=dict(reward_config or {}),
                                 history_source="agent", on_mismatch="continue", include_history_pages=False)
        self._envs: dict[str, Any] = {}
        self._env: Any = None
        self._steps: list[EpisodeStep] = []
        self._over = False
        self._start: tuple[str, str, int] | None = None

    # ----------------------------------------------------------- TRL's contract

    def reset(self, *, session_id: str, step_index: int, split: str = "train", **row: Any) -> str:
        """Start the episode at ``step_index`` of ``session_id`` and return its first observation.

        TRL passes every column of the row; only these three are read.

        Raises:
            ValueError: A split without a store, or a session/step the store lacks.
        """
        self._env = self._env_for(split)
        observation, _ = self._env.reset(options={"session_id": session_id, "step": int(step_index)})
        self._steps = []
        self._over = False
        self._start = (split, session_id, int(step_index))
        return build_user_content(observation, question=TOOL_QUESTION)

    def get_reward(self) -> float:
        """The episode's reward: the sum of the environment's rewards of the steps acted on."""
        return float(sum(step.reward for step in self._steps))

    # ------------------------------------------------------------------ tools

    def click(self, name: str, rationale: str = "") -> str:
        """Click an element of the current page, as the shopper would.

        Args:
            name: The element's name, copied exactly from its name="..." attribute on the page.
            rationale: Why the shopper does this, in their own voice (first person, one or two sentences).

        Returns:
            The page the shopper sees next, or a note that the session is over.
        """
        return self._act({"type": "click", "name": name}, rationale)

    def type_text(self, name: str, text: str, rationale: str = "") -> str:
        """Type text into an input field of the current page and submit it, as the shopper would.

        Args:
            name: The input field's name, copied exactly from its name="..." attribute on the page.
            text: The text the shopper types.
            rationale: Why the shopper does this, in their own voice (first person, one or two sentences).

        Returns:
            The page the shopper sees next, or a note that the session is over.
        """
        return self._act({"type": "input", "name": name, "text": text}, rationale)

    def terminate(self, rationale: str = "") -> str:
        """Leave the shopping session without buying anything, as the shopper would.

        Args:
            rationale: Why the shopper leaves, in their own voice (first person, one or two sentences).

        Returns:
            The page the shopper sees next (the recording goes on if they did not leave here), or a
            note that the session is over.
        """
        return self._act({"type": "terminate"}, rationale)

    # ------------------------------------------------------------- read-only

    @property
    def steps(self) -> tuple[EpisodeStep, ...]:
        """The steps acted on so far in this episode, in order."""
        return tuple(self._steps)

    @property
    def start(self) -> tuple[str, str, int] | None:
        """Where the episode started: ``(split, session_id, step_index)``; None before ``reset``."""
        return self._start

    @property
    def finished(self) -> bool:
        """Whether the policy acted on the session's last step (the episode is over)."""
        return self._over

    # -------------------------------------------------------------- internals

    def _env_for(self, split: str) -> Any:
        if split not in self._stores:
            raise ValueError(f"row split {split!r} has no store here (have {sorted(self._stores)})")
        if split not in self._envs:
            from customer_env.env import OperaEnv

            self._envs[split] = OperaEnv(store=self._stores[split], **self._env_options)
        return self._envs[split]

    def _act(self, action: dict[str, Any], rationale: Any) -> str:
        if self._env is None:
            raise RuntimeError("no episode: reset() starts one")
        if self._over:
            raise RuntimeError("the session is over: there is no page left to act on")
        # The env parses and scores the text exactly as it does a completion in the wire format: an
        # argument the model got wrong (a blank name, a number) is a format failure, never a crash.
        text = json.dumps({"rationale": rationale, "action": action}, ensure_ascii=False)
        observation, reward, terminated, truncated, info = self._env.step(text)
        self._steps.append(EpisodeStep(step_index=int(info["scored_step_index"]), completion=text,
                                       action=info["agent_action"], reward=float(reward),
                                       correct=bool(info["correct"])))
        if terminated or truncated:
            self._over = True
            return SESSION_OVER
        return build_user_content(observation, question=TOOL_QUESTION)


def environment_factory(stores: Mapping[str, Any], *, max_prompt_tokens: int, tokenizer: Any = None,
                        persona_mode: str = "real", reward: str = "customer_r1",
                        reward_config: Mapping[str, Any] | None = None) -> Callable[[], OperaToolEnv]:
    """What ``GRPOTrainer(environment_factory=...)`` calls to make each rollout's environment (the
    arguments are :class:`OperaToolEnv`'s; every instance shares the opened stores)."""
    return functools.partial(OperaToolEnv, dict(stores), max_prompt_tokens=max_prompt_tokens, tokenizer=tokenizer,
                             persona_mode=persona_mode, reward=reward, reward_config=reward_config)


def stores_of(spec: Any, *step_data: Any) -> dict[str, Any]:
    """The opened store of each step dataset's split (None entries are ignored), from ``spec``.

    Raises:
        ValueError: A store is not the one the step dataset was exported from (its fingerprint
            differs): the episodes would replay other sessions than the rows name.
    """
    stores: dict[str, Any] = {}
    for data in step_data:
        if data is None:
            continue
        split = data.report.get("split") or spec.split
        store = stores.get(split) or spec.with_split(split).open()
        expected = data.report.get("store_fingerprint")
        if expected is not None and store.fingerprint != expected:
            raise ValueError(f"--multi_step: the {split} store of {spec.describe()} (fingerprint {store.fingerprint}) is "
                             f"not the one the step dataset was exported from ({expected})")
        stores[split] = store
    return stores


def episode_data(step_data: Any) -> Any:
    """The episodes to train on: one per row of the step dataset (``training.step_data.StepData``),
    starting at that row's step, with the episode's system prompt and an empty user message
    (``reset`` supplies the observation).

    The rows are the per-step recipe's (the same budget check, skips, ``--sessions`` and
    ``--max_examples`` sample), so both recipes start from the same steps.

    Example:
        >>> episodes = episode_data(load_step_data(tokenizer, spec, max_prompt_tokens=2048))  # doctest: +SKIP
        >>> episodes.dataset.column_names                                                    # doctest: +SKIP
        ['session_id', 'step_index', 'split', 'prompt']
    """
    from training.step_data import StepData

    split = step_data.report.get("split") or "train"
    prompt = [{"role": "system", "content": TOOL_SYSTEM_PROMPT}, {"role": "user", "content": ""}]
    rows = step_data.dataset.select_columns(["session_id", "step_index"])
    rows = rows.add_column("split", [split] * len(rows))
    rows = rows.add_column("prompt", [prompt] * len(rows))
    return StepData(dataset=rows, fingerprint=step_data.fingerprint,
                    report={**step_data.report, "episodes": len(rows)})


def tool_calling_tokenizer(tokenizer: Any) -> Any:
    """The tokenizer, with a chat template that renders tools and whose tool calls TRL parses.

    A template that already renders a tool-calling conversation is kept. One that does not is
    replaced by TRL's Qwen2.5 template if that renders plain conversations (system, user,
    assistant) to exactly the same text, which is the case of the tiny model's Qwen-like template:
    prompts without tools do not change, so the per-step recipe and the agents read the saved
    tokenizer as before. The tokenizer is changed in place and returned.

    Raises:
        ValueError: The template renders no tools and differs from Qwen2.5's: name a model whose
            chat template supports tool calling (``--model_name_or_path``).
    """
    from trl.chat_template_utils import qwen2_5_chat_template, supports_tool_calling

    if supports_tool_calling(tokenizer):
        return tokenizer
    probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]

    def rendered(template: str | None) -> tuple[str, str]:
        return (tokenizer.apply_chat_template(probe, tokenize=False, chat_template=template),
                tokenizer.apply_chat_template(probe[:2], tokenize=False, add_generation_prompt=True,
                                              chat_template=template))

    if tokenizer.chat_template is None or rendered(None) != rendered(qwen2_5_chat_template):
        raise ValueError("--multi_step: the model's chat template cannot render tool calls (the policy acts through "
                         "tools); choose a model whose template supports them with --model_name_or_path")
    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer


def episode_exact_match(prompts: Any = None, completions: Sequence[Any] = (),
                        environments: Sequence[OperaToolEnv] = (), **columns: Any) -> list[float | None]:
    """Each episode's exact-match rate over the steps it acted on (None without any): a metric,
    weighted 0. Logs ``multi_step/steps`` (actions per episode), ``multi_step/exact_match`` (over
    all actions of the batch) and ``multi_step/finished`` (episodes that reached the session's end)."""
    rates: list[float | None] = []
    for env in environments:
        steps = env.steps
        rates.append(sum(step.correct for step in steps) / len(steps) if steps else None)
    log_metric = columns.get("log_metric")
    if callable(log_metric) and environments:
        actions = [step for env in environments for step in env.steps]
        log_metric("multi_step/steps", len(actions) / len(environments))
        log_metric("multi_step/exact_match", sum(step.correct for step in actions) / len(actions) if actions else 0.0)
        log_metric("multi_step/finished", sum(env.finished for env in environments) / len(environments))
    return rates


def episode_rewards() -> tuple[list[Callable[..., list[float | None]]], list[float]]:
    """``(reward_funcs, reward_weights)`` for ``GRPOTrainer``: the logged metric at weight 0. The
    reward itself is :meth:`OperaToolEnv.get_reward`, which TRL appends with weight 1."""
    return [episode_exact_match], [0.0]


def no_tool_call_warning() -> Any:
    """A ``TrainerCallback`` that says once, when a logged batch made no tool call, that its episodes
    ended before their first action (so earned 0): a policy that never calls tools learns nothing."""
    from transformers import TrainerCallback

    class NoToolCallWarning(TrainerCallback):
        warned = False

        def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if self.warned or not logs or logs.get("tools/call_frequency") != 0:
                return
            self.warned = True
            print(f"[grpo] --multi_step: no tool call in the batch logged at step {state.global_step}: every "
                  "episode ended before its first action and earned 0 (does the model call tools?)", flush=True)

    return NoToolCallWarning()


__all__ = ["OperaToolEnv", "EpisodeStep", "environment_factory", "stores_of", "episode_data", "tool_calling_tokenizer",
           "episode_exact_match", "episode_rewards", "no_tool_call_warning", "TOOL_SYSTEM_PROMPT", "TOOL_QUESTION", "SESSION_OVER"]
