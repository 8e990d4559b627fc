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
import math
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
#: Seconds per unit of work on two free cores (measured on the default recipe, load below 1),
#: for the estimates printed before the stages: per SFT example, per session transcript and
#: epoch, per step scored when choosing GRPO prompts, per GRPO completion.
SECONDS_PER_SFT_EXAMPLE = 0.07
SECONDS_PER_TRANSCRIPT = 0.03
SECONDS_PER_SCORED_PROMPT = 0.03
SECONDS_PER_GRPO_COMPLETION = 0.1


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
        transcript_epochs: Stage 1 trains on every training session's transcript (persona and
            actions, no page; ``training.transcripts``) for this many epochs (0: no such stage).
        sft_examples: SFT trains on a seeded sample of this many exported steps (None: all).
        sft_history_targets: The SFT loss also falls on the past actions each prompt lists
            (``training.loss_targets``), not only on the completion.
        grpo_examples: GRPO draws its prompts from this many steps.
        grpo_candidates: Score this many seeded candidate steps with the SFT model and keep the
            ``grpo_examples`` most likely to give mixed groups (``training.grpo_prompts``);
            None: a seeded random sample of ``grpo_examples`` steps.
        pretrain: Option overrides of stage 0 (any option of ``training/sft.py``, TRL's or the
            project's, by name).
        transcript: Option overrides of stage 1 (as for ``pretrain``).
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
    transcript_epochs: float = 0.0
    sft_examples: int | None = None
    sft_history_targets: bool = False
    grpo_examples: int | None = 1000
    grpo_candidates: int | None = None
    pretrain: dict[str, Any] = field(default_factory=lambda: {
        "num_train_epochs": 1.0, "max_steps": -1, "learning_rate": 3e-3, "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
        "logging_steps": 20,
    })
    transcript: dict[str, Any] = field(default_factory=lambda: {
        "learning_rate": 3e-3, "lr_scheduler_type": "cosine", "warmup_steps": 0.05,
        "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "logging_steps": 20,
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
    runs = {name: root / name for name in ("pretrain", "transcripts", *KINDS)}
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
    stages = ["tiny model", "export", *(["pretrain"] if config.pretrain_examples else []),
              *(["transcripts"] if config.transcript_epochs else []), "SFT",
              *(["GRPO"] if kind == "customer_r1" else [])]
    say(f"[customer-r1] stages: {' -> '.join(stages)} (CPU; estimates follow the export)", flush=True)

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
    for line in stage_estimates(config, len(data.dataset), sessions=len(store.session_ids),
                                with_grpo=kind == "customer_r1"):
        say(f"[customer-r1] estimate: {line}", flush=True)
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

    if config.transcript_epochs:
        # Stage 1: how this store's shoppers act, from each training session's persona and
        # actions alone (no page): short sequences that supervise every transition at once.
        def transcripts(tmp: Path) -> None:
            from training.step_data import StepData
            from training.transcripts import transcript_dataset

            rows = transcript_dataset(store, tokenizer, max_tokens=config.model.max_position_embeddings,
                                      progress=progress)
            say(f"[customer-r1] transcripts: {rows.info.description}", flush=True)
            options = sft.options(model_name_or_path=sft_start, output_dir=str(tmp), run_name="transcripts",
                                  **{**common, "num_train_epochs": config.transcript_epochs, "max_steps": -1,
                                     **config.transcript})
            report = {**data.report, "rows": len(rows), "kept": len(rows), "transcripts": rows.info.description}
            sft.main(*options, train_data=StepData(rows, f"{data.fingerprint}:transcripts", report))

        _stage("transcripts", runs["transcripts"], transcripts, timings, say)
        sft_start = str(runs["transcripts"])

    def supervised(tmp: Path) -> None:
        options = sft.options(model_name_or_path=sft_start, output_dir=str(tmp), run_name="sft",
                              **{**common, **config.sft})
        train_data = data.sample(config.sft_examples, config.seed)
        if config.sft_history_targets:
            from training.loss_targets import with_history_targets

            train_data = with_history_targets(train_data, tokenizer, progress=progress)
        sft.main(*options, train_data=train_data)

    _stage("sft", runs["sft"], supervised, timings, say)
    if kind == "customer_r1":
        def reinforce(tmp: Path) -> None:
            options = grpo.options(model_name_or_path=str(runs["sft"]), output_dir=str(tmp), run_name="customer_r1",
                                   **{**common, **config.grpo})
            grpo.main(*options, train_data=_grpo_prompts(config, data, runs["sft"], options[1], progress))

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


def stage_estimates(config: PipelineConfig, rows: int, *, sessions: int = 0, with_grpo: bool = True) -> list[str]:
    """One line per training stage: its size and its expected wall time on two free cores.

    Example:
        >>> stage_estimates(PipelineConfig(transcript_epochs=0), 4000)[0]
        'SFT: 500 steps of 8 examples, about 4.7 min on two free cores'
    """
    lines = []
    if config.transcript_epochs:
        lines.append(f"transcripts: {config.transcript_epochs:g} epochs over {sessions} sessions, about "
                     f"{_minutes(sessions * config.transcript_epochs * SECONDS_PER_TRANSCRIPT)}")
    sft = {"num_train_epochs": 1.0, "max_steps": -1, "per_device_train_batch_size": 8,
           "gradient_accumulation_steps": 1, **config.sft}
    batch = sft["per_device_train_batch_size"] * sft["gradient_accumulation_steps"]
    examples = min(rows, config.sft_examples or rows)
    steps = sft["max_steps"] if sft["max_steps"] and sft["max_steps"] > 0 else math.ceil(
        examples * sft["num_train_epochs"] / batch)
    lines.append(f"SFT: {steps} steps of {batch} examples, about {_minutes(steps * batch * SECONDS_PER_SFT_EXAMPLE)}")
    if with_grpo:
        if config.grpo_candidates:
            lines.append(f"GRPO prompt choice: {config.grpo_candidates} steps scored, about "
                         f"{_minutes(config.grpo_candidates * SECONDS_PER_SCORED_PROMPT)}")
        grpo = {"max_steps": 60, "per_device_train_batch_size": 32, "gradient_accumulation_steps": 1, **config.grpo}
        completions = grpo["max_steps"] * grpo["per_device_train_batch_size"] * grpo["gradient_accumulation_steps"]
        lines.append(f"GRPO: {grpo['max_steps']} steps, {completions} sampled completions, about "
                     f"{_minutes(completions * SECONDS_PER_GRPO_COMPLETION)}")
    return lines


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min on two free cores" if seconds >= 90 else f"{seconds:.0f} s on two free cores"


def _grpo_prompts(config: PipelineConfig, data: Any, sft_dir: Path, training_args: Any, progress: bool) -> Any:
    """GRPO's steps: the most mixed-group-prone of ``grpo_candidates``, or a random sample."""
    if not config.grpo_candidates:
        return data.sample(config.grpo_examples, config.seed + 1)
    from agents.checkpoint import inspect_checkpoint, load_model, load_tokenizer
    from training.grpo_prompts import select_mixed_prompts

    checkpoint = inspect_checkpoint(str(sft_dir))
    model = load_model(checkpoint, for_training=False, dtype="float32")
    tokenizer = load_tokenizer(checkpoint, padding_side="right")
    selected, report = select_mixed_prompts(model, tokenizer, data.sample(config.grpo_candidates, config.seed + 1),
                                            keep=config.grpo_examples or config.grpo_candidates,
                                            group_size=training_args.num_generations,
                                            temperature=training_args.temperature, progress=progress)
    if progress:
        print(f"[customer-r1] GRPO prompts: kept {report['kept']} of {report['candidates']} candidates; "
              f"chance of a mixed group {report['mixed_chance_all']:.2f} -> {report['mixed_chance_kept']:.2f}",
              flush=True)
    return selected


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
