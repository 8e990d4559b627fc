"""A small OpenAI-compatible chat server over a local transformers model (loopback only).

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /v1/models/{id}`` and
``GET /health``; enough for the official ``openai`` client and for
:class:`agents.backends.openai_backend.OpenAIBackend`. It is the standard library's
``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive, a listen backlog of
:data:`LISTEN_BACKLOG`) in front of one generation worker: the model is shared and not
thread-safe, so requests wait in a bounded first-in first-out queue and are generated one at a
time.

Under load and faults:

* ``max_tokens`` above the cap (``--max-tokens-cap``) is refused with 400, so no request can hold
  the model for an unbounded time;
* when ``--max-queue`` requests already wait, a new one gets 503 with ``Retry-After`` (seconds,
  estimated from recent generation times) instead of waiting without bound;
* a client that disconnects while waiting or generating cancels its generation (the backend
  stops at the next token when it supports ``should_stop``, as ``TransformersBackend`` does);
* every error is answered in the OpenAI shape ``{"error": {"message", "type", "param", "code"}}``
  (``code`` a string), the request body is always consumed (or the connection closed) so an
  error never leaves bytes to be read as a second request, and idle connections close after
  ``--idle-timeout`` seconds.

Request fields: ``model`` (required, the served name; another is 404), ``messages`` (roles
``system`` / ``user`` / ``assistant``, string content or a list of text parts), ``max_tokens`` /
``max_completion_tokens``, ``temperature`` (0 to 2; 0 is greedy), ``top_p`` (0 < p <= 1),
``seed``, ``stop`` (up to 4 strings; the text is cut at the first), ``user`` (ignored). Fields
this server does not implement (``stream``, ``logprobs``, ``tools``, ``response_format``, ``n`` > 1,
penalties, ...) are refused with 400 naming the field unless they carry their "off" value, and an
unknown field is refused too: nothing a client asks for is silently ignored.

It binds only to loopback addresses (IPv4 or IPv6): it has no authentication and is meant for
local evaluation and tests, not for serving a network.

Example:
    $ python -m agents.serve --model path/to/model --port 8000 --max-queue 32
    >>> from openai import OpenAI  # doctest: +SKIP
    >>> OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="x").models.list()  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import logging
import math
import queue
import select
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import unquote, urlsplit

from agents.backends import Generation, SamplingParams
from customer_env.command_line import CommandLineParser, positive_int

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
#: The listen backlog: connections the kernel holds while the accept loop is busy.
LISTEN_BACKLOG = 128
DEFAULT_MAX_TOKENS_CAP = 4096
DEFAULT_MAX_QUEUE = 64
DEFAULT_IDLE_TIMEOUT_S = 60.0
#: How often a waiting request checks whether its client has gone.
DISCONNECT_POLL_S = 0.05
ROLES = ("system", "user", "assistant")
MAX_STOP_SEQUENCES = 4
#: Fields the server does not implement, with the values that mean "not used" (null always does).
UNSUPPORTED_UNLESS = {
    "stream": (False,), "stream_options": (), "logprobs": (False,), "top_logprobs": (0,),
    "tools": ([],), "tool_choice": ("none",), "parallel_tool_calls": (), "functions": ([],),
    "function_call": ("none",), "response_format": ({"type": "text"},), "presence_penalty": (0,),
    "frequency_penalty": (0,), "logit_bias": ({},), "modalities": (["text"],), "audio": (),
    "prediction": (), "reasoning_effort": (), "web_search_options": (), "store": (False,),
    "metadata": (), "service_tier": ("auto", "default"),
}
#: Fields the server implements (``n`` only as 1).
SUPPORTED = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                       "top_p", "seed", "stop", "n", "user"})


class APIError(Exception):
    """An error answered in the OpenAI shape.

    Attributes:
        status: The HTTP status.
        payload: ``{"error": {"message", "type", "param", "code"}}``.
        close: Close the connection after answering (the request could not be read whole).
        headers: Extra response headers (``Retry-After``).
    """

    def __init__(self, status: int, message: str, *, code: str, param: str | None = None,
                 kind: str | None = None, close: bool = False, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        kind = kind or ("invalid_request_error" if status < 500 else "server_error")
        self.status, self.close, self.headers = status, close, dict(headers or {})
        self.payload = {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _ClientGone(Exception):
    """The client closed its connection; nothing can be answered."""


def check_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is ``localhost`` or a loopback IP address."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"refusing to bind to {host!r}: this server has no authentication and serves "
                     "loopback addresses only (127.0.0.1, ::1, localhost)")


# ------------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class ChatRequest:
    """A checked chat-completion request."""

    messages: list[dict[str, str]]
    params: SamplingParams
    stop: tuple[str, ...] = ()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _is_off(value: Any, off: Sequence[Any]) -> bool:
    """Whether ``value`` is one of the "not used" values (numbers compare by value: 0 == 0.0)."""
    return any(value == o if _is_number(value) and _is_number(o) else (type(value) is type(o) and value == o)
               for o in off)


def _bad(message: str, param: str, code: str = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _bad("'messages' must be a non-empty list of messages", "messages", "invalid_type")
    out = []
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _bad(f"{where} must be an object", where, "invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise _bad(f"{where}.role must be one of {', '.join(ROLES)}, got {role!r}", f"{where}.role")
        # null-valued extras are what the openai client echoes back (refusal, tool_calls, ...).
        unknown = sorted(k for k, v in message.items() if k not in ("role", "content") and v is not None)
        if unknown:
            raise _bad(f"{where} has fields this server does not support: {', '.join(unknown)}",
                       f"{where}.{unknown[0]}", "unsupported_parameter")
        content = message.get("content")
        if isinstance(content, list):
            texts = []
            for j, part in enumerate(content):
                if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                    raise _bad(f"{where}.content[{j}] must be a text part {{'type': 'text', 'text': ...}} "
                               "(only text is supported)", f"{where}.content[{j}]", "unsupported_value")
                texts.append(part["text"])
            content = "".join(texts)
        if not isinstance(content, str):
            raise _bad(f"{where}.content must be a string or a list of text parts", f"{where}.content",
                       "invalid_type")
        out.append({"role": role, "content": content})
    return out


def _max_tokens(body: dict[str, Any], cap: int) -> int | None:
    given = {name: body[name] for name in ("max_completion_tokens", "max_tokens") if body.get(name) is not None}
    if len(set(map(repr, given.values()))) > 1:
        raise _bad("max_tokens and max_completion_tokens disagree; send one", "max_tokens")
    if not given:
        return None
    name, value = next(iter(given.items()))
    if not _is_int(value) or value < 1:
        raise _bad(f"{name} must be an integer >= 1, got {value!r}", name)
    if value > cap:
        raise _bad(f"{name} is {value}, above this server's cap of {cap} (--max-tokens-cap)", name,
                   "max_tokens_exceeded")
    return value


def _stop(value: Any) -> tuple[str, ...]:
    stops = [value] if isinstance(value, str) else value
    if value is None:
        return ()
    if (not isinstance(stops, list) or len(stops) > MAX_STOP_SEQUENCES
            or not all(isinstance(s, str) and s for s in stops)):
        raise _bad(f"stop must be a non-empty string or a list of up to {MAX_STOP_SEQUENCES} of them",
                   "stop")
    return tuple(stops)


def parse_chat_request(body: Any, *, model_name: str, defaults: SamplingParams,
                       max_tokens_cap: int) -> ChatRequest:
    """Check a decoded request body against what this server implements.

    Raises:
        APIError: 400 naming the field (``param``) that is missing, malformed or unsupported;
            404 (``model_not_found``) for another model than the served one.
    """
    if not isinstance(body, dict):
        raise APIError(400, "the body must be a JSON object", code="invalid_json")
    for name, off in UNSUPPORTED_UNLESS.items():
        value = body.get(name)
        if value is not None and not _is_off(value, off):
            raise _bad(f"{name}={json.dumps(value)[:80]} is not supported by this server", name,
                       "unsupported_parameter")
    unknown = sorted(set(body) - SUPPORTED - set(UNSUPPORTED_UNLESS))
    if unknown:
        raise _bad(f"unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required: the served model's name", "model", "missing_required_parameter")
    if model != model_name:
        raise APIError(404, f"the model {model!r} does not exist; this server serves {model_name!r}",
                       param="model", code="model_not_found")
    if body.get("n") is not None and not (_is_int(body["n"]) and body["n"] == 1):
        raise _bad(f"only n=1 is supported, got {body['n']!r}", "n", "unsupported_value")
    overrides: dict[str, Any] = {"max_new_tokens": _max_tokens(body, max_tokens_cap)}
    for name, low, high, low_open in (("temperature", 0.0, 2.0, False), ("top_p", 0.0, 1.0, True)):
        value = body.get(name)
        if value is not None:
            if not _is_number(value) or value > high or value < low or (low_open and value == low):
                bound = f"{'>' if low_open else '>='} {low:g} and <= {high:g}"
                raise _bad(f"{name} must be a number {bound}, got {value!r}", name)
            overrides[name] = float(value)
    seed = body.get("seed")
    if seed is not None:
        if not _is_int(seed) or not 0 <= seed < 2**63:
            raise _bad(f"seed must be an integer in [0, 2**63), got {seed!r}", "seed")
        overrides["seed"] = seed
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise _bad("user must be a string", "user", "invalid_type")
    messages = _messages(body.get("messages"))
    return ChatRequest(messages, defaults.with_overrides(**overrides), _stop(body.get("stop")))


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    cuts = [text.index(s) for s in stops if s in text]
    return (text[:min(cuts)], True) if cuts else (text, False)


# ------------------------------------------------------------------------------- generation


@dataclass
class _Job:
    messages: list[dict[str, str]]
    params: SamplingParams
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: Generation | None = None


def _accepts(function: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


class GenerationQueue:
    """A bounded first-in first-out queue in front of one generation worker thread.

    Args:
        backend: Anything with ``generate(conversations, params)``; ``should_stop=`` is passed
            when its ``generate`` takes it, so a cancelled request stops mid-generation.
        capacity: Requests that may wait (the one being generated not counted).
    """

    def __init__(self, backend: Any, capacity: int) -> None:
        self.backend, self.capacity = backend, capacity
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=capacity)
        self._cancellable = backend is not None and _accepts(backend.generate, "should_stop")
        self._seconds: float | None = None  # moving average of one generation's wall time
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generation", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def submit(self, job: _Job) -> bool:
        """Queue ``job``; False when the queue is full."""
        if self._closed.is_set():
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._count("rejected")
            return False
        return True

    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def retry_after_s(self) -> int:
        """Seconds a rejected client should wait: the queue's expected drain time (1 to 60)."""
        per_request = self._seconds if self._seconds is not None else 1.0
        return int(min(60, max(1, math.ceil(per_request * (self.waiting + 1)))))

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                job = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if job.cancelled.is_set():  # its client left while it waited
                self._count("cancelled")
                job.done.set()
                continue
            started = time.perf_counter()
            kwargs = {"should_stop": job.cancelled.is_set} if self._cancellable else {}
            try:
                job.result = self.backend.generate([job.messages], job.params, **kwargs)[0]
            except Exception as exc:  # noqa: BLE001 - a backend failure is this request's 500
                job.result = Generation("", error=f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - started
            self._seconds = elapsed if self._seconds is None else 0.8 * self._seconds + 0.2 * elapsed
            self._count("cancelled" if job.cancelled.is_set() else "generated")
            job.done.set()

    def close(self) -> None:
        """Stop the worker; requests still waiting are cancelled."""
        self._closed.set()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            job.cancelled.set()
            job.done.set()


# ------------------------------------------------------------------------------------- HTTP


class ChatHandler(BaseHTTPRequestHandler):
    """Routes the endpoints; the server object carries the model and the queue."""

    protocol_version = "HTTP/1.1"
    server_version = "customer-r1-serve"
    server: "ChatServer"

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout_s  # idle keep-alive connections and slow bodies end
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def _handle(self) -> None:
        try:
            try:
                body = self._read_body()
                self._route(urlsplit(self.path).path.rstrip("/") or "/", body)
            except APIError as error:
                self._send(error.status, error.payload, headers=error.headers, close=error.close)
            except (_ClientGone, ConnectionError, TimeoutError, socket.timeout):
                raise
            except Exception as exc:  # noqa: BLE001 - every request gets an answer
                log.exception("internal error answering %s %s", self.command, self.path)
                self._send(500, APIError(500, f"internal server error: {type(exc).__name__}",
                                         code="internal_error").payload, close=True)
        except (_ClientGone, ConnectionError, TimeoutError, socket.timeout):
            self.close_connection = True  # the client left or stalled: nothing more to say

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise APIError(411, "chunked request bodies are not supported: send Content-Length",
                           code="length_required", close=True)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(set(lengths)) > 1 or not lengths[0].strip().isdigit():
            raise APIError(400, f"invalid Content-Length {', '.join(lengths)!r}",
                           code="invalid_content_length", close=True)
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            raise APIError(413, f"the body is {length} bytes, above the limit of {MAX_BODY_BYTES}",
                           code="body_too_large", close=True)
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            raise APIError(408, f"the body did not arrive within {self.server.idle_timeout_s:g} s",
                           code="request_timeout", close=True) from None
        if len(data) < length:
            raise _ClientGone
        return data

    def _route(self, path: str, body: bytes) -> None:
        method = self.command
        if path in ("/health", "/v1/models", "/v1/chat/completions") or path.startswith("/v1/models/"):
            allowed = "POST" if path == "/v1/chat/completions" else "GET"
            if method != allowed:
                raise APIError(405, f"{method} is not allowed on {path}; use {allowed}",
                               code="method_not_allowed", headers={"Allow": allowed})
        else:
            raise APIError(404, f"unknown URL {method} {path}", code="unknown_url")
        if path == "/health":
            return self._send(200, {"status": "ok", "model": self.server.model_name,
                                    "waiting": self.server.queue.waiting,
                                    "max_queue": self.server.queue.capacity,
                                    "requests": dict(self.server.queue.stats)})
        if path == "/v1/models":
            return self._send(200, {"object": "list", "data": [self.server.model_card()]})
        if path.startswith("/v1/models/"):
            name = unquote(path[len("/v1/models/"):])
            if name != self.server.model_name:
                raise APIError(404, f"the model {name!r} does not exist; this server serves "
                               f"{self.server.model_name!r}", param="model", code="model_not_found")
            return self._send(200, self.server.model_card())
        self._complete(body)

    def _complete(self, raw: bytes) -> None:
        if not raw:
            if self.headers.get("Content-Length") is None:  # a body may follow that we cannot delimit
                raise APIError(411, "send the body with a Content-Length header", code="length_required",
                               close=True)
            raise APIError(400, "the body must be a JSON object (got an empty body)", code="invalid_json")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as exc:
            raise APIError(400, f"the body is not valid JSON: {str(exc)[:200]}", code="invalid_json") from None
        server = self.server
        request = parse_chat_request(body, model_name=server.model_name, defaults=server.defaults,
                                     max_tokens_cap=server.max_tokens_cap)
        job = _Job(request.messages, request.params)
        if not server.queue.submit(job):
            wait = server.queue.retry_after_s()
            raise APIError(503, f"the server is busy ({server.queue.capacity} requests already wait); "
                           f"retry after {wait} s", code="server_overloaded", headers={"Retry-After": str(wait)})
        self._await(job)
        generation = job.result
        if generation is None or generation.error is not None:
            error = generation.error if generation is not None else "no generation"
            raise APIError(500, f"generation failed: {error}", code="generation_failed")
        text, stopped = _cut_at_stop(generation.text, request.stop)
        prompt_tokens, completion_tokens = generation.prompt_tokens or 0, generation.completion_tokens or 0
        self._send(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": server.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop" if stopped else (generation.finish_reason or "stop"),
                         "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _await(self, job: _Job) -> None:
        """Wait for the job; if the client disconnects meanwhile, cancel it."""
        while not job.done.wait(DISCONNECT_POLL_S):
            if _disconnected(self.connection):
                job.cancelled.set()
                raise _ClientGone

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's answer to unreadable requests (bad request line, 414, 431, ...)."""
        text = message or self.responses.get(code, ("error",))[0]
        if self.request_version == "HTTP/0.9":  # unparsed version: answer with a status line anyway
            self.request_version = self.protocol_version
        self._send(code, APIError(code, text, code="bad_request" if code == 400 else f"http_{code}").payload,
                   close=True)

    def _send(self, status: int, payload: dict[str, Any], *, headers: dict[str, str] | None = None,
              close: bool = False) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.verbose:
            super().log_message(format, *args)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _disconnected(sock: socket.socket) -> bool:
    """Whether the peer closed the connection (readable, and a peek reads end-of-file)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class ChatServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` holding the backend and the generation queue.

    Args:
        address: ``(host, port)``: a loopback host (IPv4 or IPv6), port 0 for a free one.
        backend: The model (``generate`` and ``params``); None only binds (tests).
        model_name: The name clients must send as ``model``.
        max_tokens_cap: The largest ``max_tokens`` a request may ask for.
        max_queue: Requests that may wait for the model; one more gets 503.
        idle_timeout_s: An idle (or stalled) connection is closed after this many seconds.
        verbose: Log every request.
    """

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], backend: Any, model_name: str, *,
                 max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP, max_queue: int = DEFAULT_MAX_QUEUE,
                 idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S, verbose: bool = False) -> None:
        check_loopback(address[0])
        if max_tokens_cap < 1 or max_queue < 1 or not idle_timeout_s > 0:
            raise ValueError(f"max_tokens_cap and max_queue must be >= 1 and idle_timeout_s > 0, got "
                             f"{max_tokens_cap}, {max_queue} and {idle_timeout_s}")
        self.defaults: SamplingParams = getattr(backend, "params", None) or SamplingParams()
        if self.defaults.max_new_tokens > max_tokens_cap:
            raise ValueError(f"the default max_new_tokens ({self.defaults.max_new_tokens}) is above "
                             f"max_tokens_cap ({max_tokens_cap})")
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, ChatHandler)
        self.backend, self.model_name, self.verbose = backend, model_name, verbose
        self.max_tokens_cap, self.idle_timeout_s = max_tokens_cap, idle_timeout_s
        self.created = int(time.time())
        self.queue = GenerationQueue(backend, max_queue)

    def model_card(self) -> dict[str, Any]:
        return {"id": self.model_name, "object": "model", "created": self.created, "owned_by": "customer-r1"}

    @property
    def base_url(self) -> str:
        """The ``.../v1`` root to give an OpenAI client."""
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("error while serving %s", client_address)

    def server_close(self) -> None:
        super().server_close()
        self.queue.close()


