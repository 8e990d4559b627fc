"""Gymnasium spaces for OPeRA: free text observations and the wire-format action space.

Gymnasium's :class:`~gymnasium.spaces.Text` accepts only strings made of its character set, and a
real Amazon page contains any unicode character. :class:`UnicodeText` keeps ``Text``'s length
bounds but accepts every character; its character set is used only for ``sample()``.

:class:`WireActionSpace` is the action space of both OPeRA environments. An action is the text an
LLM writes (the Customer-R1 wire JSON), so any string is a member; the environment parses it and a
malformed one earns the format-failure reward instead of raising. ``sample()`` is the useful part:
it returns a *valid* wire action built from the current page's actionable names, which the
environment updates after every ``reset()`` and ``step()``.

Vector environments: a ``UnicodeText`` member is any string up to millions of characters, which
Gymnasium's fixed-size shared-memory buffers (one int per character slot, characters of the
charset only) cannot hold. The space therefore declares that it has no shared-memory layout, and
``gym.make_vec("OPeRA-v0", vectorization_mode="async")`` stops with Gymnasium's own message to
pass ``vector_kwargs={"shared_memory": False}``; observations then travel through the worker pipes.

Example:
    >>> space = WireActionSpace(seed=0)
    >>> space.set_names(["nav_bar.search_input", "search_result.product_title"])
    >>> import json
    >>> json.loads(space.sample())["action"]["type"] in ("click", "input", "terminate")
    True
    >>> space.contains("not even JSON")
    True
"""

from __future__ import annotations

import string
from typing import Any, Iterable

import numpy as np
from gymnasium import spaces
from gymnasium.error import CustomSpaceError
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

from customer_env.prompt.observation import OBSERVATION_KEYS
from customer_env.records import Action

#: Longest text an observation field may hold. Real pages reach about 626k characters before
#: compression and every field is cut to the token budget, so this is a generous upper bound.
MAX_TEXT_LENGTH = 1 << 24

#: Longest completion the action space declares (the environment accepts longer ones anyway).
MAX_ACTION_LENGTH = 1 << 20

#: Characters ``UnicodeText.sample()`` draws from (membership does not depend on them).
SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n"

#: Probability that ``WireActionSpace.sample()`` ends the session.
TERMINATE_PROBABILITY = 0.05
#: Probability that it types into an input-like element, when the page has one.
INPUT_PROBABILITY = 0.2

#: Short queries typed by sampled ``input`` actions.
SAMPLE_QUERIES = (
    "running shoes",
    "usb c charger",
    "coffee beans",
    "wireless earbuds",
    "yoga mat",
    "phone case",
    "desk lamp",
    "water bottle",
)


class UnicodeText(spaces.Text):
    """A :class:`~gymnasium.spaces.Text` space whose members may use any unicode character.

    Membership checks only the type and the length bounds; ``charset`` only shapes ``sample()``.

    Args:
        max_length: Longest member, in characters.
        min_length: Shortest member, in characters (0 allows the empty string).
        charset: Characters ``sample()`` draws from.
        seed: Seed of the space's own random generator.

    Example:
        >>> UnicodeText(10, min_length=0).contains("héllo ✓")
        True
    """

    def __init__(
        self,
        max_length: int = MAX_TEXT_LENGTH,
        *,
        min_length: int = 0,
        charset: str = SAMPLE_CHARSET,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=min_length, charset=charset, seed=seed)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a string within the length bounds (any characters)."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    @property
    def is_np_flattenable(self) -> bool:
        """False: flattening indexes characters in the charset, which members need not use."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.min_length}, {self.max_length})"


def _no_shared_memory(space: UnicodeText, *args: Any, **kwargs: Any) -> Any:
    """Gymnasium's hook for spaces without a shared-memory layout (see the module docstring)."""
    raise CustomSpaceError(
        f"{type(space).__name__} holds any unicode text of up to {space.max_length} characters, "
        "which a fixed shared-memory buffer cannot; use shared_memory=False")


# Registered for the subclass only: Gymnasium's own Text spaces keep their shared-memory layout.
for _hook in (create_shared_memory, read_from_shared_memory, write_to_shared_memory):
    _hook.register(UnicodeText, _no_shared_memory)


