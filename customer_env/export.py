"""Step-level datasets for trainers: one row per predicted step, prompts exactly as the env shows.

Every row is produced by driving :class:`~customer_env.env.OperaEnv` through the session with
teacher-forced human history, so ``prompt`` is ``build_messages(observation)`` of the very
observation the environment returns at that step (same renderer, same budget, same persona
mode): what a policy is trained on is what it is evaluated on.

The target completion uses the shopper's own rationale when the step has one. Most steps have
none (about 3.5% of OPeRA steps do), so ``rationale_fill`` decides: ``"template"`` writes a short
deterministic sentence derived from the action ("I'll open the reviews."), ``"empty"`` leaves it
blank. The ``rationale_source`` column (``human`` / ``template`` / ``empty``) says which, so a
generated rationale is never taken for a human one.

Columns: ``prompt`` (system + user messages), ``completion`` (one assistant message),
``gold_type``, ``gold_name``, ``gold_text``, ``gold_click_type``, ``page_names`` (JSON list),
``session_id``, ``step_index``, ``user_id``, ``human_rationale``, ``rationale_source``,
``persona_mode``, ``prompt_tokens``, ``fits``.

Example:
    >>> from customer_env.export import export_step_dataset
    >>> ds = export_step_dataset({"source": None, "sessions": 5}, progress=False)  # doctest: +SKIP
    >>> ds[0]["completion"][0]["content"]  # doctest: +SKIP
    '{"rationale": "I\\'ll search for what I need.", "action": {...}}'
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from tqdm.auto import tqdm

from customer_env.actions import format_completion
from customer_env.env import OperaEnv, is_scored
from customer_env.prompt import build_messages
from customer_env.records import Action

if TYPE_CHECKING:
    import datasets

RATIONALE_FILLS = ("template", "empty")

#: What the template rationale says for a click, by click type.
_CLICK_TEMPLATES = {
    "purchase": "I'm ready to buy, so I'll go ahead with {target}.",
    "search": "I'll run the search.",
    "review": "I'll open the reviews.",
    "filter": "I'll narrow the results with {target}.",
    "quantity": "I'll change the quantity.",
    "product_option": "I'll pick the {target} option.",
    "cart_side_bar": "I'll check my cart.",
    "suggested_term": "I'll use the suggested search {target}.",
    "nav_bar": "I'll use the navigation bar: {target}.",
    "page_related": "I'll look at {target} on this page.",
    "cart_page_select": "I'll update my cart: {target}.",
    "product_link": "I'll open this product to see the details.",
}
_TARGET_CHARS = 60

#: Options the export fixes, because the rows must show the human's teacher-forced history.
_FIXED_ENV_OPTIONS = {"history_source": "human", "on_mismatch": "teacher_forced"}


def template_rationale(action: Action) -> str:
    """A short, deterministic first-person rationale derived from the action alone.

    Example:
        >>> template_rationale(Action("click", "reviews", click_type="review"))
        "I'll open the reviews."
        >>> template_rationale(Action("input", "nav_bar.search_input", "rice cooker"))
        "I'll search for rice cooker."
    """
    if action.type == "terminate":
        return "I've seen enough, so I'll stop here."
    target = _readable(action.name or "")
    if action.type == "input":
        return f"I'll search for {action.text}." if action.text else f"I'll fill in {target}."
    template = _CLICK_TEMPLATES.get(action.click_type or "", "I'll click {target}.")
    return template.format(target=target)


def _readable(name: str) -> str:
    words = " ".join(name.rsplit(".", 1)[-1].replace("_", " ").split())
    return words if len(words) <= _TARGET_CHARS else words[: _TARGET_CHARS - 1].rstrip() + "…"


def _make_env(store_or_env_kwargs: Any, split: str | None, options: dict[str, Any]) -> OperaEnv:
    """The env whose observations become the rows; refuses options that contradict the export."""
    if isinstance(store_or_env_kwargs, Mapping):
        kwargs = dict(store_or_env_kwargs)
        if split is not None:
            options["split"] = split
    else:
        store = store_or_env_kwargs
        if split is not None and getattr(store, "split", split) != split:
            raise ValueError(f"split={split!r} but the given store holds split {store.split!r}")
        kwargs = {"store": store}
    for key, value in {**options, **_FIXED_ENV_OPTIONS}.items():
        if key in kwargs and kwargs[key] != value:
            raise ValueError(f"env option {key}={kwargs[key]!r} conflicts with the export's {key}={value!r}")
        kwargs[key] = value
    kwargs.pop("render_mode", None)  # rendering never changes an observation
    return OperaEnv(**kwargs)


def iter_step_examples(
    store_or_env_kwargs: Any,
    *,
    split: str | None = None,
    max_prompt_tokens: int | None = None,
    tokenizer: Any = None,
    persona_mode: str | None = None,
    rationale_fill: str = "template",
    progress: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield one training example per predicted step (the rows of :func:`export_step_dataset`).

    Args:
        store_or_env_kwargs: An opened store, or keyword arguments of
            :class:`~customer_env.env.OperaEnv` (``source``, ``variant``, ``persona``,
            ``sessions``, ...) to open one and select sessions.
        split: With env kwargs, the split to open (default ``"train"``); with a store, a check
            that the store holds this split.
        max_prompt_tokens: The prompt budget; None keeps the env kwargs' value or the env's
            default (16384).
        tokenizer: A Hugging Face tokenizer or its name for exact counts; None keeps the env
            kwargs' value or the fast estimator.
        persona_mode: ``"real"``, ``"none"`` or ``"shuffled"``; None keeps the env kwargs' value
            or ``"real"``.
        rationale_fill: For steps without a human rationale: ``"template"`` or ``"empty"``.
        progress: Show a progress bar over steps.

    Yields:
        One dict per step, keys as in the module docstring, sessions in the env's order.

    Raises:
        ValueError: For an unknown ``rationale_fill``, or env options that contradict the
            export (e.g. ``history_source="agent"``).
    """
    if rationale_fill not in RATIONALE_FILLS:
        raise ValueError(f"rationale_fill={rationale_fill!r} is not one of {list(RATIONALE_FILLS)}")
    given = {"max_prompt_tokens": max_prompt_tokens, "persona_mode": persona_mode, "tokenizer": tokenizer}
    options = {key: value for key, value in given.items() if value is not None}
    env = _make_env(store_or_env_kwargs, split, options)  # errors surface here, not at first row
    return _examples(env, rationale_fill, progress)


