"""OpenAIBackend against a scripted local HTTP server: Retry-After, and credentials kept out of records."""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from agents.backends import SamplingParams
from agents.base import describe_agent
from agents.redaction import redact, redact_url

openai = pytest.importorskip("openai")
from agents.backends import openai_backend  # noqa: E402 - needs openai
from agents.backends.openai_backend import OpenAIBackend  # noqa: E402

MESSAGES = [{"role": "user", "content": "hi"}]
COMPLETION = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "tiny",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class Scripted(ThreadingHTTPServer):
    """Answers each POST with the next scripted ``(status, headers)``, then 200 with COMPLETION."""

    daemon_threads = True

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script, self.requests = list(script), []
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(dict(self.headers))
        status, headers = self.server.script.pop(0) if self.server.script else (200, {})
        payload = COMPLETION if status == 200 else {"error": {"message": f"scripted {status}", "type": "x",
                                                              "param": None, "code": str(status)}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def scripted(script: list[tuple[int, dict[str, str]]]) -> Iterator[Scripted]:
    server = Scripted(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backend's back-off sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(openai_backend.time, "sleep", recorded.append)
    return recorded


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    return OpenAIBackend("tiny", base_url=url, params=SamplingParams(max_new_tokens=4), timeout_s=10, **kwargs)


def test_429_and_503_wait_as_long_as_the_server_asks(sleeps: list[float]) -> None:
    script = [(429, {"retry-after-ms": "250"}), (503, {"Retry-After": "2"}),
              (429, {"Retry-After": "1", "retry-after-ms": "1500"})]
    with scripted(script) as server:
        result = backend(server.url, max_retries=3, backoff_s=10.0).generate([MESSAGES])[0]
    assert result.ok and result.text == "done"
    # Before: the jittered exponential back-off (5-10 s, 10-20 s, ...) whatever the server said.
    assert sleeps == [0.25, 2.0, 1.5] and len(server.requests) == 4


def test_an_http_date_and_an_oversized_or_unreadable_retry_after(sleeps: list[float]) -> None:
    soon = email.utils.formatdate(time.time() + 3, usegmt=True)
    script = [(503, {"Retry-After": soon}), (429, {"Retry-After": "3600"}), (503, {"Retry-After": "soon"})]
    with scripted(script) as server:
        result = backend(server.url, max_retries=3, backoff_s=0.4, max_retry_after_s=5.0).generate([MESSAGES])[0]
    assert result.ok
    assert 1.0 <= sleeps[0] <= 3.5  # the date, less the time already gone
    assert sleeps[1] == 5.0  # an hour is cut to max_retry_after_s
    assert 0.2 <= sleeps[2] <= 1.6  # unreadable: the usual back-off (0.4 * 2**2 with jitter)


def test_retry_after_on_a_non_retryable_status_is_not_a_retry(sleeps: list[float]) -> None:
    with scripted([(400, {"Retry-After": "1"})]) as server:
        result = backend(server.url, max_retries=3).generate([MESSAGES])[0]
    assert not result.ok and "BadRequestError" in result.error and sleeps == []


def test_credentials_in_base_url_stay_out_of_results_errors_and_logs(caplog: pytest.LogCaptureFixture,
                                                                     sleeps: list[float]) -> None:
    from agents.prompting import PromptingAgent

    caplog.set_level(logging.DEBUG)
    with scripted([(500, {}), (500, {})]) as server:
        url = server.url.replace("http://", "http://alice:s3cret@")
        remote = backend(url, max_retries=1)
        failed = remote.generate([MESSAGES])[0]
        ok = remote.generate([MESSAGES])[0]
        described = json.dumps(describe_agent(PromptingAgent(remote)))
    assert ok.ok and not failed.ok
    assert server.requests[-1].get("Authorization", "").startswith("Basic ")  # the credentials were used
    assert "s3cret" not in described and "***@127.0.0.1" in described
    assert "s3cret" not in remote.describe()["base_url"]
    assert "s3cret" not in (failed.error or "")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request" in logged and "s3cret" not in logged  # before: httpx logged the full URL


def test_describe_agent_redacts_any_agents_urls() -> None:
    class ThirdParty:
        def act(self, observation: Any) -> str:
            return ""

        def describe(self) -> dict[str, Any]:
            return {"class": "ThirdParty", "endpoints": ["https://bob:hunter2@proxy.example/v1?api-key=k1&page=2"],
                    "nested": {"url": "http://token@h:1/x"}, "n": 3}

    described = describe_agent(ThirdParty())
    assert described == {"class": "ThirdParty", "endpoints": ["https://***@proxy.example/v1?api-key=***&page=2"],
                         "nested": {"url": "http://***@h:1/x"}, "n": 3}
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact(("a", 1, None)) == ("a", 1, None)
