"""What both trainers set up before training: precision, the base model, the tokenizer's identity,
and a CPU speed-up of TRL's loss.

Model and tokenizer loading itself is ``agents.checkpoint.load_model`` / ``load_tokenizer``: one
loader for training and evaluation, so a checkpoint (a directory, an adapter on its base, a
pushed hub run) is found the same way by both.

Example:
    >>> resolve_bf16(False)
    False
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agents.checkpoint import SUMMARY_FILE


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch imported only when asked)."""
    import torch

    return torch.cuda.is_available()


def cuda_bf16_available() -> bool:
    """Whether bf16 training is possible here (a CUDA device that supports it)."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def resolve_bf16(bf16: bool | None) -> bool:
    """``bf16`` as asked, or (None) on exactly when a bf16-capable GPU is present.

    Raises:
        ValueError: when bf16 is asked for on a machine without a bf16-capable GPU.
    """
    if bf16 is None:
        return cuda_bf16_available()
    if bf16 and not cuda_bf16_available():
        raise ValueError("--bf16 needs a CUDA GPU with bf16 support; on the CPU train in float32 (--bf16 false)")
    return bf16


def precision_defaults() -> dict[str, Any]:
    """The scripts' defaults for TRL's precision options on this machine: bf16 weights, autocast and
    gradient checkpointing with a bf16-capable GPU, float32 and no checkpointing on a CPU."""
    bf16 = cuda_bf16_available()
    return {"bf16": bf16, "dtype": "bfloat16" if bf16 else "float32", "gradient_checkpointing": cuda_available()}


def resolve_base_model(model: str | None) -> tuple[str, bool]:
    """The model to train, and whether it is a tiny model (built here, fully fine-tuned).

    None means the cached tiny default, built locally on first use.
    """
    if model:
        return model, is_tiny_model(model)
    from training.tiny_model import tiny_base_model_dir

    return str(tiny_base_model_dir()), True


def is_tiny_model(path: str) -> bool:
    """Whether ``path`` is the tiny model (``training.tiny_model``) or a run trained from it."""
    root = Path(path)
    if (root / "tiny_model.json").exists():
        return True
    summary = root / SUMMARY_FILE
    return summary.exists() and bool(json.loads(summary.read_text()).get("tiny_model", False))


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A content hash of a tokenizer: its vocabulary and rules, special tokens and chat template
    (not its path, so a copy saved next to a checkpoint has the same fingerprint)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    body = backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True)
    extra = json.dumps([getattr(tokenizer, "chat_template", None), str(tokenizer.all_special_tokens), len(tokenizer)])
    return hashlib.sha256((body + extra).encode()).hexdigest()[:16]


def score_only_labelled_positions_on_cpu() -> bool:
    """Make TRL's fused LM head score only the labelled positions on the CPU too (idempotent).

    TRL 1.16's fused LM head (used by SFT and GRPO losses) projects only the positions that carry
    a label when Triton is available, but every position elsewhere (a choice made for Neuron,
    which recompiles on every new shape). On a CPU that means projecting each ~1k-token prompt
    through the vocabulary to score a ~20-token completion: most of a tiny model's training time.
    This marks the CPU as a device for the compact path; the math (and the loss) is unchanged,
    only masked-out positions are skipped. Returns whether the patch is active.
    """
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # pragma: no cover - TRL missing: nothing to patch
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:  # another TRL version: leave it alone
        return False
    if getattr(original, "_customer_r1_cpu_compact", False):
        return True

    def use_compact_path(device: Any) -> bool:
        return getattr(device, "type", None) == "cpu" or original(device)

    use_compact_path._customer_r1_cpu_compact = True  # type: ignore[attr-defined]
    trl_utils._use_triton = use_compact_path
    return True
