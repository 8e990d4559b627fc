"""Shards of an evaluation: a deterministic partition of the selected sessions, whole sessions each.

Shard ``I/N`` (``1 <= I <= N``) plays the selected sessions at positions ``I-1, I-1+N,
I-1+2N, ...`` of the selection (``env.unwrapped.session_ids``: fixed by the config and the
dataset, the same on every machine that reads the same data). Every session goes to exactly
one shard, whole; shards differ in length by at most one session, and a round-robin deal
spreads long and short sessions alike. ``agents.merge`` joins the shards' outputs into the
results of one run over all of them.

Example:
    >>> Shard.parse("2/3").select(["a", "b", "c", "d", "e"])
    ['b', 'e']
    >>> str(Shard(1, 2))
    '1/2'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


class ShardError(ValueError):
    """A shard that cannot be played (more shards than sessions); the message says how many there are."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based).

    Raises:
        ValueError: unless ``1 <= index <= count``.
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or isinstance(self.count, bool) or not isinstance(self.index, int) \
                or not isinstance(self.count, int) or not 1 <= self.index <= self.count:
            raise ValueError(f"a shard is I/N with 1 <= I <= N, got {self.index!r}/{self.count!r}")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"I/N"`` as a shard.

        Raises:
            ValueError: naming the text when it is not ``I/N`` with ``1 <= I <= N``.
        """
        index, sep, count = str(text).strip().partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"expected I/N with 1 <= I <= N (e.g. 1/4), got {text!r}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Shard | None":
        return None if data is None else cls(int(data["index"]), int(data["count"]))

    def select(self, session_ids: Sequence[str]) -> list[str]:
        """This shard's sessions, in selection order.

        Raises:
            ShardError: when the shard would be empty (more shards than sessions).
        """
        chosen = [sid for position, sid in enumerate(session_ids) if position % self.count == self.index - 1]
        if not chosen:
            raise ShardError(f"shard {self}: only {len(session_ids)} sessions are selected, "
                             f"so at most {len(session_ids)} shards")
        return chosen

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