def _examples(env: OperaEnv, rationale_fill: str, progress: bool) -> Iterator[dict[str, Any]]:
    scored = {sid: [s for s in env.store.session(sid).steps if is_scored(s)] for sid in env.session_ids}
    bar = tqdm(total=sum(map(len, scored.values())), desc="exporting steps", unit="step",
               disable=not progress)
    try:
        for session_id, steps in scored.items():
            observation, info = env.reset(options={"session_id": session_id})
            for position, step in enumerate(steps):
                yield _row(env, observation, info, step, rationale_fill)
                bar.update(1)
                if position + 1 < len(steps):
                    observation, _, _, _, info = env.step(step.action)
    finally:
        bar.close()
        env.close()


def _row(env: OperaEnv, observation: dict[str, str], info: dict[str, Any], step: Any,
         rationale_fill: str) -> dict[str, Any]:
    if info["step_index"] != step.index:  # the env and the export must walk the same steps
        raise RuntimeError(f"export out of step: env shows step {info['step_index']} of "
                           f"{info['session_id']!r}, expected {step.index}")
    gold: Action = step.action
    human = step.rationale if step.rationale and step.rationale.strip() else None
    if human is not None:
        rationale, source = human, "human"
    elif rationale_fill == "template":
        rationale, source = template_rationale(gold), "template"
    else:
        rationale, source = "", "empty"
    target = Action(gold.type, gold.name, gold.text)  # agents never emit the click type
    return {
        "prompt": build_messages(observation),
        "completion": [{"role": "assistant", "content": format_completion(target, rationale)}],
        "gold_type": gold.type,
        "gold_name": gold.name,
        "gold_text": gold.text if gold.type == "input" else None,
        "gold_click_type": gold.click_type,
        "page_names": json.dumps(list(env.page_names), ensure_ascii=False),
        "session_id": info["session_id"],
        "step_index": int(info["step_index"]),
        "user_id": info["user_id"],
        "human_rationale": human,
        "rationale_source": source,
        "persona_mode": info["persona_mode"],
        "prompt_tokens": int(info["prompt_tokens"]),
        "fits": bool(info["fits"]),
    }


def export_step_dataset(
    store_or_env_kwargs: Any,
    *,
    split: str | None = None,
    max_prompt_tokens: int | None = None,
    tokenizer: Any = None,
    persona_mode: str | None = None,
    rationale_fill: str = "template",
    progress: bool = True,
) -> "datasets.Dataset":
    """A :class:`datasets.Dataset` with one row per step (see :func:`iter_step_examples`).

    Example:
        >>> ds = export_step_dataset({"persona": None, "sessions": 3}, progress=False)  # doctest: +SKIP
        >>> ds.column_names[:2]  # doctest: +SKIP
        ['prompt', 'completion']
    """
    import datasets  # heavy: only when a dataset is asked for

    rows = list(iter_step_examples(
        store_or_env_kwargs, split=split, max_prompt_tokens=max_prompt_tokens, tokenizer=tokenizer,
        persona_mode=persona_mode, rationale_fill=rationale_fill, progress=progress))
    return datasets.Dataset.from_list(rows, features=_features(datasets))


def _features(datasets: Any) -> Any:
    """Explicit column types, so that a column that happens to be all null keeps its type."""
    text = datasets.Value("string")
    message = {"role": text, "content": text}
    return datasets.Features({
        "prompt": datasets.List(message) if hasattr(datasets, "List") else [message],
        "completion": datasets.List(message) if hasattr(datasets, "List") else [message],
        "gold_type": text, "gold_name": text, "gold_text": text, "gold_click_type": text,
        "page_names": text, "session_id": text, "step_index": datasets.Value("int32"),
        "user_id": text, "human_rationale": text, "rationale_source": text, "persona_mode": text,
        "prompt_tokens": datasets.Value("int32"), "fits": datasets.Value("bool"),
    })