class WireActionSpace(UnicodeText):
    """The action space of the OPeRA environments: completion text in the Customer-R1 wire format.

    Every string up to ``max_length`` is a member, because the environment must score whatever a
    policy writes. ``sample()`` returns a well-formed completion that acts on the current page:
    a click on one of its actionable names, an ``input`` of a short query into a text-entry
    element (see :meth:`set_names`), or, rarely, ``terminate``. With no names
    known (before the first ``reset()``, or in a copy made by a vector environment) it returns a
    terminate action.

    The environment calls :meth:`set_names` after every ``reset()`` and ``step()``. ``reset(seed=s)``
    also reseeds this space from ``s``, so a seeded episode samples the same actions.

    Args:
        max_length: Longest completion the space declares.
        names: The initial actionable names.
        seed: Seed of the space's own random generator.

    Example:
        >>> space = WireActionSpace(seed=1)
        >>> space.set_names(["reviews"])
        >>> import json
        >>> json.loads(space.sample())["action"]["type"] != "input"
        True
    """

    def __init__(
        self,
        max_length: int = MAX_ACTION_LENGTH,
        *,
        names: Iterable[str] = (),
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=0, seed=seed)
        self._names: tuple[str, ...] = ()
        self._input_names: tuple[str, ...] = ()
        self.set_names(names)

    @property
    def names(self) -> tuple[str, ...]:
        """The actionable names ``sample()`` currently draws from (page order, no empties)."""
        return self._names

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names ``sample()`` may type into."""
        return self._input_names

    def set_names(self, names: Iterable[str], input_names: Iterable[str] | None = None) -> None:
        """Replace the current page's actionable names (empty names are dropped).

        Args:
            names: Every actionable name of the page.
            input_names: The text-entry elements among them (the renderer knows them from the
                page's tags); when None, names whose last segment contains ``input`` are used.
        """
        self._names = tuple(name for name in names if name)
        if input_names is None:
            self._input_names = tuple(name for name in self._names if _is_input_like(name))
        else:
            self._input_names = tuple(name for name in input_names if name)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A valid wire completion acting on the current page, drawn from this space's generator.

        Args:
            mask: Not supported (a character mask cannot describe a structured action).
            probability: Not supported, for the same reason.

        Returns:
            The completion text, e.g. ``{"rationale": "...", "action": {"type": "click", ...}}``.

        Raises:
            ValueError: If ``mask`` or ``probability`` is given.
        """
        if mask is not None or probability is not None:
            raise ValueError("WireActionSpace.sample() takes no mask or probability")
        from customer_env.actions import format_completion

        action = self.sample_action()
        return format_completion(action, _sample_rationale(action))

    def sample_action(self) -> Action:
        """The :class:`~customer_env.records.Action` that ``sample()`` would format."""
        rng = self.np_random
        inputs = self._input_names
        draw = rng.random()
        if not self._names or draw < TERMINATE_PROBABILITY:
            return Action(type="terminate")
        if inputs and draw < TERMINATE_PROBABILITY + INPUT_PROBABILITY:
            name = inputs[int(rng.integers(len(inputs)))]
            text = SAMPLE_QUERIES[int(rng.integers(len(SAMPLE_QUERIES)))]
            return Action(type="input", name=name, text=text)
        return Action(type="click", name=self._names[int(rng.integers(len(self._names)))])

    def __repr__(self) -> str:
        return f"WireActionSpace(max_length={self.max_length}, names={len(self._names)})"


def _is_input_like(name: str) -> bool:
    return "input" in name.rsplit(".", 1)[-1]


def _sample_rationale(action: Action) -> str:
    if action.type == "terminate":
        return "Random policy: I stop here."
    return f"Random policy: {action.type} on {action.name}."


def observation_space(max_length: int = MAX_TEXT_LENGTH) -> spaces.Dict:
    """The observation space of the OPeRA environments: five text fields.

    Keys: ``persona``, ``page``, ``history``, ``url``, ``actionable_names`` (one name per line),
    each a :class:`UnicodeText` that may be empty.

    Example:
        >>> sorted(observation_space().keys())
        ['actionable_names', 'history', 'page', 'persona', 'url']
    """
    return spaces.Dict({key: UnicodeText(max_length, min_length=0) for key in OBSERVATION_KEYS})