def make_server(backend: Any, *, host: str = "127.0.0.1", port: int = 0, model_name: str = "local",
                max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP, max_queue: int = DEFAULT_MAX_QUEUE,
                idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S, verbose: bool = False) -> ChatServer:
    """A server over ``backend`` (e.g. a TransformersBackend); port 0 picks a free one.

    Call ``serve_forever()`` (in a thread for tests) and ``shutdown()`` / ``server_close()``.
    """
    return ChatServer((host, port), backend, model_name, max_tokens_cap=max_tokens_cap,
                      max_queue=max_queue, idle_timeout_s=idle_timeout_s, verbose=verbose)


def main(argv: Sequence[str] | None = None) -> None:
    parser = CommandLineParser(prog="python -m agents.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model id, model directory or adapter directory")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1, ::1, localhost)")
    parser.add_argument("--served-name", default=None, help="the model name clients use (default: --model)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=256, help="default when a request sets none")
    parser.add_argument("--max-tokens-cap", type=positive_int, default=DEFAULT_MAX_TOKENS_CAP,
                        help="refuse requests asking for more tokens than this (HTTP 400)")
    parser.add_argument("--max-queue", type=positive_int, default=DEFAULT_MAX_QUEUE,
                        help="requests that may wait for the model; more get HTTP 503 with Retry-After")
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S,
                        help="seconds before an idle or stalled connection is closed")
    parser.add_argument("--batch-size", type=positive_int, default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    if not 1 <= args.max_new_tokens <= args.max_tokens_cap:
        parser.error(f"--max-new-tokens must be between 1 and --max-tokens-cap ({args.max_tokens_cap})")
    if args.max_queue < 1 or not args.idle_timeout > 0:
        parser.error("--max-queue must be >= 1 and --idle-timeout > 0")

    from agents.backends.transformers_backend import TransformersBackend
    from agents.checkpoint import inspect_checkpoint, load_checkpoint

    try:  # a directory, or a hub id (offline: in the local cache), before any model loads
        inspect_checkpoint(args.model)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(f"--model {args.model}: {exc}")

    params = SamplingParams(max_new_tokens=args.max_new_tokens)
    if Path(args.model).expanduser().is_dir():  # a full model or an adapter directory
        model, tokenizer = load_checkpoint(args.model, device=args.device, dtype=args.dtype)
        backend = TransformersBackend(model, tokenizer, params=params, batch_size=args.batch_size)
    else:  # a hub id
        backend = TransformersBackend(args.model, params=params, batch_size=args.batch_size,
                                      device=args.device, dtype=args.dtype)
    server = make_server(backend, host=args.host, port=args.port, model_name=args.served_name or args.model,
                         max_tokens_cap=args.max_tokens_cap, max_queue=args.max_queue,
                         idle_timeout_s=args.idle_timeout, verbose=args.verbose)
    print(f"serving {server.model_name} at {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
