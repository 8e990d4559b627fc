"""Deterministic randomness for the synthetic store: one independent stream per purpose.

Every random choice of the generator draws from a :class:`random.Random` derived from the store
seed and a *purpose path* (``derive_rng(seed, "behaviour", 17)``). Streams are independent of one
another, so adding a stream, changing the page scale or the split never shifts the choices made
by another stream. That is what keeps actions identical across page scales.

Example:
    >>> a = derive_rng(0, "behaviour", 3).random()
    >>> a == derive_rng(0, "behaviour", 3).random()
    True
    >>> len(uuid_from(derive_rng(0, "user", 1)))
    36
"""

from __future__ import annotations

import hashlib
import random
import uuid


def derive_seed(seed: int, *path: object) -> int:
    """A 64-bit seed from the store seed and a purpose path (stable across runs and platforms)."""
    text = "\x1f".join([str(int(seed)), *(str(p) for p in path)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def derive_rng(seed: int, *path: object) -> random.Random:
    """An independent random stream for one purpose."""
    return random.Random(derive_seed(seed, *path))


def uuid_from(rng: random.Random) -> str:
    """A uuid4-shaped id (36 characters) drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return low if value < low else high if value > high else value
