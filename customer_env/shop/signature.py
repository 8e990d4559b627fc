"""The state of a shopper's walk at an action, as one hashable value: :func:`walk_signature`.

Two runs of the walk that stop at the same action may have got there by different choices (the
two orders of looking around and reading reviews, a chance that changed nothing) and still be in
exactly the same state, so that everything they do next is the same. The reference shopper
(:mod:`customer_env.shop.reference`) follows the runs consistent with what happened; merging runs
in the same state keeps their number bounded instead of doubling with every such choice.

The state of a run is what its future depends on: the shopper's fields, and the walk's call
stack at the action, each frame's function, line and local variables (the walk keeps its loop
state in named locals for this, see ``customer_env.synthetic.examining.look_around``). Frames of
the recording itself (``Shopper.click`` and ``_record``) contribute only what they still use after
the action is recorded (the target, the next page, whether the click ends the visit). The
incidental draws (rationale texts, dwell times) are left out: they never decide an action.
Values are encoded by :func:`canonical`, which refuses any type it does not know (so a new kind of
local in the walk fails loudly rather than merging runs that differ).

Example:
    >>> canonical({"b": [1, 2], "a": frozenset({"x"})})
    ('dict', (('a', ('set', frozenset({'x'}))), ('b', (1, 2))))
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from types import FrameType, FunctionType, MethodType, TracebackType
from typing import Any, Hashable

from customer_env.synthetic.catalogue import Catalogue
from customer_env.synthetic.choices import Choices, Count
from customer_env.synthetic.enumeration import LazyCount
from customer_env.synthetic.shopper import Shopper

_SYNTHETIC = Path(__file__).resolve().parents[1] / "synthetic"
#: The modules whose frames are the walk.
WALK_FILES = frozenset(str(_SYNTHETIC / f"{name}.py") for name in ("browsing", "examining", "buying", "shopper")) | {
    str(Path(__file__).resolve().parent / "walker.py")}
#: Locals of the recording frames (``shopper.py``) that matter after the action is recorded.
_RECORDING_LOCALS = frozenset({"target", "next_view", "end", "text", "after"})
_SHOPPER_FILE = str(_SYNTHETIC / "shopper.py")


def canonical(value: Any) -> Hashable:
    """A hashable value equal for equal states (see the module docstring).

    Raises:
        TypeError: A value of a type the walk is not known to hold.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), canonical(v)) for k, v in value.items())))
    if isinstance(value, LazyCount):
        return ("count", value._low, value._high, tuple(value._law))  # noqa: SLF001 - the count's state
    if isinstance(value, Count):
        return ("count", value.value)
    if isinstance(value, Shopper):
        return "<shopper>"  # its fields are in the signature once, from shopper_state
    if isinstance(value, (Choices, Catalogue, random.Random)):
        return f"<{type(value).__name__}>"
    if isinstance(value, (FunctionType, MethodType, type)):
        return ("code", value.__module__, value.__qualname__)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return value  # views, products, profiles, cart lines: compared by their fields
        return (type(value).__qualname__, canonical(dataclasses.astuple(value)))
    if type(value).__module__.startswith("customer_env.shop"):
        return f"<{type(value).__name__}>"  # the world and its draws: the same for every run
    raise TypeError(f"walk_signature cannot encode a {type(value).__qualname__} ({value!r:.80})")


def shopper_state(shopper: Shopper) -> Hashable:
    """The shopper's fields (what the walk reads and changes)."""
    return (
        shopper.profile, shopper.intent, shopper.will_buy, shopper.engagement, shopper.opening,
        tuple(shopper.cart), shopper.view, shopper.results_view, shopper.last_query, shopper.via_ratings,
        tuple(shopper.viewed), frozenset(shopper.refined), canonical(shopper.extra_products), shopper.examined,
        len(shopper.steps), getattr(shopper, "home_visits", None), getattr(shopper, "adds", None),
    )


def walk_signature(traceback: TracebackType | None, shopper: Shopper) -> Hashable:
    """The state of the walk whose action raised the exception with ``traceback``."""
    frames: list[Hashable] = []
    while traceback is not None:
        frame: FrameType = traceback.tb_frame
        code = frame.f_code
        if code.co_filename in WALK_FILES:
            items = frame.f_locals.items()
            if code.co_filename == _SHOPPER_FILE:
                items = [(k, v) for k, v in items if k in _RECORDING_LOCALS]
            frames.append((code.co_filename, code.co_name, traceback.tb_lineno,
                           tuple(sorted((k, canonical(v)) for k, v in items))))
        traceback = traceback.tb_next
    return (tuple(frames), shopper_state(shopper))
