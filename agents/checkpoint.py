"""Trained checkpoints: what they hold, what they were trained on, how to load them.

A checkpoint is a full model (``config.json`` and weights, as ``save_pretrained`` writes them)
or a peft adapter (``adapter_config.json``) whose base model is the one recorded in
``base_model_name_or_path`` (an id or a path; a relative path is resolved against the adapter
directory first). It is given as a local directory or as the hub id of a pushed run
(``org/name``; read from the local hub cache when offline). The tokenizer comes from the
checkpoint when it holds one, else from the base model.

A checkpoint describes itself: the trainers write ``training_summary.json`` (:data:`SUMMARY_FILE`)
last, and its ``conditions`` (:class:`TrainingConditions`: the data and page scale, the prompt
and completion budgets, the tokenizer, the recipe) say how to evaluate it the way it was
trained. :func:`resolve_checkpoint` finds a checkpoint and reads them; rollout, compare and the
pipeline evaluation all go through it, so one checkpoint on one set of sessions gives one number.

A run is finished when its summary exists. :func:`resolve_checkpoint` (and so ``agents.make(...,
checkpoint=DIR)``) refuses a checkpoint without one with :class:`UnfinishedRunError`: an
interrupted run, one of its intermediate ``checkpoint-N`` directories, or a model no trainer of
this project finished. ``allow_unfinished=True`` loads it anyway, evaluated as configured (it
records no training conditions).

One loader serves training and evaluation: :func:`load_model` (``for_training=True`` keeps an
adapter trainable, otherwise it is merged) and :func:`load_tokenizer`.

With no checkpoint, ``sft`` and ``customer_r1`` use the embedded default pipeline's:
``training.pipeline.ensure_checkpoint(kind)`` trains the tiny default model on first use and
caches it.

Example:
    >>> resolved = resolve_checkpoint("runs/sft")                   # doctest: +SKIP
    >>> resolved.conditions.data.page_scale, resolved.conditions.max_prompt_tokens  # doctest: +SKIP
    (None, 16384)
    >>> agent = make_sft_agent(checkpoint="org/my-sft-run")         # doctest: +SKIP
    >>> agent = make_customer_r1_agent()  # the cached default; trained on first use  # doctest: +SKIP
    >>> agent = make_sft_agent(checkpoint="runs/sft/checkpoint-200", allow_unfinished=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from agents.prompting import PromptingAgent, make_prompting_agent
from agents.registry import forwards_kwargs
from customer_env.data.spec import StoreSpec

CHECKPOINT_KINDS = ("sft", "customer_r1")
#: The summary every training run writes next to its model, last (a run is complete when it exists).
SUMMARY_FILE = "training_summary.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_STEP_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class UnfinishedRunError(FileNotFoundError):
    """A checkpoint without :data:`SUMMARY_FILE`: not a finished run (``allow_unfinished=True`` loads it)."""


@dataclass(frozen=True)
class TrainingConditions:
    """What a checkpoint was trained under (``training_summary.json``'s ``conditions``).

    Attributes:
        kind: The training stage (``sft``, ``customer_r1``).
        data: The training data (its split is the one trained on).
        max_prompt_tokens: The prompt budget, in the tokenizer's tokens.
        max_completion_length: The longest completion trained on (SFT targets, GRPO samples).
        persona_mode: ``real``, ``none`` or ``shuffled``.
        tokenizer: The tokenizer's name or path at training time.
        tokenizer_fingerprint: A content hash of that tokenizer.
        store_fingerprint: The training store's fingerprint (its content hash or hub revision).
        recipe: Every option of the run (project, trainer, model).
    """

    kind: str
    data: StoreSpec
    max_prompt_tokens: int
    max_completion_length: int
    persona_mode: str = "real"
    tokenizer: str | None = None
    tokenizer_fingerprint: str | None = None
    store_fingerprint: str | None = None
    recipe: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what the trainers write)."""
        return {"kind": self.kind, "data": self.data.to_dict(), "max_prompt_tokens": self.max_prompt_tokens,
                "max_completion_length": self.max_completion_length, "persona_mode": self.persona_mode,
                "tokenizer": self.tokenizer, "tokenizer_fingerprint": self.tokenizer_fingerprint,
                "store_fingerprint": self.store_fingerprint, "recipe": dict(self.recipe)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str = "conditions") -> "TrainingConditions":
        """Read :meth:`to_dict`'s output.

        Raises:
            ValueError: Naming ``where`` and the field, when a field is missing or bad.
        """
        try:
            return cls(kind=str(values["kind"]), data=StoreSpec.from_dict(values["data"]),
                       max_prompt_tokens=int(values["max_prompt_tokens"]),
                       max_completion_length=int(values["max_completion_length"]),
                       persona_mode=str(values.get("persona_mode", "real")),
                       tokenizer=values.get("tokenizer"), tokenizer_fingerprint=values.get("tokenizer_fingerprint"),
                       store_fingerprint=values.get("store_fingerprint"),
                       recipe=dict(values.get("recipe") or {}))
        except KeyError as exc:
            raise ValueError(f"{where}: field {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None


def read_conditions(summary_path: str | os.PathLike[str] | None) -> TrainingConditions | None:
    """The training conditions a summary file records; None when there is no file, or it predates them.

    Raises:
        ValueError: Naming the file, when it is not JSON or its conditions are malformed.
    """
    if summary_path is None or not Path(summary_path).is_file():
        return None
    try:
        summary = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{summary_path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    conditions = summary.get("conditions") if isinstance(summary, dict) else None
    if conditions is None:
        return None
    return TrainingConditions.from_dict(conditions, where=f"{summary_path}: conditions")


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint holds.

    Attributes:
        path: Where the model loads from: a local directory, or a hub id (online, not cached).
        is_adapter: Whether it is a peft adapter.
        base_model: The adapter's base model (id or resolved path); None for a full model.
        tokenizer_source: Where the tokenizer is loaded from.
        summary: The local copy of its ``training_summary.json``, if it has one.
        revision: The hub revision asked for (None: the default branch, or a local directory).
    """

    path: Path | str
    is_adapter: bool
    base_model: str | None
    tokenizer_source: str
    summary: Path | None = None
    revision: str | None = None


def _hub_file(repo_id: str, filename: str, revision: str | None) -> Path | None:
    """One small file of a hub model repository (None when the repository lacks it)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision))
    except EntryNotFoundError:
        return None


def _hub_checkpoint(repo_id: str, revision: str | None) -> CheckpointInfo:
    """A pushed checkpoint: its cached snapshot (always, offline), else its files on the hub."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    from customer_env.data.hub import hub_offline

    try:
        return inspect_checkpoint(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except LocalEntryNotFoundError:
        if hub_offline():
            raise FileNotFoundError(f"checkpoint {repo_id!r} is not a local directory, and no copy of the hub "
                                    "model is in the local hub cache (HF_HUB_OFFLINE is set)") from None
    try:
        adapter = _hub_file(repo_id, "adapter_config.json", revision)
        summary = _hub_file(repo_id, SUMMARY_FILE, revision)
    except (RepositoryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise FileNotFoundError(f"checkpoint {repo_id!r} is neither a local directory nor a reachable hub model "
                                f"({type(exc).__name__}: {exc})") from None
    if adapter is None:
        return CheckpointInfo(repo_id, False, None, repo_id, summary, revision)
    base = _base_model(adapter, None)
    has_tokenizer = _hub_file(repo_id, "tokenizer_config.json", revision) is not None
    return CheckpointInfo(repo_id, True, base, repo_id if has_tokenizer else base, summary, revision)


def _base_model(adapter_file: Path, root: Path | None) -> str:
    base = json.loads(adapter_file.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{adapter_file}: field 'base_model_name_or_path' is missing or empty")
    if root is not None and not Path(base).is_absolute() and (root / base).exists():
        return str((root / base).resolve())  # relative to the adapter directory first
    local = Path(base).expanduser()
    return str(local.resolve()) if local.exists() else base


def inspect_checkpoint(path: str | os.PathLike[str], *, revision: str | None = None) -> CheckpointInfo:
    """Classify a checkpoint: a local directory, or the hub id of a pushed one.

    Args:
        path: A local directory, or a hub id (``org/name``) when no such directory exists.
        revision: Hub only: the branch, tag or commit.

    Raises:
        FileNotFoundError: when there is no such directory (nor, for ``org/name``, such hub
            model), or the directory holds neither ``config.json`` nor ``adapter_config.json``.
        ValueError: when ``adapter_config.json`` names no base model.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        if _HUB_ID.match(str(path)):
            return _hub_checkpoint(str(path), revision)
        raise FileNotFoundError(f"checkpoint directory {root} does not exist")
    has_tokenizer = any((root / f).exists() for f in _TOKENIZER_FILES)
    summary = root / SUMMARY_FILE if (root / SUMMARY_FILE).is_file() else None
    adapter_file = root / "adapter_config.json"
    if adapter_file.exists():
        base = _base_model(adapter_file, root)
        return CheckpointInfo(root, True, base, str(root) if has_tokenizer else base, summary)
    if not (root / "config.json").exists():
        raise FileNotFoundError(f"{root} holds neither config.json (a model) nor adapter_config.json (an adapter)")
    return CheckpointInfo(root, False, None, str(root), summary)


def load_model(path: str | os.PathLike[str] | CheckpointInfo, *, for_training: bool = False, dtype: Any = None,
               attn_implementation: str | None = None, device: str | None = None) -> Any:
    """A causal LM from a checkpoint (full model or adapter, local or pushed): the one loader.

    Args:
        path: A checkpoint (see :func:`inspect_checkpoint`) or its :class:`CheckpointInfo`.
        for_training: Keep an adapter trainable on its base (training continues it); otherwise
            it is merged into the base for inference.
        dtype: A torch dtype or its name (None: the model's default).
        attn_implementation: e.g. ``sdpa`` or ``flash_attention_2`` (None: the model's default).
        device: Move the model there (None: leave it where ``from_pretrained`` put it).
    """
    from transformers import AutoModelForCausalLM

    info = path if isinstance(path, CheckpointInfo) else inspect_checkpoint(path)
    kwargs: dict[str, Any] = {}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if info.is_adapter:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(info.base_model, **kwargs)
        model = PeftModel.from_pretrained(base, str(info.path), is_trainable=for_training, revision=info.revision)
        if not for_training:
            model = model.merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(info.path), revision=info.revision, **kwargs)
    if device is not None:
        model.to(device)
    return model


