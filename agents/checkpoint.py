"""``sft`` and ``customer_r1``: a :class:`PromptingAgent` on a trained checkpoint.

A checkpoint is either a full model directory (``config.json`` and weights, as
``save_pretrained`` writes them) or a peft adapter directory (``adapter_config.json``) whose base
model is the one recorded in ``base_model_name_or_path`` (an id or a path; a relative path is
resolved against the adapter directory first). An adapter is merged into its base for
inference. The tokenizer comes from the checkpoint directory when it holds one, else from the
base model.

With no ``checkpoint=``, the embedded default pipeline's checkpoint of that kind is used:
``training.pipeline.ensure_checkpoint(kind)`` trains the tiny default model on first use and
caches it.

Example:
    >>> agent = make_sft_agent(checkpoint="runs/sft/final", batch_size=8)  # doctest: +SKIP
    >>> agent = make_customer_r1_agent()  # the cached default; trained on first use  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.prompting import PromptingAgent, make_prompting_agent
from agents.registry import forwards_kwargs

CHECKPOINT_KINDS = ("sft", "customer_r1")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint directory holds.

    Attributes:
        path: The checkpoint directory.
        is_adapter: Whether it is a peft adapter.
        base_model: The adapter's base model (id or resolved path); None for a full model.
        tokenizer_source: Where the tokenizer is loaded from.
    """

    path: Path
    is_adapter: bool
    base_model: str | None
    tokenizer_source: str


def inspect_checkpoint(path: str | os.PathLike[str]) -> CheckpointInfo:
    """Classify a checkpoint directory.

    Raises:
        FileNotFoundError: when the directory is missing or holds neither ``config.json`` nor
            ``adapter_config.json``.
        ValueError: when ``adapter_config.json`` names no base model.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"checkpoint directory {root} does not exist")
    has_tokenizer = any((root / f).exists() for f in _TOKENIZER_FILES)
    adapter_file = root / "adapter_config.json"
    if adapter_file.exists():
        base = json.loads(adapter_file.read_text(encoding="utf-8")).get("base_model_name_or_path")
        if not base:
            raise ValueError(f"{adapter_file}: field 'base_model_name_or_path' is missing or empty")
        local = (root / base) if not Path(base).is_absolute() else Path(base)
        base = str(local.resolve()) if local.exists() else base
        return CheckpointInfo(root, True, base, str(root) if has_tokenizer else base)
    if not (root / "config.json").exists():
        raise FileNotFoundError(f"{root} holds neither config.json (a model) nor adapter_config.json (an adapter)")
    return CheckpointInfo(root, False, None, str(root))


def load_checkpoint(path: str | os.PathLike[str], *, device: str | None = None,
                    dtype: str | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a full model or adapter directory (adapter merged)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agents.backends.transformers_backend import default_device

    info = inspect_checkpoint(path)
    kwargs = {"dtype": dtype} if dtype else {}
    if info.is_adapter:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(info.base_model, **kwargs)
        model = PeftModel.from_pretrained(base, str(info.path)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(info.path), **kwargs)
    model.to(device or default_device())
    return model, AutoTokenizer.from_pretrained(info.tokenizer_source)


def default_checkpoint(kind: str) -> Path:
    """The embedded default pipeline's checkpoint of ``kind`` (trained and cached on first use)."""
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; expected one of {CHECKPOINT_KINDS}")
    from training.pipeline import ensure_checkpoint  # lazy: agents sit below training

    return Path(ensure_checkpoint(kind=kind, progress=True))


@forwards_kwargs("agents.prompting:make_prompting_agent", fills=("backend", "model", "tokenizer"))
def make_checkpoint_agent(kind: str, checkpoint: str | os.PathLike[str] | None = None, *,
                          device: str | None = None, dtype: str | None = None, **kwargs: Any) -> PromptingAgent:
    """A :class:`PromptingAgent` on ``checkpoint`` (default: the cached default of ``kind``).

    Args:
        kind: ``sft`` or ``customer_r1`` (labels the agent; picks the default checkpoint).
        checkpoint: A full model or adapter directory.
        device, dtype: Where and how to load the model.
        **kwargs: Passed to :func:`agents.prompting.make_prompting_agent` (``max_new_tokens``,
            ``temperature``, ``seed``, ``batch_size``, ...).
    """
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(kind)
    model, tokenizer = load_checkpoint(path, device=device, dtype=dtype)
    model.name_or_path = str(path)
    kwargs.setdefault("name", f"{kind}:{path}")
    return make_prompting_agent("transformers", model, tokenizer=tokenizer, **kwargs)


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
