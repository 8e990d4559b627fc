"""Backends and the prompting agent: in-process transformers, and OpenAI over the local server."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from agents.backends import Generation, SamplingParams
from agents.prompting import PromptingAgent, make_prompting_agent
from customer_env.prompt import build_messages
from agent_helpers import observation

openai = pytest.importorskip("openai")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    from agents.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_model_dir), params=SamplingParams(max_new_tokens=12), batch_size=3,
                               device="cpu")


@pytest.fixture(scope="module")
def server(backend):
    from agents.serve import make_server

    srv = make_server(backend, model_name="tiny")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def conversations(n):
    return [build_messages(observation(i, persona=f"Shopper number {i}.")) for i in range(n)]


def test_batched_left_padded_greedy_equals_one_by_one(backend):
    convs = conversations(3)
    batched = backend.generate(convs)
    single = [backend.generate([c])[0] for c in convs]
    assert all(g.ok and g.completion_tokens <= 12 for g in batched)
    assert len({g.prompt_tokens for g in batched}) > 1  # rows of different length were padded
    assert [g.text for g in batched] == [g.text for g in single]


def test_sampling_is_seeded(backend):
    convs = conversations(2)
    hot = SamplingParams(max_new_tokens=12, temperature=1.5, seed=7)
    first, again = backend.generate(convs, hot), backend.generate(convs, hot)
    other = backend.generate(convs, hot.with_overrides(seed=8))
    assert [g.text for g in first] == [g.text for g in again]
    assert [g.text for g in first] != [g.text for g in other]


def test_a_failing_prompt_is_isolated(backend, monkeypatch):
    original = backend._generate_batch

    def flaky(prompts, params, seed, *rest):
        if any("Shopper number 1." in p for p in prompts):
            raise RuntimeError("out of memory")
        return original(prompts, params, seed, *rest)

    monkeypatch.setattr(backend, "_generate_batch", flaky)
    results = backend.generate(conversations(3))
    assert [g.ok for g in results] == [True, False, True]
    assert results[1].error == "RuntimeError: out of memory" and results[1].text == ""


class ScriptedBackend:
    """Returns scripted generations; raises when told to."""

    def __init__(self, outputs):
        self.outputs = outputs

    def generate(self, conversations, params=None):
        if self.outputs == "raise":
            raise ConnectionError("backend down")
        return self.outputs[: len(conversations)]

    def describe(self):
        return {"backend": "scripted"}


def test_prompting_agent_returns_raw_text_and_counts_failures():
    good = '{"rationale": "Reviews first.", "action": {"type": "click", "name": "reviews"}}'
    agent = PromptingAgent(ScriptedBackend([Generation(good), Generation("I would click reviews"),
                                            Generation("", error="Timeout: 120 s")]))
    texts = agent.act_batch([observation(0)] * 3)
    assert texts == [good, "I would click reviews", ""]
    assert agent.stats["requests"] == 3 and agent.stats["generation_failures"] == 1
    # The environment parses each answer once; the agent counts its verdict from the step info.
    assert agent.stats["unparsable"] == 0
    for info in ({"parse_ok": True, "grounded": True}, {"parse_ok": False, "grounded": False},
                 {"parse_ok": True, "grounded": False}):
        agent.observe(info)
    assert agent.stats["unparsable"] == 1 and agent.stats["ungrounded"] == 1
    broken = PromptingAgent(ScriptedBackend("raise"))
    assert broken.act(observation(0)) == "" and broken.stats["generation_failures"] == 1
    assert broken.describe()["stats"]["errors"] == {"ConnectionError: backend down": 1}


def test_openai_client_against_the_local_server(server, backend):
    client = openai.OpenAI(base_url=server.base_url, api_key="unused")
    assert [m.id for m in client.models.list().data] == ["tiny"]
    messages = conversations(1)[0]
    reply = client.chat.completions.create(model="tiny", messages=messages, max_tokens=12, temperature=0)
    assert reply.choices[0].message.content == backend.generate([messages])[0].text
    assert reply.usage.completion_tokens <= 12
    with pytest.raises(openai.BadRequestError, match="stream=true is not supported"):
        client.chat.completions.create(model="tiny", messages=messages, stream=True)


def test_openai_backend_concurrency_matches_in_process(server, backend):
    from agents.backends.openai_backend import OpenAIBackend

    remote = OpenAIBackend("tiny", base_url=server.base_url, max_concurrency=3,
                           params=SamplingParams(max_new_tokens=12))
    convs = conversations(3)
    assert [g.text for g in remote.generate(convs)] == [backend.generate([c])[0].text for c in convs]
    agent = make_prompting_agent("openai", "tiny", base_url=server.base_url, max_new_tokens=12)
    assert agent.act(observation(1)) == backend.generate(conversations(2)[1:])[0].text


def test_openai_backend_retries_then_reports():
    from agents.backends.openai_backend import OpenAIBackend
    from agents.serve import make_server

    closed = make_server(None)  # bound, then closed: nothing listens on its port any more
    url = closed.base_url
    closed.server_close()
    remote = OpenAIBackend("tiny", base_url=url, max_retries=2, backoff_s=0.01, timeout_s=2)
    result = remote.generate(conversations(1))[0]
    assert not result.ok and result.error.startswith("gave up after 3 attempts: APIConnectionError")
    assert remote.retries == 2


def test_openai_backend_needs_a_key_for_openai_itself(monkeypatch):
    from agents.backends.openai_backend import OpenAIBackend

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="no API key"):
        OpenAIBackend("gpt-4.1")
    assert OpenAIBackend("tiny", base_url="http://127.0.0.1:9/v1").base_url == "http://127.0.0.1:9/v1"


def test_server_refuses_non_loopback_hosts():
    from agents.serve import check_loopback

    check_loopback("127.0.0.1"), check_loopback("::1"), check_loopback("localhost")
    with pytest.raises(ValueError, match="loopback"):
        check_loopback("0.0.0.0")
    run = subprocess.run([sys.executable, "-m", "agents.serve", "--model", "x", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "loopback" in run.stderr