def load_tokenizer(path: str | os.PathLike[str] | CheckpointInfo, *, padding_side: str | None = None) -> Any:
    """A checkpoint's tokenizer, with a pad token (the end-of-sequence token when it has none)."""
    from transformers import AutoTokenizer

    info = path if isinstance(path, CheckpointInfo) else inspect_checkpoint(path)
    tokenizer = AutoTokenizer.from_pretrained(info.tokenizer_source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if padding_side is not None:
        tokenizer.padding_side = padding_side
    return tokenizer


def load_checkpoint(path: str | os.PathLike[str] | CheckpointInfo, *, device: str | None = None,
                    dtype: str | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for inference (an adapter is merged), on ``device``."""
    from agents.backends.transformers_backend import default_device

    info = path if isinstance(path, CheckpointInfo) else inspect_checkpoint(path)
    return load_model(info, dtype=dtype, device=device or default_device()), load_tokenizer(info)


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint found, and what it was trained under.

    Attributes:
        path: What to load: a local directory or a hub id.
        info: What it holds.
        conditions: Its training conditions; None for a checkpoint without a summary (a plain
            Hugging Face model) or with one that predates them.
    """

    path: str
    info: CheckpointInfo
    conditions: TrainingConditions | None


def default_checkpoint(kind: str) -> Path:
    """The embedded default pipeline's checkpoint of ``kind`` (trained and cached on first use)."""
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; expected one of {CHECKPOINT_KINDS}")
    from training.pipeline import ensure_checkpoint  # lazy: agents sit below training

    return Path(ensure_checkpoint(kind=kind, progress=True))


def resolve_checkpoint(checkpoint: str | os.PathLike[str] | None = None, *, kind: str | None = None,
                       revision: str | None = None, allow_unfinished: bool = False) -> ResolvedCheckpoint:
    """Find a finished checkpoint and read its training conditions.

    Args:
        checkpoint: A local directory or a hub id; None: the default pipeline's checkpoint of
            ``kind`` (trained on first use).
        kind: ``sft`` or ``customer_r1``, for the default.
        revision: Hub only: the branch, tag or commit.
        allow_unfinished: Accept a checkpoint without :data:`SUMMARY_FILE` (an interrupted run's
            ``checkpoint-N``, a plain Hugging Face model); it records no training conditions.

    Raises:
        UnfinishedRunError: A checkpoint without :data:`SUMMARY_FILE`, unless ``allow_unfinished``.
        FileNotFoundError, ValueError: as :func:`inspect_checkpoint`, or for a malformed summary.
    """
    if checkpoint is None:
        if kind is None:
            raise ValueError("resolve_checkpoint needs a checkpoint or a kind (sft, customer_r1)")
        checkpoint = default_checkpoint(kind)
    root = Path(checkpoint).expanduser()
    if not allow_unfinished and root.is_dir() and not (root / SUMMARY_FILE).is_file():
        steps = _step_checkpoints(root)
        if steps:  # an interrupted run: its checkpoint-N directories, maybe no model at the top
            raise UnfinishedRunError(f"checkpoint {root} is an unfinished training run: it has no {SUMMARY_FILE} "
                                     f"(written last) and holds {', '.join(p.name for p in steps)}; resume it "
                                     "(--resume_from_checkpoint latest), or pass allow_unfinished=True to load "
                                     f"{steps[-1]} anyway")
    info = inspect_checkpoint(checkpoint, revision=revision)
    if info.summary is None and not allow_unfinished:
        what = ("an intermediate checkpoint of a training run" if (Path(info.path) / "trainer_state.json").is_file()
                else "not a finished training run")
        raise UnfinishedRunError(f"checkpoint {info.path} is {what}: it has no {SUMMARY_FILE} (the trainers write "
                                 "it last); pass allow_unfinished=True to load it anyway, evaluated as configured "
                                 "(it records no training conditions)")
    return ResolvedCheckpoint(str(info.path), info, read_conditions(info.summary))


def _step_checkpoints(root: Path) -> list[Path]:
    """The ``checkpoint-N`` directories of a run directory, oldest first."""
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _STEP_CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def checkpoint_of(agent_name: str, agent_kwargs: Mapping[str, Any]) -> ResolvedCheckpoint | None:
    """The checkpoint an agent would load, resolved; None for an agent that loads none.

    An agent loads one when its factory takes ``checkpoint=``: the given one, else the default
    of the factory's ``default_checkpoint_kind`` (``sft`` and ``customer_r1`` have one).
    """
    import inspect

    from agents.registry import factory

    build = factory(agent_name)
    try:
        takes = "checkpoint" in inspect.signature(build).parameters
    except (TypeError, ValueError):
        takes = False
    if not takes:
        return None
    given = agent_kwargs.get("checkpoint")
    kind = getattr(build, "default_checkpoint_kind", None)
    if given is None and kind is None:
        return None
    return resolve_checkpoint(given, kind=kind, revision=agent_kwargs.get("revision"),
                              allow_unfinished=bool(agent_kwargs.get("allow_unfinished", False)))


@forwards_kwargs("agents.prompting:make_prompting_agent", fills=("backend", "model", "tokenizer"))
def make_checkpoint_agent(kind: str, checkpoint: str | os.PathLike[str] | None = None, *,
                          device: str | None = None, dtype: str | None = None, revision: str | None = None,
                          allow_unfinished: bool = False, **kwargs: Any) -> PromptingAgent:
    """A :class:`PromptingAgent` on ``checkpoint`` (default: the cached default of ``kind``).

    The agent's ``trained_conditions`` are the checkpoint's (:class:`TrainingConditions` or None);
    rollout evaluates it under them.

    Args:
        kind: ``sft`` or ``customer_r1`` (labels the agent; picks the default checkpoint).
        checkpoint: A full model or adapter: a local directory or a pushed run's hub id.
        device, dtype: Where and how to load the model.
        revision: Hub only: the branch, tag or commit.
        allow_unfinished: Load a checkpoint without ``training_summary.json`` (refused otherwise:
            :class:`UnfinishedRunError`).
        **kwargs: Passed to :func:`agents.prompting.make_prompting_agent` (``max_new_tokens``,
            ``temperature``, ``seed``, ``batch_size``, ...).
    """
    resolved = resolve_checkpoint(checkpoint, kind=kind, revision=revision, allow_unfinished=allow_unfinished)
    model, tokenizer = load_checkpoint(resolved.info, device=device, dtype=dtype)
    model.name_or_path = resolved.path
    kwargs.setdefault("name", f"{kind}:{resolved.path}")
    agent = make_prompting_agent("transformers", model, tokenizer=tokenizer, **kwargs)
    agent.trained_conditions = resolved.conditions
    return agent


@forwards_kwargs(make_checkpoint_agent, fills=("kind", "checkpoint"))
def make_sft_agent(checkpoint: str | os.PathLike[str] | None = None, *, seed: int = 0,
                   **kwargs: Any) -> PromptingAgent:
    """The ``sft`` agent of the registry (see :func:`make_checkpoint_agent`)."""
    return make_checkpoint_agent("sft", checkpoint, seed=seed, **kwargs)


@forwards_kwargs(make_checkpoint_agent, fills=("kind", "checkpoint"))
def make_customer_r1_agent(checkpoint: str | os.PathLike[str] | None = None, *, seed: int = 0,
                           **kwargs: Any) -> PromptingAgent:
    """The ``customer_r1`` agent of the registry (see :func:`make_checkpoint_agent`)."""
    return make_checkpoint_agent("customer_r1", checkpoint, seed=seed, **kwargs)


make_sft_agent.default_checkpoint_kind = "sft"  # type: ignore[attr-defined]
make_customer_r1_agent.default_checkpoint_kind = "customer_r1"  # type: ignore[attr-defined]
