"""What an observation is: its keys, and how its ``actionable_names`` field holds the page's names.

An observation is a dict of five strings (:data:`OBSERVATION_KEYS`). ``actionable_names`` lists
every element of the current page an action can target, one name per line, in page order. The
renderer writes it with :func:`join_names`; every reader (agents, rollout, parsers) reads it back
with :func:`actionable_names`, so all of them agree on what counts as a name.

Example:
    >>> text = join_names(["nav_bar.search_input", "reviews"])
    >>> actionable_names({"actionable_names": text + "\\n\\n reviews "})
    ['nav_bar.search_input', 'reviews']
"""

from __future__ import annotations

from typing import Iterable, Mapping

#: The keys of every observation, in the renderer's order.
OBSERVATION_KEYS: tuple[str, ...] = ("persona", "page", "history", "url", "actionable_names")


def join_names(names: Iterable[str]) -> str:
    """The ``actionable_names`` text of a page's names: one per line, in order."""
    return "\n".join(names)


def actionable_names(observation: Mapping[str, str]) -> list[str]:
    """The observation's actionable names, in page order: surrounding spaces stripped, blank lines
    and repeats dropped. An observation without the key has none."""
    lines = (line.strip() for line in observation.get("actionable_names", "").splitlines())
    return list(dict.fromkeys(name for name in lines if name))


__all__ = ["OBSERVATION_KEYS", "join_names", "actionable_names"]
