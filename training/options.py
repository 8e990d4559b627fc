"""The trainers' command line: TRL's own options, plus the project's in one small dataclass.

``training/sft.py`` parses ``(ProjectOptions, StepSFTConfig, ModelConfig)`` and
``training/grpo.py`` parses ``(ProjectOptions, GRPOConfig, ModelConfig)`` with TRL's
``TrlParser``, as TRL's own scripts do: every TRL and ``transformers`` training option is a flag
(``--vllm_server_base_url``, ``--log_completions``, ``--push_to_hub``, ``--eval_strategy``,
``--max_grad_norm``, ``--optim``, ...), and ``--config run.yaml`` sets any of them (TRL's layout:
one flat mapping of option names; an ``env:`` mapping sets environment variables; flags win).

:class:`ProjectOptions` holds what TRL does not know: which data to train on (a
:class:`~customer_env.data.spec.StoreSpec`), the prompt budget, how the step dataset is built,
and GRPO's reward and generation choices. Choices are ``Literal`` types, so ``--help`` lists
them and a bad one fails at parse time, in one line, before any model or data is loaded; a bad
value from a YAML file fails the same way (the dataclass checks it). SFT's
``max_completion_length`` is GRPO's option of the same name (:class:`StepSFTConfig` adds it to
TRL's ``SFTConfig``): one name for the longest completion in both scripts.

Example:
    >>> from trl import GRPOConfig
    >>> project, training, model = parse_training_args(
    ...     GRPOConfig, ["--reward_preset", "exact", "--output_dir", "/tmp/r1"], defaults={"bf16": False})
    >>> project.reward_preset, training.output_dir
    ('exact', '/tmp/r1')
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from trl import ModelConfig, SFTConfig, TrlParser

from customer_env.data.spec import REVISION_HELP, SOURCE_HELP, VARIANT_HELP, Split, StoreSpec, Variant

PersonaMode = Literal["real", "none", "shuffled"]
RationaleFill = Literal["template", "empty"]
OnUnfit = Literal["skip", "error"]
RewardPreset = Literal["customer_r1", "exact", "shop_r1"]
RewardScale = Literal["none", "log", "max"]

#: The longest completion both scripts train on by default (what agents generate at most).
DEFAULT_MAX_COMPLETION_LENGTH = 256


def _help(text: str) -> Any:
    return {"help": text}


@dataclass
class ProjectOptions:
    """The options both trainers have and TRL does not (each is a ``--flag``; see ``--help``)."""

    source: str = field(default="embedded", metadata=_help(SOURCE_HELP))
    variant: Variant = field(default="filtered", metadata=_help(VARIANT_HELP))
    split: Split = field(default="train", metadata=_help(
        "the split to train on (evaluation, with --eval_strategy, uses the test split)"))
    revision: str | None = field(default=None, metadata=_help(REVISION_HELP))
    page_scale: float | None = field(default=None, metadata=_help(
        "embedded store only: page length relative to real pages (default: full-size pages)"))
    strict: bool = field(default=False, metadata=_help("stop at the first data problem instead of counting it"))
    max_prompt_tokens: int = field(default=16384, metadata=_help(
        "prompt budget in the model's tokens: the renderer fits every prompt to it (oldest pages dropped first); "
        "steps that cannot fit are skipped and counted, never cut"))
    persona_mode: PersonaMode = field(default="real", metadata=_help(
        "'real'; 'none' or 'shuffled' train the persona ablations"))
    rationale_fill: RationaleFill = field(default="template", metadata=_help(
        "the target rationale of a step without a human one: a short template sentence, or empty"))
    sessions: int | None = field(default=None, metadata=_help(
        "export only this many sessions of the split (spread evenly, deterministic); default all"))
    max_examples: int | None = field(default=None, metadata=_help(
        "train on a seeded sample of at most this many steps (smoke runs)"))
    on_unfit: OnUnfit = field(default="skip", metadata=_help(
        "a step over the budget: 'skip' (drop and count) or 'error' (stop, naming the step)"))
    rl_only: bool = field(default=False, metadata=_help(
        "GRPO only: start from the base model (--model_name_or_path, default the tiny model) instead of an "
        "SFT run, with the reward's rl_only variant (a wrong click earns 0)"))
    reward_preset: RewardPreset = field(default="customer_r1", metadata=_help(
        "GRPO only: the environment's reward (customer_env.rewards)"))
    reward_scale: RewardScale = field(default="none", metadata=_help(
        "GRPO only, customer_r1: rescale the action weights (1 to 2000) by log1p or by the largest"))
    format_weight: float | None = field(default=None, metadata=_help(
        "GRPO only, customer_r1: the format reward (default: the reward module's, 1.0)"))
    fast_generation: bool = field(default=False, metadata=_help(
        "GRPO only: prefill each prompt once per group and decode with a static compiled KV cache "
        "(training/fast_generation.py); not with --use_vllm"))
    multi_step: bool = field(default=False, metadata=_help(
        "GRPO only: whole-session RL through TRL's environment_factory (training/multi_step.py): from each row's "
        "step the policy acts on OPeRA-v0 through tool calls (click, type_text, terminate) with its own history "
        "until the session ends, and the reward is the episode's summed reward. Needs --rl_only and a model "
        "that calls tools; the observations the tools return count in --max_completion_length, which must "
        "exceed --max_prompt_tokens; not with --fast_generation"))

    def __post_init__(self) -> None:
        # Flags are checked by argparse; values from a YAML file or from code only here.
        for name, choices in _literal_choices(type(self)).items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"--{name}: invalid choice {value!r} (choose from {', '.join(map(repr, choices))})")
        if self.max_prompt_tokens <= 0:
            raise ValueError(f"--max_prompt_tokens must be positive, got {self.max_prompt_tokens}")
        for name in ("sessions", "max_examples"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{name} must be positive, got {value}")
        self.store_spec()  # every data option and combination, checked now

    def store_spec(self) -> StoreSpec:
        """The data to train on."""
        try:
            return StoreSpec(source=self.source, variant=self.variant, split=self.split, revision=self.revision,
                             page_scale=self.page_scale, strict=self.strict)
        except ValueError as exc:
            raise ValueError(f"data options: {exc}") from None


def _literal_choices(cls: type) -> dict[str, tuple[Any, ...]]:
    """The choices of every ``Literal`` field of a dataclass (what argparse offers for its flag)."""
    hints = typing.get_type_hints(cls)
    return {f.name: typing.get_args(hints[f.name]) for f in dataclasses.fields(cls)
            if typing.get_origin(hints[f.name]) is Literal}


#: Options of ProjectOptions that only training/grpo.py reads.
GRPO_ONLY = ("rl_only", "reward_preset", "reward_scale", "format_weight", "fast_generation", "multi_step")


@dataclass
class StepSFTConfig(SFTConfig):
    """TRL's ``SFTConfig`` with GRPO's ``max_completion_length``: the longest target completion."""

    max_completion_length: int = field(default=DEFAULT_MAX_COMPLETION_LENGTH, metadata=_help(
        "the longest target completion in tokens (as GRPO's option of the same name): longer steps are skipped"))


class TrainingParser(TrlParser):
    """``TrlParser`` whose errors are one line: argparse would print the usage of every TRL option first."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_training_args(config_class: type, argv: Sequence[str] | None = None, *,
                        defaults: Mapping[str, Any] | None = None,
                        prog: str | None = None) -> tuple[ProjectOptions, Any, ModelConfig]:
    """``(ProjectOptions, training config, ModelConfig)`` from flags and ``--config FILE.yaml``.

    Args:
        config_class: ``StepSFTConfig`` or TRL's ``GRPOConfig``.
        argv: The arguments (default ``sys.argv[1:]``).
        defaults: The script's defaults for any option (shown by ``--help``; a YAML file and flags
            override them).
        prog: The program name in messages.

    Exits (status 2, one line on stderr) for an unknown option, a bad choice or value, an unknown
    key in the YAML file, or options that contradict each other.
    """
    parser = TrainingParser((ProjectOptions, config_class, ModelConfig), prog=prog)
    if defaults:
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise ValueError(f"script defaults name unknown options {unknown}")
        parser.set_defaults(**defaults)
    try:
        project, training, model = parser.parse_args_and_config(list(sys.argv[1:] if argv is None else argv))
    except ValueError as exc:  # a dataclass refused a value (a YAML choice, a combination, bf16 on a CPU)
        parser.error(" ".join(str(exc).split()))
    problem = contradiction(project, training)
    if problem:
        parser.error(problem)
    return project, training, model


