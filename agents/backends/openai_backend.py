"""Any OpenAI-compatible chat endpoint as a backend (official ``openai`` client).

Requests run in a thread pool of ``max_concurrency`` workers. Transient failures (connection
errors, time-outs, HTTP 408/409/429/5xx) are retried with exponential back-off
(``backoff_s * 2**attempt``, capped at ``max_backoff_s``, with jitter); other errors (bad request,
authentication) fail at once. When a 429 or 503 answer says how long to wait (``retry-after-ms``,
or ``Retry-After`` in seconds or as an HTTP date), that wait replaces the back-off, up to
``max_retry_after_s``. A request that still fails becomes a :class:`Generation` with ``error``
set, never an exception.

Credentials in ``base_url`` (``https://user:password@host/v1``) are sent as usual but redacted
wherever the URL is recorded: ``describe()``, error texts and the HTTP client's log lines
(:mod:`agents.redaction`).

Configuration: arguments first, then ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``. A local server
(``base_url`` given) needs no key; without a base URL (OpenAI itself) a key is required.

Example:
    >>> backend = OpenAIBackend("gpt-4.1", max_concurrency=8)  # doctest: +SKIP
    >>> backend = OpenAIBackend("tiny", base_url="http://127.0.0.1:8000/v1")  # doctest: +SKIP
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from agents.backends import Conversation, Generation, SamplingParams
from agents.redaction import install_log_redaction, redact_text, redact_url

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Statuses whose ``Retry-After`` / ``retry-after-ms`` header is followed.
RETRY_AFTER_STATUS = frozenset({429, 503})


class OpenAIBackend:
    """Chat completions over HTTP.

    Args:
        model: The served model's name.
        base_url: Endpoint root (``.../v1``); default ``$OPENAI_BASE_URL``, else OpenAI's.
        api_key: Default ``$OPENAI_API_KEY``; a placeholder for a local ``base_url``.
        params: Default sampling parameters.
        max_concurrency: Requests in flight at once.
        max_retries: Retries of a transient failure (0: try once).
        timeout_s: Time-out of one request.
        backoff_s: First back-off delay; it doubles per retry.
        max_backoff_s: Longest back-off delay.
        max_retry_after_s: Longest wait a server's ``Retry-After`` may ask for (longer asks are
            cut to this).
        token_limit_field: ``max_tokens`` (most servers) or ``max_completion_tokens`` (newer
            OpenAI models).
        client: An ``openai.OpenAI`` client to use instead of building one (tests, proxies).

    Raises:
        ValueError: when no API key is available for OpenAI's own endpoint.
    """

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 params: SamplingParams | None = None, max_concurrency: int = 4, max_retries: int = 3,
                 timeout_s: float = 120.0, backoff_s: float = 1.0, max_backoff_s: float = 30.0,
                 max_retry_after_s: float = 60.0, token_limit_field: str = "max_tokens",
                 client: Any = None) -> None:
        if max_concurrency < 1 or max_retries < 0:
            raise ValueError(f"max_concurrency must be >= 1 and max_retries >= 0, "
                             f"got {max_concurrency} and {max_retries}")
        if token_limit_field not in ("max_tokens", "max_completion_tokens"):
            raise ValueError(f"token_limit_field must be max_tokens or max_completion_tokens, "
                             f"got {token_limit_field!r}")
        self.model = model
        self.params = params or SamplingParams()
        self.max_concurrency, self.max_retries = max_concurrency, max_retries
        self.timeout_s, self.backoff_s, self.max_backoff_s = timeout_s, backoff_s, max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.token_limit_field = token_limit_field
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        install_log_redaction()  # the HTTP client logs each request's URL, credentials included
        if client is None:
            import openai

            key = api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url is None:
                    raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY "
                                     "(or pass base_url= for a local server that needs none)")
                key = "not-needed"
            # Retries are ours (counted, with our back-off), so the client's own are off.
            client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=timeout_s, max_retries=0)
        self.client = client
        self._jitter = random.Random(0)
        self._lock = threading.Lock()
        self.retries = 0

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams | None = None, *,
                 constraints: Sequence[Any] | None = None) -> list[Generation]:
        """One generation per conversation, ``max_concurrency`` requests at a time, in order.

        ``constraints`` (per conversation, an :class:`agents.constraints.ActionConstraint` or None)
        are sent as a JSON-schema ``response_format``: the server's guided decoding keeps the
        action's name among the page's names.
        """
        params = params or self.params
        limits = list(constraints) if constraints is not None else [None] * len(conversations)
        if len(limits) != len(conversations):
            raise ValueError(f"{len(limits)} constraints for {len(conversations)} conversations")
        if len(conversations) <= 1 or self.max_concurrency == 1:
            return [self._complete(c, params, k) for c, k in zip(conversations, limits)]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(conversations))) as pool:
            return list(pool.map(lambda ck: self._complete(ck[0], params, ck[1]), zip(conversations, limits)))

    def _complete(self, conversation: Conversation, params: SamplingParams, constraint: Any = None) -> Generation:
        request = {"model": self.model, "messages": [dict(m) for m in conversation],
                   "temperature": params.temperature, "top_p": params.top_p, "seed": params.seed,
                   self.token_limit_field: params.max_new_tokens}
        if constraint is not None:
            from agents.constraints import response_format

            request["response_format"] = response_format(constraint)
        last_error = "no attempt made"
        asked: float | None = None  # the wait the server asked for after the last failure
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                    delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                    delay *= 0.5 + self._jitter.random() / 2
                time.sleep(delay if asked is None else min(asked, self.max_retry_after_s))
            try:
                response = self.client.chat.completions.create(**request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a counted Generation
                last_error = redact_text(f"{type(exc).__name__}: {exc}")
                if _retryable(exc):
                    asked = retry_after_s(exc)
                    continue
                return Generation("", error=last_error)
            if not response.choices:
                return Generation("", error="the response has no choices")
            choice = response.choices[0]
            usage = getattr(response, "usage", None)
            return Generation(choice.message.content or "", finish_reason=choice.finish_reason,
                              prompt_tokens=getattr(usage, "prompt_tokens", None),
                              completion_tokens=getattr(usage, "completion_tokens", None))
        return Generation("", error=f"gave up after {self.max_retries + 1} attempts: {last_error}")

    def describe(self) -> dict[str, Any]:
        base_url = redact_url(self.base_url) if self.base_url else None
        return {"backend": "openai", "model": self.model, "base_url": base_url,
                "max_concurrency": self.max_concurrency, "max_retries": self.max_retries,
                "timeout_s": self.timeout_s, "params": self.params.as_dict(), "retries_so_far": self.retries}


def retry_after_s(exc: Exception) -> float | None:
    """The wait a 429 / 503 answer asks for, in seconds (None: it asks for none we can read).

    ``retry-after-ms`` (milliseconds, OpenAI's) wins over ``Retry-After`` (seconds or an
    HTTP date, RFC 9110 section 10.2.3).
    """
    if getattr(exc, "status_code", None) not in RETRY_AFTER_STATUS:
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            if scale != 1.0:
                continue
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            seconds = when.timestamp() - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes time-outs
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS
    return False
