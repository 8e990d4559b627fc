"""The embedded default pipeline: tiny model -> SFT -> Customer-R1 GRPO on the CPU, cached.

``python examples/rollout.py --agent customer_r1`` needs a trained policy on a machine with no
GPU, no weights and no network. :func:`ensure_checkpoint` provides it: the first call builds
the tiny model and tokenizer (``training.tiny_model``), exports the embedded store's training
steps once, trains SFT and then GRPO from the SFT model with the very scripts a GPU user runs
(``training/sft.py``, ``training/grpo.py``), and caches the checkpoints under
``$CUSTOMER_R1_CACHE/checkpoints/pipeline-<key>``, where the key hashes the recipe
(:class:`PipelineConfig`) and the store's fingerprint. Later calls return the cached directory;
concurrent first calls (two processes) train once, the second waiting on a file lock.
Every stage shows progress and its wall time; ``pipeline_summary.json`` records them.

CPU realities shape the recipe. Full-size pages render to ~16k-token prompts, far too long to
train on two cores in minutes, so the pipeline reads the embedded store at a small page scale
(the same sessions and actions, less filler text) and fits every prompt into
``max_prompt_tokens`` tiny-tokenizer tokens; steps that still do not fit are counted and skipped
(``pipeline_summary.json``: ``data.skipped``), never cut. The tiny model's context is that budget
plus the agents' 256 new tokens, so an agent evaluated on it renders prompts the way training did.

An optional stage 0 (``pretrain_examples``, off by default) pre-trains the from-scratch model
with a language-model loss on every token (``training/sft.py --completion_only_loss false``),
standing in for the pre-training a real base model has; on this store it bought about as much
exact match as spending the same time on SFT, so the default spends it on SFT.

Example:
    >>> from training.pipeline import ensure_checkpoint
    >>> path = ensure_checkpoint("customer_r1")   # minutes the first time, instant afterwards
    >>> # agents.make("customer_r1", checkpoint=path)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.checkpoint import SUMMARY_FILE
from customer_env.cache import atomic_directory, atomic_write_text, build_lock, cache_dir
from customer_env.data.spec import StoreSpec
from training.tiny_model import BUILDER_VERSION, DEFAULT_PAGE_SCALE, TinyModelSpec

#: Bump when the pipeline's code changes what it trains (3: summaries record training conditions).
PIPELINE_VERSION = 3
KINDS = ("sft", "customer_r1")
#: Agents generate up to this many tokens; the tiny model's context leaves room for them.
AGENT_NEW_TOKENS = 256
PROMPT_TOKENS = 1280


@dataclass(frozen=True)
class PipelineConfig:
    """The default pipeline's recipe; every field is part of the cache key.

    Attributes:
        page_scale: Page scale of the embedded store.
        max_prompt_tokens: Prompt budget in tiny-tokenizer tokens (training and evaluation).
        seed: Seed of the model, data order and sampling.
        sessions: Train on this many sessions of the train split (None: all of them).
        model: The tiny model's shape.
        pretrain_examples: Stage 0 pre-trains the tiny model with a language-model loss on every
            token of this many exported steps (0 or None: no pre-training).
        sft_examples: SFT trains on a seeded sample of this many exported steps (None: all).
        grpo_examples: GRPO draws its prompts from a seeded sample of this many steps.
        pretrain: Option overrides of stage 0 (any option of ``training/sft.py``, TRL's or the
            project's, by name).
        sft: Option overrides of ``training/sft.py``.
        grpo: Option overrides of ``training/grpo.py``.
    """

    page_scale: float = DEFAULT_PAGE_SCALE
    max_prompt_tokens: int = PROMPT_TOKENS
    seed: int = 0
    sessions: int | None = None
    model: TinyModelSpec = field(
        default_factory=lambda: TinyModelSpec(max_position_embeddings=PROMPT_TOKENS + AGENT_NEW_TOKENS)
    )
    pretrain_examples: int | None = None
    sft_examples: int | None = None
    grpo_examples: int | None = 1000
    pretrain: dict[str, Any] = field(default_factory=lambda: {
        "num_train_epochs": 1.0, "max_steps": -1, "learning_rate": 3e-3, "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
        "logging_steps": 20,
    })
    sft: dict[str, Any] = field(default_factory=lambda: {
        "num_train_epochs": 1.0, "max_steps": -1, "learning_rate": 3e-3, "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
        "logging_steps": 20,
    })
    grpo: dict[str, Any] = field(default_factory=lambda: {
        "max_steps": 60, "num_generations": 8, "per_device_train_batch_size": 32,
        "gradient_accumulation_steps": 1, "learning_rate": 1e-5, "lr_scheduler_type": "constant",
        "warmup_steps": 0, "temperature": 0.5, "beta": 0.05, "max_completion_length": 64, "logging_steps": 5,
        "fast_generation": True,
    })

    def store_spec(self) -> StoreSpec:
        """The data the pipeline trains on: the embedded store's train split at its page scale."""
        return StoreSpec(split="train", page_scale=self.page_scale)

    def key(self, store_fingerprint: str) -> str:
        """Cache key: this recipe, the pipeline and model-builder versions, and the store."""
        payload = {"recipe": asdict(self), "pipeline": PIPELINE_VERSION, "builder": BUILDER_VERSION,
                   "store": store_fingerprint}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def pipeline_dir(config: PipelineConfig | None = None) -> Path:
    """The cache directory of a recipe's checkpoints (``sft/``, ``customer_r1/``)."""
    config = config or PipelineConfig()
    store = config.store_spec().open()
    return cache_dir("checkpoints") / f"pipeline-{config.key(store.fingerprint)}"


def is_complete(run_dir: Path) -> bool:
    """Whether a training run finished (its summary is written last)."""
    return (run_dir / SUMMARY_FILE).exists()


def ensure_checkpoint(kind: str = "customer_r1", *, progress: bool = True, config: PipelineConfig | None = None) -> Path:
    """The cached checkpoint of ``kind``, trained on the embedded store first if missing.

    Args:
        kind: ``customer_r1`` (SFT then GRPO) or ``sft``.
        progress: Show stage banners and progress bars.
        config: The recipe (default :class:`PipelineConfig`).

    Returns:
        A model directory (model, tokenizer, ``training_summary.json``) for
        ``agents.make(kind, checkpoint=...)``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; expected one of {KINDS}")
    config = config or PipelineConfig()
    root = pipeline_dir(config)
    runs = {name: root / name for name in ("pretrain", *KINDS)}
    if is_complete(runs[kind]):
        return runs[kind]
    with build_lock(root):  # a second process waits here, then reuses the first one's checkpoint
        if is_complete(runs[kind]):
            return runs[kind]
        return _train(kind, config, root, runs, progress)


def _train(kind: str, config: PipelineConfig, root: Path, runs: dict[str, Path], progress: bool) -> Path:
    from agents.checkpoint import load_tokenizer
    from customer_env.provenance import provenance
    from training import grpo, sft
    from training.step_data import format_report, load_step_data
    from training.tiny_model import tiny_base_model_dir

    say = print if progress else (lambda *a, **k: None)
    timings: dict[str, float] = {}
    say(f"[customer-r1] no cached {kind} checkpoint: training the default pipeline into {root}", flush=True)
    stages = ["tiny model", "export", *(["pretrain"] if config.pretrain_examples else []), "SFT",
              *(["GRPO"] if kind == "customer_r1" else [])]
    say(f"[customer-r1] stages: {' -> '.join(stages)} (CPU, about 10 minutes on two free cores)", flush=True)

    started = time.perf_counter()
    store = config.store_spec().open()
    timings["open_store"] = time.perf_counter() - started

    started = time.perf_counter()
    base = tiny_base_model_dir(seed=config.seed, spec=config.model, progress=progress)
    timings["tiny_model"] = time.perf_counter() - started

    started = time.perf_counter()
    tokenizer = load_tokenizer(str(base), padding_side="left")
    data = load_step_data(tokenizer, store, max_prompt_tokens=config.max_prompt_tokens,
                          max_completion_length=AGENT_NEW_TOKENS, seed=config.seed, sessions=config.sessions)
    timings["export"] = time.perf_counter() - started
    say(f"[customer-r1] data: {format_report(data.report)}", flush=True)
    # The pipeline is the CPU recipe wherever it runs: float32, full fine-tuning, no checkpointing.
    common = dict(page_scale=config.page_scale, max_prompt_tokens=config.max_prompt_tokens, seed=config.seed,
                  sessions=config.sessions, save_steps=10**9, save_total_limit=None, bf16=False, dtype="float32",
                  gradient_checkpointing=False, use_peft=False)

    sft_start = str(base)
    if config.pretrain_examples:
        # Stage 0: language-model pre-training on the train split's text (every token), what a
        # real base model brings and a from-scratch tiny model lacks. SFT then starts from it.
        def pretrain(tmp: Path) -> None:
            options = sft.options(model_name_or_path=str(base), output_dir=str(tmp), run_name="pretrain",
                                  completion_only_loss=False, **{**common, **config.pretrain})
            sft.main(*options, train_data=data.sample(config.pretrain_examples, config.seed + 2))

        _stage("pretrain", runs["pretrain"], pretrain, timings, say)
        sft_start = str(runs["pretrain"])

    def supervised(tmp: Path) -> None:
        options = sft.options(model_name_or_path=sft_start, output_dir=str(tmp), run_name="sft",
                              **{**common, **config.sft})
        sft.main(*options, train_data=data.sample(config.sft_examples, config.seed))

    _stage("sft", runs["sft"], supervised, timings, say)
    if kind == "customer_r1":
        def reinforce(tmp: Path) -> None:
            options = grpo.options(model_name_or_path=str(runs["sft"]), output_dir=str(tmp), run_name="customer_r1",
                                   **{**common, **config.grpo})
            grpo.main(*options, train_data=data.sample(config.grpo_examples, config.seed + 1))

        _stage("grpo", runs["customer_r1"], reinforce, timings, say)

    summary_path = root / "pipeline_summary.json"
    previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    stage_seconds = {**previous.get("stage_seconds", {}), **{k: round(v, 2) for k, v in timings.items()}}
    atomic_write_text(summary_path, json.dumps(
        {"recipe": asdict(config), "base_model": str(base), "data": data.report,
         "dataset_fingerprint": data.fingerprint, "stage_seconds": stage_seconds,
         "provenance": provenance(stores={"train": store}, fingerprints={"dataset": data.fingerprint})},
        indent=2, default=str) + "\n")
    say("[customer-r1] stage wall times: " + ", ".join(f"{k} {v:.0f}s" for k, v in stage_seconds.items()), flush=True)
    return runs[kind]


def _stage(name: str, run_dir: Path, train: Any, timings: dict[str, float], say: Any) -> None:
    """Run one training stage into ``run_dir`` atomically, unless a finished run is cached there."""
    if is_complete(run_dir):
        return
    say(f"[customer-r1] stage {name} -> {run_dir}", flush=True)
    started = time.perf_counter()
    with atomic_directory(run_dir) as tmp:
        train(tmp)
        for checkpoint in tmp.glob("checkpoint-*"):  # a finished cached run is never resumed
            shutil.rmtree(checkpoint)
    _record_final_location(run_dir)
    timings[name] = time.perf_counter() - started


def _record_final_location(run_dir: Path) -> None:
    """Point the summary at the cached directory (the run wrote into a temporary sibling)."""
    path = run_dir / SUMMARY_FILE
    summary = json.loads(path.read_text())
    summary["conditions"]["recipe"]["training"]["output_dir"] = str(run_dir)
    atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
