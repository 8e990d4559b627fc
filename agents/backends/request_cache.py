"""An opt-in request cache: deterministic chat requests answered from SQLite instead of the model.

:class:`CachedBackend` wraps any :class:`~agents.backends.ChatBackend`. A request with
temperature 0 (greedy: the same request gives the same text) is keyed by the SHA-256 of the
backend's identity (the model, and where it is served or stored), the messages and the sampling
parameters; a hit is answered from the cache, the misses of one call go to the backend together,
in order, and every successful answer is stored. A re-run of a paid or slow model therefore
costs nothing. Sampling (temperature above 0) is not deterministic per request, so it bypasses
the cache: that is logged once and counted (``bypassed``). Failed generations are never stored.

What the key holds:

* the backend's ``describe()`` without what does not change an answer (``params``, counters,
  concurrency, retries, time-outs, batch size): for ``openai`` the model name and ``base_url``,
  for ``transformers`` the model and the device; for a local model directory also the name,
  size and modification time of each of its files, so a retrained checkpoint at the same path
  misses instead of answering with the old model's text;
* the messages, exactly;
* the sampling parameters except ``seed`` (greedy decoding does not read it).

The database (``requests.sqlite`` in the cache directory) is standard-library ``sqlite3`` in
WAL mode; several processes (shards) may share one directory on a local disk.

Example:
    >>> backend = CachedBackend(OpenAIBackend("gpt-4.1"), RequestCache("runs/cache"))  # doctest: +SKIP
    >>> backend.generate([[{"role": "user", "content": "Hi"}]])  # doctest: +SKIP
    >>> backend.stats  # doctest: +SKIP
    {'hits': 0, 'misses': 1, 'bypassed': 0, 'stored': 1, 'backend_calls': 1}
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from agents.backends import Conversation, Generation, SamplingParams

logger = logging.getLogger(__name__)

DATABASE_FILE = "requests.sqlite"
#: Keys of a backend's ``describe()`` that do not change what it answers: not part of the key.
NON_ANSWER_KEYS = frozenset({"params", "retries_so_far", "max_concurrency", "max_retries", "timeout_s",
                             "batch_size", "stats", "request_cache"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created REAL NOT NULL
)
"""


class RequestCache:
    """The SQLite file of cached answers.

    Args:
        directory: Where ``requests.sqlite`` lives (created if missing).

    Raises:
        ValueError: naming the directory when it cannot hold a database.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DATABASE_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"--cache {self.directory}: cannot use {self.path} as a request cache ({exc})") from None
        self._lock = threading.Lock()

    def get(self, key: str) -> Generation | None:
        with self._lock:
            row = self._db.execute("SELECT text, finish_reason, prompt_tokens, completion_tokens FROM requests "
                                   "WHERE key = ?", (key,)).fetchone()
        return None if row is None else Generation(row[0], None, row[1], row[2], row[3])

    def put(self, key: str, backend: str, request: str, generation: Generation) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (key, backend, request, generation.text, generation.finish_reason,
                              generation.prompt_tokens, generation.completion_tokens, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def backend_identity(backend: Any) -> dict[str, Any]:
    """What of a backend decides its answers (see the module docstring)."""
    described = backend.describe() if callable(getattr(backend, "describe", None)) else {}
    identity = {k: v for k, v in dict(described).items() if k not in NON_ANSWER_KEYS}
    identity.setdefault("class", type(backend).__name__)
    model = identity.get("model")
    if isinstance(model, str) and Path(model).is_dir():
        identity["model_files"] = [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                   for p in sorted(Path(model).iterdir()) if p.is_file()]
    return json.loads(json.dumps(identity, default=str))


class CachedBackend:
    """A chat backend whose deterministic requests are answered from a :class:`RequestCache`.

    Everything else (``tokenizer``, ``model``, ``params``, ...) is the wrapped backend's.

    Attributes:
        stats: ``hits``, ``misses``, ``bypassed`` (sampled requests, not cached), ``stored``
            and ``backend_calls`` (calls of the wrapped backend's ``generate``).
    """

    def __init__(self, backend: Any, cache: RequestCache) -> None:
        self.backend = backend
        self.cache = cache
        self.identity = backend_identity(backend)
        self._identity_json = json.dumps(self.identity, sort_keys=True)
        self.stats = {"hits": 0, "misses": 0, "bypassed": 0, "stored": 0, "backend_calls": 0}
        self._warned = False

    def __getattr__(self, name: str) -> Any:
        if name == "backend":  # not set yet (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.backend, name)

    def key(self, conversation: Conversation, params: SamplingParams) -> tuple[str, str]:
        """``(key, request)``: the SHA-256 key and the canonical request text it is taken of."""
        sampling = {k: v for k, v in params.as_dict().items() if k != "seed"}
        request = json.dumps({"backend": self.identity, "messages": [dict(m) for m in conversation],
                              "params": sampling}, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(request.encode("ascii")).hexdigest(), request

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams | None = None) -> list[Generation]:
        """Cached answers for greedy requests, the wrapped backend's for the rest (in order)."""
        params = params or self.backend.params
        if not params.greedy:
            if not self._warned:
                logger.warning("request cache bypassed: temperature %g samples, so a request has no one answer "
                               "to cache (only temperature 0 is cached)", params.temperature)
                self._warned = True
            self.stats["bypassed"] += len(conversations)
            self.stats["backend_calls"] += 1
            return self.backend.generate(conversations, params)
        keys = [self.key(c, params) for c in conversations]
        results: list[Generation | None] = [self.cache.get(key) for key, _ in keys]
        missing = [i for i, found in enumerate(results) if found is None]
        self.stats["hits"] += len(conversations) - len(missing)
        self.stats["misses"] += len(missing)
        if missing:
            self.stats["backend_calls"] += 1
            generated = self.backend.generate([conversations[i] for i in missing], params)
            if len(generated) != len(missing):
                return generated  # the caller reports a wrong count; nothing is stored
            for i, generation in zip(missing, generated):
                results[i] = generation
                if generation.ok:
                    self.cache.put(keys[i][0], str(self.identity.get("backend", self.identity["class"])),
                                   keys[i][1], generation)
                    self.stats["stored"] += 1
        return [r for r in results if r is not None]

    def describe(self) -> dict[str, Any]:
        return {**self.backend.describe(), "request_cache": {"path": str(self.cache.path), **self.stats}}


def use_request_cache(agent: Any, directory: str | Path) -> CachedBackend | None:
    """Put the request cache in front of ``agent.backend``; None when the agent has no chat backend.

    Example:
        >>> agent = agents.make("prompting", backend="openai", model="gpt-4.1")  # doctest: +SKIP
        >>> use_request_cache(agent, "runs/cache").stats["hits"]  # doctest: +SKIP
        0
    """
    backend = getattr(agent, "backend", None)
    if backend is None or not callable(getattr(backend, "generate", None)):
        return None
    if isinstance(backend, CachedBackend):
        return backend
    agent.backend = CachedBackend(backend, RequestCache(directory))
    return agent.backend
