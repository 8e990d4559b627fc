"""The OpenAI-compatible server under faults and load (loopback only, bounded in count and time)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

import pytest

from agents.backends import Generation, SamplingParams
from agents.serve import LISTEN_BACKLOG, main, make_server

MESSAGES = [{"role": "user", "content": "hi"}]
ERROR_KEYS = {"message", "type", "param", "code"}


class StubBackend:
    """Echoes the last message; optionally holds its first call until released or cancelled."""

    params = SamplingParams(max_new_tokens=8)

    def __init__(self, *, hold_first: bool = False) -> None:
        self.hold_first = hold_first
        self.calls: list[SamplingParams] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancelled = threading.Event()

    def generate(self, conversations, params=None, *, should_stop=None):
        self.calls.append(params)
        if self.hold_first and len(self.calls) == 1:
            self.started.set()
            deadline = time.monotonic() + 20
            while not self.release.is_set() and time.monotonic() < deadline:
                if should_stop is not None and should_stop():
                    self.cancelled.set()
                    return [Generation("", error="cancelled")]
                time.sleep(0.01)
        return [Generation(f"echo: {c[-1]['content']}", finish_reason="stop", prompt_tokens=3,
                           completion_tokens=2) for c in conversations]


@contextmanager
def serving(backend: Any, **kwargs: Any) -> Iterator[Any]:
    server = make_server(backend, model_name=kwargs.pop("model_name", "tiny"), **kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def connect(server: Any) -> http.client.HTTPConnection:
    host, port = server.server_address[:2]
    return http.client.HTTPConnection(host, port, timeout=30)


def call(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None,
         raw: bytes | None = None) -> tuple[int, Any, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    return response.status, response.headers, json.loads(payload) if payload else None


def chat(server: Any, **fields: Any) -> tuple[int, Any, Any]:
    return call(connect(server), "POST", "/v1/chat/completions", {"model": "tiny", "messages": MESSAGES, **fields})


def assert_openai_error(payload: Any, *, param: str | None = None, code: str | None = None) -> None:
    error = payload["error"]
    assert set(error) == ERROR_KEYS and isinstance(error["code"], str) and error["message"]
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code


def raw_exchange(server: Any, data: bytes, wait_s: float = 5.0) -> bytes:
    """Send bytes on a fresh connection; read until the server closes it (or ``wait_s``)."""
    sock = socket.create_connection(server.server_address[:2], timeout=wait_s)
    sock.sendall(data)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except TimeoutError:
        pass
    sock.close()
    return out


# --------------------------------------------------------------------------------- protocol


def test_health_models_and_model_by_id() -> None:
    with serving(StubBackend(), model_name="org/tiny-model") as server:
        conn = connect(server)
        status, _, health = call(conn, "GET", "/health")
        assert status == 200 and health["status"] == "ok" and health["model"] == "org/tiny-model"
        status, _, models = call(conn, "GET", "/v1/models")
        assert status == 200 and [m["id"] for m in models["data"]] == ["org/tiny-model"]
        status, _, model = call(conn, "GET", "/v1/models/org/tiny-model")  # a hub id keeps its slash
        assert status == 200 and model["id"] == "org/tiny-model" and model["object"] == "model"
        status, _, missing = call(conn, "GET", "/v1/models/gpt-4")
        assert status == 404
        assert_openai_error(missing, param="model", code="model_not_found")
        status, _, unknown = call(conn, "GET", "/v2/everything")
        assert status == 404
        assert_openai_error(unknown, code="unknown_url")


def test_an_unknown_model_is_404_and_never_generated() -> None:
    backend = StubBackend()
    with serving(backend) as server:
        status, _, payload = call(connect(server), "POST", "/v1/chat/completions",
                                  {"model": "gpt-4o", "messages": MESSAGES})
        assert status == 404  # before: accepted, generated and echoed back as "gpt-4o"
        assert_openai_error(payload, param="model", code="model_not_found")
        status, _, ok = chat(server)
        assert status == 200 and ok["model"] == "tiny" and ok["choices"][0]["message"]["content"] == "echo: hi"
        assert len(backend.calls) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("stream", True), ("logprobs", True), ("top_logprobs", 2),
    ("tools", [{"type": "function", "function": {"name": "buy"}}]), ("tool_choice", "auto"),
    ("response_format", {"type": "json_object"}), ("n", 2), ("presence_penalty", 0.5),
    ("logit_bias", {"50256": -100}), ("frobnicate", 1),
])
def test_unsupported_fields_are_refused_with_400_naming_them(field: str, value: Any) -> None:
    backend = StubBackend()
    with serving(backend) as server:
        status, _, payload = chat(server, **{field: value})
        assert status == 400, payload  # before: all but stream and n were silently ignored
        assert_openai_error(payload, param=field)
        assert backend.calls == []


def test_the_off_values_of_unsupported_fields_are_accepted() -> None:
    with serving(StubBackend()) as server:
        status, _, payload = chat(server, stream=False, logprobs=False, n=1, tools=[], tool_choice="none",
                                  response_format={"type": "text"}, presence_penalty=0.0, frequency_penalty=0,
                                  user="me",
                                  messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                                            {"role": "assistant", "content": "ok", "refusal": None},
                                            {"role": "user", "content": "again"}])
        assert status == 200 and payload["choices"][0]["message"]["content"] == "echo: again"


#: Bodies the old server answered with nothing at all (the first two), or took as valid.
MALFORMED = {
    "stop is a number": json.dumps({"model": "tiny", "messages": MESSAGES, "stop": 5}).encode(),
    "nesting deeper than the parser": b'{"model": "tiny", "messages": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    "NaN temperature": b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
    "invalid UTF-8": b'{"model": "tiny", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
    "not an object": b"[]",
    "fractional max_tokens": json.dumps({"model": "tiny", "messages": MESSAGES, "max_tokens": 1.5}).encode(),
    "text seed": json.dumps({"model": "tiny", "messages": MESSAGES, "seed": "x"}).encode(),
    "image part": json.dumps({"model": "tiny", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}).encode(),
    "tool role": json.dumps({"model": "tiny", "messages": [{"role": "tool", "content": "x"}]}).encode(),
    "no model": json.dumps({"messages": MESSAGES}).encode(),
    "empty messages": json.dumps({"model": "tiny", "messages": []}).encode(),
    "temperature 7": json.dumps({"model": "tiny", "messages": MESSAGES, "temperature": 7}).encode(),
    "integer beyond any float": json.dumps({"model": "tiny", "messages": MESSAGES, "temperature": 10**400}).encode(),
    "empty stop": json.dumps({"model": "tiny", "messages": MESSAGES, "stop": [""]}).encode(),
    "disagreeing limits": json.dumps({"model": "tiny", "messages": MESSAGES, "max_tokens": 4,
                                      "max_completion_tokens": 5}).encode(),
}


def test_malformed_bodies_get_a_400_and_the_connection_stays_usable() -> None:
    backend = StubBackend()
    with serving(backend) as server:
        conn = connect(server)  # one keep-alive connection for all of them
        for name, body in MALFORMED.items():
            status, _, payload = call(conn, "POST", "/v1/chat/completions", raw=body)
            assert status == 400, name
            assert_openai_error(payload)
            status, _, health = call(conn, "GET", "/health")
            assert status == 200 and health["status"] == "ok", name
        assert backend.calls == []


def test_an_error_never_leaves_its_body_to_be_read_as_a_second_request() -> None:
    smuggled = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
    with serving(StubBackend()) as server:
        out = raw_exchange(server, b"POST /v1/nope HTTP/1.1\r\nHost: x\r\nContent-Length: "
                           + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled
                           + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    statuses = [part.split(b"\r\n", 1)[0] for part in out.split(b"HTTP/1.1 ")[1:]]
    # Before: three answers, the middle one to the smuggled GET /v1/models.
    assert statuses == [b"404 Not Found", b"200 OK"]
    assert b'"status": "ok"' in out and b'"object": "list"' not in out


def test_http_layer_errors_are_json_in_the_openai_shape() -> None:
    with serving(StubBackend()) as server:
        answers = {
            "bad version": raw_exchange(server, b"GET /health HTTP/7.x\r\n\r\n"),
            "DELETE": raw_exchange(server, b"DELETE /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "chunked": raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
            "two lengths": raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                                b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"),
            "no length": raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n"),
        }
    expected = {"bad version": b"400", "DELETE": b"405", "chunked": b"411", "two lengths": b"400",
                "no length": b"411"}
    for name, out in answers.items():
        head, _, body = out.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == expected[name], (name, out[:200])
        assert b"application/json" in head
        assert_openai_error(json.loads(body))


def test_ipv6_loopback() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:  # a machine without IPv6 loopback
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with serving(StubBackend(), host="::1") as server:  # before: socket.gaierror at bind
        assert server.base_url.startswith("http://[::1]:") and server.base_url.endswith("/v1")
        status, _, payload = chat(server)
        assert status == 200 and payload["choices"][0]["message"]["content"] == "echo: hi"
    with pytest.raises(ValueError, match="loopback"):
        make_server(StubBackend(), host="::")


def test_the_listen_backlog_is_at_least_128() -> None:
    with serving(StubBackend()) as server:
        assert server.request_queue_size >= 128 and LISTEN_BACKLOG >= 128  # before: 5


# ----------------------------------------------------------------------------- load limits


def test_max_tokens_above_the_cap_is_refused() -> None:
    backend = StubBackend()
    with serving(backend, max_tokens_cap=16) as server:
        status, _, payload = chat(server, max_tokens=10**9)
        assert status == 400  # before: accepted, and it held the model for every other client
        assert_openai_error(payload, param="max_tokens", code="max_tokens_exceeded")
        status, _, payload = chat(server, max_completion_tokens=17)
        assert status == 400 and payload["error"]["param"] == "max_completion_tokens"
        status, _, _ = chat(server, max_tokens=16)
        assert status == 200 and backend.calls[-1].max_new_tokens == 16
    with pytest.raises(ValueError, match="max_tokens_cap"):
        make_server(StubBackend(), max_tokens_cap=4)  # its default of 8 new tokens is above the cap


def test_a_full_queue_answers_503_with_retry_after() -> None:
    backend = StubBackend(hold_first=True)
    with serving(backend, max_queue=1) as server, ThreadPoolExecutor(2) as pool:
        first = pool.submit(chat, server)
        assert backend.started.wait(10)  # the first request holds the model
        second = pool.submit(chat, server)
        deadline = time.monotonic() + 10
        while server.queue.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.queue.waiting == 1  # the second waits in the queue
        status, headers, payload = chat(server)
        assert status == 503
        assert_openai_error(payload, code="server_overloaded")
        assert int(headers["Retry-After"]) >= 1
        backend.release.set()
        assert first.result(timeout=20)[0] == 200 and second.result(timeout=20)[0] == 200
        assert server.queue.stats["rejected"] == 1 and server.queue.stats["generated"] == 2


def _send_then_hang_up(server: Any) -> socket.socket:
    body = json.dumps({"model": "tiny", "messages": MESSAGES}).encode()
    sock = socket.create_connection(server.server_address[:2], timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def test_a_client_that_disconnects_cancels_its_generation() -> None:
    backend = StubBackend(hold_first=True)
    with serving(backend) as server:
        sock = _send_then_hang_up(server)
        assert backend.started.wait(10)
        sock.close()
        assert backend.cancelled.wait(10)  # before: generated to the end for nobody
        status, _, payload = chat(server)  # the model is free again
        assert status == 200 and payload["choices"][0]["message"]["content"] == "echo: hi"
        deadline = time.monotonic() + 5
        while server.queue.stats["cancelled"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.queue.stats["cancelled"] == 1


def test_a_client_that_disconnects_while_queued_is_never_generated() -> None:
    backend = StubBackend(hold_first=True)
    with serving(backend) as server, ThreadPoolExecutor(1) as pool:
        first = pool.submit(chat, server)
        assert backend.started.wait(10)
        sock = _send_then_hang_up(server)
        deadline = time.monotonic() + 10
        while server.queue.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        sock.close()
        time.sleep(0.3)  # a few disconnect polls
        backend.release.set()
        assert first.result(timeout=20)[0] == 200
        deadline = time.monotonic() + 5
        while server.queue.stats["cancelled"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.queue.stats["cancelled"] == 1 and len(backend.calls) == 1


def test_bad_cli_limits_fail_before_loading_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--model", "does/not-matter", "--max-new-tokens", "512", "--max-tokens-cap", "256"])
    assert caught.value.code == 2 and "--max-tokens-cap" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--model", "x", "--max-queue", "0"])


# ----------------------------------------------------------------- against a real tiny model


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir):
    pytest.importorskip("transformers")
    from agents.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_model_dir), params=SamplingParams(max_new_tokens=8), batch_size=1,
                               device="cpu")


def test_transformers_backend_stops_mid_generation_when_asked(tiny_backend) -> None:
    polls = []

    def stop_at_fifth_poll() -> bool:
        polls.append(1)
        return len(polls) >= 5

    long = SamplingParams(max_new_tokens=200, temperature=1.0, seed=3)  # sampling: no early end
    result = tiny_backend.generate([MESSAGES], long, should_stop=stop_at_fifth_poll)[0]
    assert result.error == "cancelled"
    assert 5 <= len(polls) <= 7  # polled once per token, and it stopped at once
    assert tiny_backend.generate([MESSAGES], should_stop=lambda: False)[0].ok


def test_load_50_requests_from_20_threads_all_answered_correctly(tiny_backend) -> None:
    conversations = [[{"role": "user", "content": f"Shopper {i} looks for a mug."}] for i in range(5)]
    expected = [tiny_backend.generate([c])[0].text for c in conversations]

    with serving(tiny_backend) as server:
        local = threading.local()

        def one(i: int) -> tuple[int, str]:
            if not hasattr(local, "conn"):
                local.conn = connect(server)  # each thread keeps its connection alive
            status, _, payload = call(local.conn, "POST", "/v1/chat/completions",
                                      {"model": "tiny", "messages": conversations[i % 5], "max_tokens": 8,
                                       "temperature": 0})
            return status, payload["choices"][0]["message"]["content"] if status == 200 else payload

        with ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(one, i) for i in range(50)]
            results = [f.result(timeout=300) for f in futures]
        assert [status for status, _ in results] == [200] * 50
        assert [text for _, text in results] == [expected[i % 5] for i in range(50)]
        status, _, health = call(connect(server), "GET", "/health")
        assert status == 200 and health["requests"]["generated"] == 50
