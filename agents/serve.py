"""A small OpenAI-compatible chat server over a local transformers model (loopback only).

``POST /v1/chat/completions`` and ``GET /v1/models``, enough for the official ``openai`` client
and for :class:`agents.backends.openai_backend.OpenAIBackend`. Requests are handled by a
``ThreadingHTTPServer`` and generated one at a time (the model is shared and not thread-safe).
Supported request fields: ``messages`` (string content, or a list of text parts), ``max_tokens``
/ ``max_completion_tokens``, ``temperature`` (0: greedy), ``top_p``, ``seed``, ``stop`` (the text
is cut at the first stop string) and ``n`` = 1; ``stream: true`` is refused with HTTP 400.

It binds only to loopback addresses: it has no authentication and is meant for local evaluation
and tests, not for serving a network.

Example:
    $ python -m agents.serve --model path/to/model --port 8000
    >>> from openai import OpenAI  # doctest: +SKIP
    >>> OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="x").models.list()  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

from agents.backends import SamplingParams

MAX_BODY_BYTES = 32 * 1024 * 1024


class RequestError(ValueError):
    """A bad request (answered with HTTP 400 and an OpenAI-style error body)."""


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


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RequestError(f"messages[{i}] must be an object with a string 'role'")
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise RequestError(f"messages[{i}].content must be a string or a list of text parts")
        out.append({"role": message["role"], "content": content})
    return out


def _params(body: dict[str, Any], defaults: SamplingParams) -> SamplingParams:
    if body.get("stream"):
        raise RequestError("streaming is not supported")
    if body.get("n", 1) != 1:
        raise RequestError("only n=1 is supported")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    try:
        return defaults.with_overrides(max_new_tokens=limit, temperature=body.get("temperature"),
                                       top_p=body.get("top_p"), seed=body.get("seed"))
    except (TypeError, ValueError) as exc:
        raise RequestError(str(exc)) from exc


def _cut_at_stop(text: str, stop: Any) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
    cuts = [text.index(s) for s in stops if s in text]
    return (text[:min(cuts)], True) if cuts else (text, False)


class ChatHandler(BaseHTTPRequestHandler):
    """Routes the two endpoints; the server object carries the backend (see :func:`make_server`)."""

    protocol_version = "HTTP/1.1"
    server: "ChatServer"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") != "/v1/models":
            return self._error(404, f"no route GET {self.path}", "not_found")
        model = {"id": self.server.model_name, "object": "model", "created": self.server.created,
                 "owned_by": "customer-r1"}
        self._send(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"no route POST {self.path}", "not_found")
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 < length <= MAX_BODY_BYTES:
                raise RequestError(f"the body must be 1 to {MAX_BODY_BYTES} bytes, got {length}")
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise RequestError("the body must be a JSON object")
            messages, params = _messages(body), _params(body, self.server.backend.params)
        except (RequestError, json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            return self._error(400, str(exc), "invalid_request_error")
        with self.server.generate_lock:
            generation = self.server.backend.generate([messages], params)[0]
        if generation.error is not None:
            return self._error(500, generation.error, "server_error")
        text, stopped = _cut_at_stop(generation.text, body.get("stop"))
        prompt_tokens, completion_tokens = generation.prompt_tokens or 0, generation.completion_tokens or 0
        self._send(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or self.server.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop" if stopped else (generation.finish_reason or "stop")}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.verbose:
            super().log_message(format, *args)


class ChatServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` holding the backend that answers the requests."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: Any, model_name: str, verbose: bool = False) -> None:
        check_loopback(address[0])
        super().__init__(address, ChatHandler)
        self.backend, self.model_name, self.verbose = backend, model_name, verbose
        self.created = int(time.time())
        self.generate_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The ``.../v1`` root to give an OpenAI client."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


def make_server(backend: Any, *, host: str = "127.0.0.1", port: int = 0, model_name: str = "local",
                verbose: bool = False) -> ChatServer:
    """A server over ``backend`` (e.g. a TransformersBackend); port 0 picks a free one.

    Call ``serve_forever()`` (in a thread for tests) and ``shutdown()`` / ``server_close()``.
    """
    return ChatServer((host, port), backend, model_name, verbose)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agents.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model id, model directory or adapter directory")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--served-name", default=None, help="the model name clients use (default: --model)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="default when a request sets none")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))

    from agents.backends.transformers_backend import TransformersBackend
    from agents.checkpoint import load_checkpoint

    params = SamplingParams(max_new_tokens=args.max_new_tokens)
    if Path(args.model).expanduser().is_dir():  # a full model or an adapter directory
        model, tokenizer = load_checkpoint(args.model, device=args.device, dtype=args.dtype)
        backend = TransformersBackend(model, tokenizer, params=params, batch_size=args.batch_size)
    else:  # a hub id
        backend = TransformersBackend(args.model, params=params, batch_size=args.batch_size,
                                      device=args.device, dtype=args.dtype)
    server = make_server(backend, host=args.host, port=args.port, model_name=args.served_name or args.model,
                         verbose=args.verbose)
    print(f"serving {server.model_name} at {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