def build_training_args(config_class: type, values: Mapping[str, Any]) -> tuple[ProjectOptions, Any, ModelConfig]:
    """``(ProjectOptions, training config, ModelConfig)`` from one flat mapping of option names, as a
    YAML config sets them (what the pipeline uses instead of a command line).

    Raises:
        ValueError: Naming an option no dataclass has, a bad value, or a contradiction.
    """
    classes = (ProjectOptions, config_class, ModelConfig)
    routed: dict[type, dict[str, Any]] = {cls: {} for cls in classes}
    for name, value in values.items():
        owner = next((cls for cls in classes if name in {f.name for f in dataclasses.fields(cls) if f.init}), None)
        if owner is None:
            raise ValueError(f"unknown option {name!r}: not an option of {', '.join(c.__name__ for c in classes)}")
        routed[owner][name] = value
    project, training, model = (cls(**routed[cls]) for cls in classes)
    problem = contradiction(project, training)
    if problem:
        raise ValueError(problem)
    return project, training, model


def contradiction(project: ProjectOptions, training: Any) -> str | None:
    """Why these options cannot go together, or None."""
    is_grpo = hasattr(training, "num_generations")
    if not is_grpo:
        defaults = ProjectOptions()
        changed = [name for name in GRPO_ONLY if getattr(project, name) != getattr(defaults, name)]
        if changed:
            return f"--{changed[0]} is an option of training/grpo.py, not of SFT"
        return None
    if project.fast_generation and training.use_vllm:
        return "--fast_generation and --use_vllm are two ways to generate the groups: choose one"
    if project.multi_step:
        problem = _multi_step_contradiction(project, training)
        if problem:
            return problem
    if training.remove_unused_columns:
        return "--remove_unused_columns must stay false: the reward functions read the gold columns"
    if training.reward_weights is not None:
        return "--reward_weights is set from --reward_preset (the reward, then a weight-0 accuracy metric)"
    return None


