"""What the trainers share: option parsing, precision and model loading, LoRA, the run summary.

Each trainer's options are one dataclass. :func:`parse_config` turns it into a command line
(``transformers.HfArgumentParser``: ``--learning_rate 1e-5`` or ``--learning-rate 1e-5``) and
accepts ``--config run.json`` or ``--config run.yaml`` whose keys are the dataclass's fields;
flags given on the command line override the file.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Opts:
    ...     lr: float = 1e-5
    >>> parse_config(Opts, ["--lr", "3e-4"]).lr
    0.0003
"""

from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path
from typing import Any, Sequence, TypeVar

from customer_env.cache import atomic_write_text

T = TypeVar("T")

#: The name of the summary every training run writes next to its model.
SUMMARY_FILE = "training_summary.json"


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML options file into a dict (keys are the dataclass's field names)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an options file must hold a mapping of option names to values")
    return data


def parse_config(cls: type[T], argv: Sequence[str] | None = None) -> T:
    """Build ``cls`` from ``--config FILE`` (optional) and command-line flags (they win).

    Args:
        cls: The options dataclass.
        argv: The arguments (default: ``sys.argv[1:]``).

    Raises:
        ValueError: naming the file and the unknown keys when the file sets fields ``cls`` lacks.
    """
    import argparse
    import sys

    from transformers import HfArgumentParser

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    parser = HfArgumentParser(cls)
    parser.add_argument("--config", default=None, help="JSON or YAML file of options; flags override it")
    if known.config:
        values = load_config_file(known.config)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(f"{known.config}: unknown options {unknown}; valid: {sorted(fields)}")
        parser.set_defaults(**values)
    # The parser also returns a namespace holding --config itself; the dataclass comes first.
    return parser.parse_args_into_dataclasses(rest, look_for_args_file=False)[0]


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready copy of an options dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


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


def resolve_base_model(model: str | None) -> tuple[str, bool]:
    """The model to train, and whether it is a tiny model (built here: full fine-tuning, no LoRA).

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


def load_tokenizer(path: str, *, padding_side: str) -> Any:
    """The tokenizer of ``path`` with a pad token (the end-of-sequence token when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_causal_lm(path: str, *, bf16: bool, attn_implementation: str | None = None) -> Any:
    """A causal LM from a model directory or hub id, or a peft adapter directory on its base.

    An adapter directory (``adapter_config.json``) is loaded on its base model with the adapter
    trainable, so training continues the same adapter.
    """
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if bf16 else torch.float32}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    adapter_config = Path(path) / "adapter_config.json"
    if adapter_config.exists():
        from peft import PeftModel

        base_path = json.loads(adapter_config.read_text())["base_model_name_or_path"]
        base = AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
        return PeftModel.from_pretrained(base, path, is_trainable=True)
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def lora_config(r: int, alpha: int, dropout: float, target_modules: str) -> Any:
    """A peft ``LoraConfig`` for causal-LM training (``target_modules`` comma list or ``all-linear``)."""
    from peft import LoraConfig

    targets: str | list[str] = target_modules if target_modules == "all-linear" else [
        m.strip() for m in target_modules.split(",") if m.strip()
    ]
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")


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


def environment_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on, for its summary."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for package in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def write_summary(out_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``training_summary.json`` into ``out_dir`` atomically and return its path."""
    path = Path(out_dir) / SUMMARY_FILE
    atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return path


def run_summary(kind: str, config: Any, trainer: Any, result: Any, train_data: Any, *,
                resume: Any, started: float, **fields: Any) -> dict[str, Any]:
    """What both trainers record about a finished run; ``fields`` adds the trainer's own entries."""
    import time

    return {
        "kind": kind,
        "config": config_dict(config),
        **fields,
        "dataset_fingerprint": train_data.fingerprint,
        "data": train_data.report,
        "global_step": trainer.state.global_step,
        "resumed_from": str(resume) if resume else None,
        "train_metrics": result.metrics,
        "final_log": final_log(trainer.state.log_history),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "versions": environment_versions(),
    }


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch imported only when asked)."""
    import torch

    return torch.cuda.is_available()


def final_log(log_history: list[dict[str, Any]]) -> dict[str, Any]:
    """The last logged value of every metric of a trainer's ``state.log_history``."""
    merged: dict[str, Any] = {}
    for entry in log_history:
        merged.update(entry)
    return merged
