"""The request cache: a second deterministic run asks the model nothing and gives the same samples."""

from __future__ import annotations

import logging
import os
import threading

import pytest

import agents
from agents.backends import Generation, SamplingParams
from agents.backends.request_cache import CachedBackend, RequestCache, backend_identity, use_request_cache
from agents.rollout import RolloutConfig, run_rollout
from customer_env.data.spec import StoreSpec
from customer_env.prompt import build_messages
from agent_helpers import observation

pytest.importorskip("transformers")


class Counting:
    """Counts the calls and prompts that reach the wrapped backend."""

    def __init__(self, backend):
        self.inner, self.calls, self.prompts = backend, 0, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, conversations, params=None):
        self.calls += 1
        self.prompts += len(conversations)
        return self.inner.generate(conversations, params)

    def describe(self):
        return self.inner.describe()


def cached_rollout(agent, small_store, small_store_dir, cache_dir, out=None, **kw):
    counting = Counting(agent.backend)
    agent.backend = counting
    use_request_cache(agent, cache_dir)
    cfg = RolloutConfig(**{"data": StoreSpec(source=str(small_store_dir), split="train"), "sessions": 2,
                           "batch_size": 2, "n_bootstrap": 50, **kw})
    result = run_rollout(agent, cfg, store=small_store, train_store=small_store, progress=False, out_dir=out)
    return result, counting


def test_a_second_transformers_run_makes_no_model_call(small_store, small_store_dir, tiny_model_dir, tmp_path):
    make = lambda: agents.make("prompting", model=str(tiny_model_dir), max_new_tokens=6, batch_size=4, device="cpu")
    first, calls_first = cached_rollout(make(), small_store, small_store_dir, tmp_path / "cache", tmp_path / "a")
    assert calls_first.prompts == len(first.samples) > 0
    second, calls_second = cached_rollout(make(), small_store, small_store_dir, tmp_path / "cache", tmp_path / "b")
    assert calls_second.calls == 0 and calls_second.prompts == 0
    assert second.samples == first.samples and second.metrics == first.metrics
    assert (tmp_path / "a" / "samples.jsonl").read_bytes() == (tmp_path / "b" / "samples.jsonl").read_bytes()
    stats = second.info["agent"]["backend"]["request_cache"]
    assert stats["hits"] == len(first.samples) and stats["misses"] == 0
    # The cache is no part of the agent's identity: a cached run resumes an uncached one and back.
    assert first.manifest.agent == second.manifest.agent
    assert "request_cache" not in first.manifest.agent["backend"]


def test_a_second_openai_run_sends_no_request(small_store, small_store_dir, tiny_model_dir, tmp_path):
    from agents.backends.transformers_backend import TransformersBackend
    from agents.serve import make_server

    served = TransformersBackend(str(tiny_model_dir), params=SamplingParams(max_new_tokens=6), device="cpu")
    server = make_server(served, model_name="tiny")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:  # the served model has 2048 positions; without a tokenizer the budget is the client's to set
        make = lambda: agents.make("prompting", backend="openai", model="tiny", base_url=server.base_url,
                                   max_new_tokens=6, max_concurrency=2)
        first, calls_first = cached_rollout(make(), small_store, small_store_dir, tmp_path / "cache", sessions=1,
                                            max_prompt_tokens=1024)
        second, calls_second = cached_rollout(make(), small_store, small_store_dir, tmp_path / "cache", sessions=1,
                                            max_prompt_tokens=1024)
    finally:
        server.shutdown()
        server.server_close()
    assert calls_first.prompts == len(first.samples) and calls_second.prompts == 0
    assert second.samples == first.samples


class Scripted:
    """A backend that answers with the prompt's length, or fails on request."""

    def __init__(self, model="m", fail=False):
        self.model, self.fail, self.calls, self.params = model, fail, 0, SamplingParams()

    def generate(self, conversations, params=None):
        self.calls += 1
        if self.fail:
            return [Generation("", error="Timeout") for _ in conversations]
        return [Generation(f"len {len(c[-1]['content'])}", finish_reason="stop") for c in conversations]

    def describe(self):
        return {"backend": "scripted", "model": self.model, "max_concurrency": 4, "params": self.params.as_dict()}


def test_the_key_holds_model_messages_and_parameters_only(tmp_path):
    cache = RequestCache(tmp_path)
    backend = CachedBackend(Scripted(), cache)
    conversations = [build_messages(observation(i)) for i in range(3)]
    greedy = SamplingParams(max_new_tokens=8)
    assert backend.generate(conversations, greedy) == Scripted().generate(conversations, greedy)
    assert backend.generate(conversations, SamplingParams(max_new_tokens=8, seed=5))  # greedy ignores the seed
    assert backend.stats == {"hits": 3, "misses": 3, "bypassed": 0, "stored": 3, "backend_calls": 1}
    key = backend.key(conversations[0], greedy)[0]
    assert backend.key(conversations[0], SamplingParams(max_new_tokens=9))[0] != key
    assert backend.key(conversations[1], greedy)[0] != key
    assert CachedBackend(Scripted(model="other"), cache).key(conversations[0], greedy)[0] != key
    # What does not change an answer is not in the key: concurrency, counters, the parameters' defaults.
    assert "max_concurrency" not in backend.identity and "params" not in backend.identity
    assert len(cache) == 3


def test_sampling_bypasses_the_cache_and_says_so(tmp_path, caplog):
    backend = CachedBackend(Scripted(), RequestCache(tmp_path))
    conversations = [build_messages(observation(0))]
    with caplog.at_level(logging.WARNING, logger="agents.backends.request_cache"):
        backend.generate(conversations, SamplingParams(temperature=0.7))
        backend.generate(conversations, SamplingParams(temperature=0.7))
    assert backend.backend.calls == 2 and backend.stats["bypassed"] == 2 and len(backend.cache) == 0
    assert sum("request cache bypassed: temperature 0.7" in r.message for r in caplog.records) == 1


def test_failures_are_not_stored_and_a_retrained_model_misses(tmp_path):
    failing = CachedBackend(Scripted(fail=True), RequestCache(tmp_path / "c1"))
    conversations = [build_messages(observation(0))]
    assert not failing.generate(conversations)[0].ok and not failing.generate(conversations)[0].ok
    assert failing.backend.calls == 2 and len(failing.cache) == 0
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights v1")
    before = backend_identity(Scripted(model=str(model_dir)))
    (model_dir / "model.safetensors").write_bytes(b"weights v2, retrained")
    os.utime(model_dir / "model.safetensors", ns=(1, 1))
    assert backend_identity(Scripted(model=str(model_dir))) != before


def test_an_agent_without_a_backend_has_nothing_to_cache(tmp_path):
    assert use_request_cache(agents.make("random"), tmp_path) is None
    with pytest.raises(ValueError, match="--cache .*cannot use"):
        (tmp_path / "file").write_text("x")
        RequestCache(tmp_path / "file")
