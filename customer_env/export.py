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

This module owns the step dataset's schema (:data:`STEP_COLUMNS`): ``prompt`` (system + user
messages), ``completion`` (one assistant message), the gold columns :data:`GOLD_COLUMNS`
(``gold_type``, ``gold_name``, ``gold_text``, ``gold_click_type``), ``page_names`` (the page's
names as a JSON list: :func:`encode_page_names` / :func:`decode_page_names`), ``session_id``,
``step_index``, ``user_id``, ``human_rationale``, ``rationale_source``, ``persona_mode``,
``prompt_tokens``, ``fits``. Trainers and reward functions import these names (and
:func:`gold_from_columns`) instead of spelling them.

``python -m customer_env.export --out DIR`` writes both splits as a ``datasets.DatasetDict``
whose ``DatasetInfo`` carries OPeRA's licence (CC-BY-4.0, research purposes only) and the
citations; ``--push-to-hub REPO`` uploads it.

Example:
    >>> from customer_env.export import export_step_dataset
    >>> ds = export_step_dataset({"source": None, "sessions": 5}, progress=False)  # doctest: +SKIP
    >>> ds[0]["completion"][0]["content"]  # doctest: +SKIP
    '{"rationale": "I\\'ll search for what I need.", "action": {...}}'
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterator, Mapping, Sequence

from tqdm.auto import tqdm

from customer_env.actions import format_completion
from customer_env.command_line import CommandLineParser, positive_int
from customer_env.env import OperaEnv, is_scored
from customer_env.prompt import build_messages
from customer_env.records import Action

if TYPE_CHECKING:
    import datasets

RATIONALE_FILLS = ("template", "empty")

#: The step dataset's columns, in order, and the kind of each: the one definition of the schema.
STEP_COLUMNS: dict[str, str] = {
    "prompt": "messages", "completion": "messages",
    "gold_type": "string", "gold_name": "string", "gold_text": "string", "gold_click_type": "string",
    "page_names": "string", "session_id": "string", "step_index": "int32", "user_id": "string",
    "human_rationale": "string", "rationale_source": "string", "persona_mode": "string",
    "prompt_tokens": "int32", "fits": "bool",
}
#: TRL's conversational prompt-completion columns (what SFT trains on).
CONVERSATION_COLUMNS = ("prompt", "completion")
#: The columns that hold the recorded action (what reward functions score against).
GOLD_COLUMNS = ("gold_type", "gold_name", "gold_text", "gold_click_type")
#: The column holding the current page's names (the valid targets), a JSON list.
PAGE_NAMES_COLUMN = "page_names"

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
        PAGE_NAMES_COLUMN: encode_page_names(env.page_names),
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
    return datasets.Dataset.from_list(rows, features=step_features(datasets))


def step_features(datasets: Any = None) -> Any:
    """The ``datasets.Features`` of :data:`STEP_COLUMNS` (explicit, so that a column that happens
    to be all null keeps its type)."""
    if datasets is None:
        import datasets
    text = datasets.Value("string")
    message = {"role": text, "content": text}
    messages = datasets.List(message) if hasattr(datasets, "List") else [message]
    kinds = {"messages": messages, "string": text, "int32": datasets.Value("int32"), "bool": datasets.Value("bool")}
    return datasets.Features({name: kinds[kind] for name, kind in STEP_COLUMNS.items()})


def encode_page_names(names: Sequence[str]) -> str:
    """The ``page_names`` value of a row: the page's names as a JSON list, in page order."""
    return json.dumps(list(names), ensure_ascii=False)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def decode_page_names(value: Any, row: int) -> frozenset[str] | None:
    """The names of a ``page_names`` value (None when the value is missing).

    Raises:
        ValueError: Naming the row, when the value is not a JSON list.
    """
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"row {row}: {PAGE_NAMES_COLUMN} is not a JSON list ({exc.msg})") from exc
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"row {row}: {PAGE_NAMES_COLUMN} must be a JSON list, got {type(value).__name__}")
    return frozenset(str(v) for v in value)


