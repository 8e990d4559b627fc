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
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

from trl import ModelConfig, SFTConfig, TrlParser

from customer_env.command_line import OneLineErrors
from customer_env.data.spec import REVISION_HELP, SOURCE_HELP, VARIANT_HELP, Split, StoreSpec, Variant
from training.launch import launch_problem_of

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


class TrainingParser(OneLineErrors, TrlParser):
    """``TrlParser`` that fails early and in one line (``customer_env.command_line``).

    argparse would print the usage of every TRL option first, and would take any unambiguous
    prefix of an option (``--learning_rat`` silently set ``--learning_rate``): prefixes are
    refused. A ``--config`` file that is missing, not YAML or not a mapping, and a value a
    dataclass refuses (a choice in the YAML file, a combination), are one-line errors too.
    """

    def __init__(self, dataclass_types: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(dataclass_types, **kwargs)

    def parse_args_and_config(self, args: Sequence[str] | None = None, **kwargs: Any) -> tuple[Any, ...]:
        import yaml

        args = _config_as_two_words(list(sys.argv[1:] if args is None else args))
        config = None
        if "--config" in args:
            where = args.index("--config")
            if where + 1 >= len(args) or args[where + 1].startswith("--"):
                self.error("--config needs a FILE.yaml")
            config = Path(args[where + 1]).expanduser()
            if not config.is_file():
                self.error(f"--config {config}: {'is a directory, not a file' if config.is_dir() else 'no such file'}")
        try:
            return super().parse_args_and_config(args, **kwargs)
        except yaml.YAMLError as exc:
            self.error(f"--config {config}: not YAML ({exc})")
        except ValueError as exc:  # a dataclass refused a value, or TRL found unknown options
            self.error(str(exc))
        raise AssertionError("unreachable: error() exits")


def _config_as_two_words(args: list[str]) -> list[str]:
    """``--config=FILE`` as ``--config FILE``, the only spelling TRL's parser reads."""
    out: list[str] = []
    for arg in args:
        out += ["--config", arg.split("=", 1)[1]] if arg.startswith("--config=") else [arg]
    return out


def parse_training_args(config_class: type, argv: Sequence[str] | None = None, *,
                        defaults: Mapping[str, Any] | None = None, prog: str | None = None,
                        check_inputs: bool = False,
                        check: Callable[[ProjectOptions, Any, ModelConfig], None] | None = None,
                        ) -> tuple[ProjectOptions, Any, ModelConfig]:
    """``(ProjectOptions, training config, ModelConfig)`` from flags and ``--config FILE.yaml``.

    Args:
        config_class: ``StepSFTConfig`` or TRL's ``GRPOConfig``.
        argv: The arguments (default ``sys.argv[1:]``).
        defaults: The script's defaults for any option (shown by ``--help``; a YAML file and flags
            override them).
        prog: The program name in messages.
        check_inputs: Also refuse inputs that are not there: the script's ``check``, then
            :func:`missing_input` (what the scripts' command lines do; off, the options are only
            parsed, e.g. to write a config for another machine).
        check: The script's own check of its inputs (it raises ``FileNotFoundError`` or
            ``ValueError`` with the message to print).

    Exits (status 2, one line on stderr, before anything loads) for an unknown or abbreviated
    option, a bad choice or value, a missing or malformed ``--config`` file or an unknown key in
    it, options that contradict each other, a launch that did not take effect
    (``training.launch``: processes that did not connect, FSDP on CPUs) and, with
    ``check_inputs``, inputs that are not there.
    """
    parser = TrainingParser((ProjectOptions, config_class, ModelConfig), prog=prog)
    if defaults:
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise ValueError(f"script defaults name unknown options {unknown}")
        parser.set_defaults(**defaults)
    # The libraries' warnings while the options are built (TRL's deprecated aliases, ...) are shown
    # once the command line is accepted; a refused one prints its one line only.
    with warnings.catch_warnings(record=True) as caught:
        project, training, model = parser.parse_args_and_config(list(sys.argv[1:] if argv is None else argv))
        problem = contradiction(project, training) or launch_problem_of(training)
        if problem is None and check_inputs:
            try:
                if check is not None:
                    check(project, training, model)
            except (FileNotFoundError, ValueError) as exc:
                problem = str(exc)
            problem = problem or missing_input(project, training, model)
        if problem:
            parser.error(problem)
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno, warning.file,
                             warning.line)
    return project, training, model


def missing_input(project: ProjectOptions, training: Any, model: ModelConfig) -> str | None:
    """What a run would read that is not there, named by its option; None when all is there.

    Cheap, nothing is loaded: ``--source`` (a local copy must exist, in the hub layout),
    ``--model_name_or_path`` (a directory, or a hub id; offline, in the local hub cache) and
    ``--resume_from_checkpoint`` (:func:`resolve_resume`).
    """
    try:
        project.store_spec().check_source()
    except ValueError as exc:
        return f"--{exc}"
    if model.model_name_or_path:
        from agents.checkpoint import inspect_checkpoint

        try:
            inspect_checkpoint(model.model_name_or_path, revision=model.model_revision)
        except (FileNotFoundError, ValueError) as exc:
            return f"--model_name_or_path {model.model_name_or_path}: {exc}"
    try:
        resolve_resume(training)
    except FileNotFoundError as exc:
        return str(exc)
    return None


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
        FileNotFoundError: ``latest`` when ``--output_dir`` holds no checkpoint, or a given
            checkpoint directory that does not exist.
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
    if not Path(str(value)).expanduser().is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {value}: no such checkpoint directory")
    return str(value)


def options_dict(*options: Any) -> dict[str, Any]:
    """The options of a run as JSON-ready dicts (``project``, ``training``, ``model``): its recipe."""
    project, training, model = options
    return {"project": dataclasses.asdict(project), "training": training.to_dict(),
            "model": {k: (v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v))
                      for k, v in dataclasses.asdict(model).items()}}


__all__ = ["ProjectOptions", "StepSFTConfig", "TrainingParser", "parse_training_args", "build_training_args",
           "contradiction", "missing_input",
           "resolve_resume", "options_dict", "GRPO_ONLY", "DEFAULT_MAX_COMPLETION_LENGTH"]