def _multi_step_contradiction(project: ProjectOptions, training: Any) -> str | None:
    if project.fast_generation:
        return ("--multi_step and --fast_generation cannot go together: fast generation decodes one answer per "
                "prompt, not a conversation with tool calls")
    if not project.rl_only:
        return ("--multi_step needs --rl_only and a model that calls tools (--model_name_or_path): an SFT run of "
                "this project answers in the wire JSON and would never call one")
    if training.max_completion_length <= project.max_prompt_tokens:
        return (f"--multi_step needs --max_completion_length ({training.max_completion_length}) larger than "
                f"--max_prompt_tokens ({project.max_prompt_tokens}): TRL counts the observations the tools return "
                "in the completion, each up to --max_prompt_tokens long")
    return None


#: ``--resume_from_checkpoint`` values meaning "the latest ``checkpoint-N`` of ``--output_dir``".
LATEST = ("latest", "true", "True")


def resolve_resume(training: Any) -> str | None:
    """The checkpoint to resume from: ``--resume_from_checkpoint DIR``, or with ``latest`` the newest
    ``checkpoint-N`` of ``--output_dir``; None to start afresh.

    Raises:
        FileNotFoundError: ``latest`` when ``--output_dir`` holds no checkpoint.
    """
    value = training.resume_from_checkpoint
    if value in (None, "", False):
        return None
    if value is True or value in LATEST:
        from transformers.trainer_utils import get_last_checkpoint

        latest = get_last_checkpoint(training.output_dir) if Path(training.output_dir).is_dir() else None
        if latest is None:
            raise FileNotFoundError(f"--resume_from_checkpoint latest: no checkpoint-N in {training.output_dir}")
        return latest
    return str(value)


def options_dict(*options: Any) -> dict[str, Any]:
    """The options of a run as JSON-ready dicts (``project``, ``training``, ``model``): its recipe."""
    project, training, model = options
    return {"project": dataclasses.asdict(project), "training": training.to_dict(),
            "model": {k: (v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v))
                      for k, v in dataclasses.asdict(model).items()}}


__all__ = ["ProjectOptions", "StepSFTConfig", "TrainingParser", "parse_training_args", "build_training_args",
           "contradiction",
           "resolve_resume", "options_dict", "GRPO_ONLY", "DEFAULT_MAX_COMPLETION_LENGTH"]