def _text_or_none(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def gold_from_columns(gold_type: Any, gold_name: Any = None, gold_text: Any = None,
                      gold_click_type: Any = None) -> Action:
    """The gold :class:`Action` of one row's :data:`GOLD_COLUMNS` (NaN and None are missing).

    Example:
        >>> gold_from_columns("click", "reviews", None, "review")
        Action(type='click', name='reviews', text=None, click_type='review')
    """
    kind = _text_or_none(gold_type)
    if kind is None:
        raise ValueError("gold_type is missing")
    return Action(kind, _text_or_none(gold_name) or None, _text_or_none(gold_text),
                  _text_or_none(gold_click_type) or None)


def missing_columns(column_names: Collection[str], needed: Sequence[str] = tuple(STEP_COLUMNS)) -> list[str]:
    """Which of ``needed`` (default: every step column) a dataset with ``column_names`` lacks."""
    return [name for name in needed if name not in column_names]


# ------------------------------------------------------------------ command line


def step_dataset_info(store_description: str, *, synthetic: bool) -> Any:
    """The ``datasets.DatasetInfo`` of an exported split: what it is, its licence, the citations."""
    import datasets

    from customer_env.constants import CUSTOMER_R1_CITATION, HUB_URL, LICENSE_TERMS, OPERA_CITATION

    origin = ("synthetic sessions generated by customer-r1 in OPeRA's layout and schema (no OPeRA "
              "record)" if synthetic else "the OPeRA dataset (NEU-HAI/OPeRA)")
    description = (
        "Step-level OPeRA-v0 examples for training next-action policies (Customer-R1): one row per "
        "predicted step, the prompt exactly as the environment renders it (persona, session so far, "
        "current page), the target completion in the wire JSON and the recorded action in the gold "
        f"columns. Source: {origin}, {store_description}. Licence: {LICENSE_TERMS}."
    )
    return datasets.DatasetInfo(description=description, citation=OPERA_CITATION + "\n\n" + CUSTOMER_R1_CITATION,
                                homepage=HUB_URL, license=LICENSE_TERMS, features=step_features(datasets))


CARD_TAGS = ("customer-r1", "opera", "research-only")


def dataset_card(info: Any) -> str:
    """The README (dataset card) of an exported directory: licence metadata, description, citations."""
    from customer_env.constants import LICENSE

    tags = "".join(f"- {tag}\n" for tag in CARD_TAGS)
    return f"---\nlicense: {LICENSE.lower()}\ntags:\n{tags}---\n\n{_card_body(info)}"


def _card_body(info: Any) -> str:
    return f"# OPeRA step dataset\n\n{info.description}\n\n## Citation\n\n```bibtex\n{info.citation}\n```\n"


def _publish_card(repo_id: str, info: Any) -> None:
    """Add the licence, tags and citations to the card ``push_to_hub`` wrote (keeping its metadata)."""
    from huggingface_hub import DatasetCard

    from customer_env.constants import LICENSE

    card = DatasetCard.load(repo_id)
    card.data.license = LICENSE.lower()
    card.data.tags = sorted(set(card.data.tags or ()) | set(CARD_TAGS))
    card.text = _card_body(info)
    card.push_to_hub(repo_id)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m customer_env.export --out DIR [--push-to-hub REPO]``: write (and upload) the step dataset."""
    from customer_env.data.spec import add_store_arguments, store_spec_from_args

    parser = CommandLineParser(prog="python -m customer_env.export",
                               description="Write OPeRA's step dataset (both splits unless --split).")
    parser.add_argument("--out", type=Path, required=True, help="a new directory for the DatasetDict")
    parser.add_argument("--push-to-hub", metavar="REPO", help="also upload it to this hub dataset repository")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: a private repository")
    add_store_arguments(parser, split="both")
    parser.add_argument("--max-prompt-tokens", type=positive_int, default=None, help="prompt budget (default: the env's)")
    parser.add_argument("--tokenizer", default=None, help="count tokens with this tokenizer (default: the estimator)")
    parser.add_argument("--persona-mode", default="real", choices=("real", "none", "shuffled"))
    parser.add_argument("--rationale-fill", default="template", choices=RATIONALE_FILLS)
    parser.add_argument("--sessions", type=positive_int, default=None, help="export this many sessions per split")
    args = parser.parse_args(argv)
    splits = ("train", "test") if args.split == "both" else (args.split,)
    args.split = splits[0]
    spec = store_spec_from_args(parser, args)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"--out {args.out} exists and is not empty; choose a new directory")
    tokenizer = args.tokenizer
    if tokenizer is not None:  # loaded before any store is opened (or generated): a bad name fails first
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        except (OSError, ValueError) as exc:
            parser.error(f"--tokenizer {args.tokenizer}: cannot be loaded ({exc})")

    import datasets

    from customer_env.cache import atomic_directory, atomic_write_text

    parts = {}
    for split in splits:
        store = spec.with_split(split).open()
        source = store if args.sessions is None else {"store": store, "sessions": args.sessions}
        rows = list(iter_step_examples(source, max_prompt_tokens=args.max_prompt_tokens, tokenizer=tokenizer,
                                       persona_mode=args.persona_mode, rationale_fill=args.rationale_fill))
        info = step_dataset_info(store.description, synthetic=spec.is_embedded)
        parts[split] = datasets.Dataset.from_list(rows, features=info.features, info=info, split=split)
        print(f"{split}: {len(rows)} steps from {store.description}")
    dataset = datasets.DatasetDict(parts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        args.out.rmdir()  # empty (checked above): atomic_directory renames the finished copy into place
    with atomic_directory(args.out) as tmp:
        dataset.save_to_disk(str(tmp))
        atomic_write_text(tmp / "README.md", dataset_card(info))
    print(f"wrote {args.out}")
    if args.push_to_hub:
        dataset.push_to_hub(args.push_to_hub, private=args.private or None)
        _publish_card(args.push_to_hub, info)
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
