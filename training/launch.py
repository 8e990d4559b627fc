"""The trainers under a launcher (``accelerate launch``, ``torchrun``): whether the launch took effect,
and what a run records about it.

A launcher starts one process per device and tells each, through environment variables, how many
there are and which sharding to use; the processes then join one process group when the trainer's
``TrainingArguments`` set up ``accelerate``. Two launches start processes that do **not** join one
group, and each would then train alone on the whole dataset and write the same output directory:

* ``WORLD_SIZE`` > 1 on a machine without GPUs, without ``--use_cpu true`` (``accelerate launch
  --multi_gpu --num_processes 2`` or ``torchrun --nproc_per_node 2`` on a CPU): ``accelerate`` only
  joins CPU processes into a gloo group when asked for the CPU.
* An FSDP (or DeepSpeed) accelerate config on CPUs: ``accelerate`` 1.15 enables FSDP only on
  accelerators (GPU, XPU, NPU, ...) and silently runs plain DDP on CPUs, although torch's FSDP2
  itself runs on a CPU device mesh over gloo. DeepSpeed needs a GPU.

:func:`check_launch` refuses both, naming the fix, before any model or data is loaded (the scripts
already when they parse their options, in one line);
:func:`launch_record` is the ``launch`` entry of ``training_summary.json`` (the global batch is
per-device batch x accumulation x processes, which the recipe alone does not say).

Example:
    >>> launch_problem({"WORLD_SIZE": "2"}, distributed_type="NO", num_processes=1)[:44]
    'launched as 2 processes that did not connect'
"""

from __future__ import annotations

import os
from typing import Any, Mapping

#: Launcher variables asking for a sharding ``accelerate`` only gives accelerator processes.
SHARDING_VARIABLES = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DeepSpeed"}
#: ``accelerate`` distributed types of processes that run on the CPU.
CPU_TYPES = ("NO", "MULTI_CPU")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "false").strip().lower() in ("1", "true", "yes")


def launch_problem(environ: Mapping[str, str], *, distributed_type: str, num_processes: int) -> str | None:
    """Why this process's launch did not take effect, or None.

    Args:
        environ: The process's environment (what the launcher set).
        distributed_type: ``accelerate``'s distributed type of this process (``NO``, ``MULTI_CPU``,
            ``MULTI_GPU``, ...).
        num_processes: How many processes joined this one's group.
    """
    launched = int(environ.get("WORLD_SIZE", "1") or 1)
    if launched > 1 and num_processes == 1:
        return (f"launched as {launched} processes that did not connect, so each would train alone and write the same "
                "output: on CPUs pass --use_cpu true (accelerate joins CPU processes over gloo only when asked)")
    for variable, name in SHARDING_VARIABLES.items():
        if _flag(environ, variable) and distributed_type in CPU_TYPES:
            return (f"the accelerate config asks for {name}, which accelerate runs only on GPUs (or other accelerators): "
                    f"on CPUs it would silently be plain data parallel; launch without the {name} config "
                    "(accelerate launch --multi_gpu --num_processes N ... --use_cpu true)")
    return None


def launch_problem_of(training_args: Any) -> str | None:
    """:func:`launch_problem` for this process, from its ``TrainingArguments`` and environment."""
    state = training_args.distributed_state
    distributed_type = str(getattr(state, "distributed_type", "NO")).rsplit(".", 1)[-1]
    return launch_problem(os.environ, distributed_type=distributed_type, num_processes=training_args.world_size)


def check_launch(training_args: Any) -> None:
    """Refuse a launch that did not take effect (see :func:`launch_problem`).

    Raises:
        ValueError: naming what went wrong and the fix.
    """
    problem = launch_problem_of(training_args)
    if problem:
        raise ValueError(problem)


def launch_record(trainer: Any) -> dict[str, Any]:
    """How a run was launched: processes, ``accelerate``'s distributed type and backend, the global batch.

    ``global_batch_size`` counts training rows per optimizer step (for GRPO, completions).
    """
    args, state = trainer.args, trainer.accelerator.state
    processes = int(trainer.accelerator.num_processes)
    return {
        "num_processes": processes,
        "distributed_type": str(state.distributed_type).rsplit(".", 1)[-1],
        "backend": getattr(state, "backend", None),
        "global_batch_size": int(args.per_device_train_batch_size) * int(args.gradient_accumulation_steps) * processes,
    }


__all__ = ["launch_problem", "launch_problem_of", "check_launch", "launch_record", "SHARDING_VARIABLES"]
