"""Constrained decoding: the action's name can only be one of the page's names."""

from __future__ import annotations

import json

import pytest

from agents.constraints import (ActionConstraint, NameConstraintLogitsProcessor, TokenTable, action_json_schema,
                                name_prefix, response_format)

NAMES = ("nav_bar.search_input", "reviews", "review_pagination.next", 'odd "quoted" name')


def test_name_prefix_only_inside_the_actions_name_string():
    head = '{"rationale": "I like the name \\"reviews\\".", "action": {"type": "click", "name": "'
    assert name_prefix(head) == ""
    assert name_prefix(head + "rev") == "rev"
    assert name_prefix(head + 'reviews"}}') is None
    assert name_prefix('{"rationale": "my "name": "x') is None  # not in the action object
    assert name_prefix('{"rationale": "ok", "action": {"type": "input", "name": "nav_bar.se') == "nav_bar.se"
    assert name_prefix(head + 'odd \\"quo') == 'odd \\"quo'


def test_json_schema_is_strict_and_enumerates_the_page_names():
    schema = action_json_schema(NAMES + ("reviews",))
    assert schema["required"] == ["rationale", "action"] and schema["additionalProperties"] is False
    click, typed, leave = schema["properties"]["action"]["anyOf"]
    assert click["properties"]["name"]["enum"] == list(NAMES)  # repeats dropped, page order kept
    assert typed["required"] == ["type", "name", "text"] and leave["required"] == ["type"]
    for option in (click, typed, leave):
        assert option["additionalProperties"] is False and set(option["required"]) == set(option["properties"])
    request = response_format(ActionConstraint(NAMES))
    assert request["type"] == "json_schema" and request["json_schema"]["strict"] is True


def test_constraint_from_observation():
    assert ActionConstraint.from_observation({"actionable_names": "a\n\nb\na\n"}) == ActionConstraint(("a", "b"))
    assert ActionConstraint.from_observation({"actionable_names": ""}) is None


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def test_processor_allows_exactly_the_continuations_of_page_names(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    table = TokenTable(tokenizer)
    processor = NameConstraintLogitsProcessor(tokenizer, 0, [ActionConstraint(NAMES)], table=table)
    head = '{"rationale": "x", "action": {"type": "click", "name": "'
    assert processor.allowed(0, '{"rationale": "still writing') is None
    for prefix in ("", "rev", "review_pagination.", "reviews"):
        allowed = processor.allowed(0, head + prefix)
        assert allowed
        targets = [json.dumps(n)[1:-1] + '"' for n in NAMES]
        for token_id in allowed:
            piece = prefix + table.strings[token_id]
            assert any(t.startswith(piece) or piece.startswith(t) for t in targets), piece


def test_constrained_generation_writes_a_page_name_where_free_generation_does_not(model_and_tokenizer):
    """A random model continuing the name string: free, it writes junk; constrained, a page name."""
    import torch
    from transformers import LogitsProcessorList

    model, tokenizer = model_and_tokenizer
    prompt = '{"rationale": "x", "action": {"type": "click", "name": "'
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    constraint = ActionConstraint(("reviews", "review_pagination.next"))
    outputs = {}
    for constrained in (False, True):
        processors = LogitsProcessorList(
            [NameConstraintLogitsProcessor(tokenizer, 0, [constraint])]) if constrained else None
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False,
                                 logits_processor=processors, pad_token_id=tokenizer.pad_token_id)
        outputs[constrained] = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    written = outputs[True].split('"', 1)[0]
    assert written in constraint.names and '"' in outputs[True]
    assert outputs[False].split('"', 1)[0] not in constraint.names


def test_transformers_backend_and_agent_pass_the_constraint(tiny_model_dir):
    from agents.backends.transformers_backend import TransformersBackend
    from agents.prompting import PromptingAgent
    from agents.backends import SamplingParams

    backend = TransformersBackend(tiny_model_dir, batch_size=2, device="cpu")
    calls = []
    original = backend.generate

    def spy(conversations, params=None, **kwargs):
        calls.append(kwargs.get("constraints"))
        return original(conversations, params, **kwargs)

    backend.generate = spy
    observation = {"persona": "", "history": "", "url": "u", "page": '<a name="reviews"/>', "actionable_names": "reviews"}
    params = SamplingParams(max_new_tokens=8)
    PromptingAgent(backend, params=params).act(observation)
    agent = PromptingAgent(backend, params=params, constrain_actions=True)
    agent.act_batch([observation, {**observation, "actionable_names": ""}])
    assert calls == [None, [ActionConstraint(("reviews",)), None]]
    assert agent.describe()["constrain_actions"] is True
    with pytest.raises(ValueError, match="1 constraints for 2 conversations"):
        original([[{"role": "user", "content": "a"}]] * 2, params, constraints=[None])


def test_openai_backend_sends_the_constraint_as_a_json_schema_response_format():
    pytest.importorskip("openai")
    from types import SimpleNamespace

    from agents.backends.openai_backend import OpenAIBackend

    requests = []

    def create(**request):
        requests.append(request)
        message = SimpleNamespace(content='{"rationale": "", "action": {"type": "click", "name": "reviews"}}')
        return SimpleNamespace(choices=[SimpleNamespace(message=message, finish_reason="stop")], usage=None)

    remote = OpenAIBackend("served", base_url="http://127.0.0.1:9/v1", api_key="unused", max_concurrency=2)
    remote.client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    conversation = [{"role": "user", "content": "hi"}]
    remote.generate([conversation, conversation], constraints=[ActionConstraint(("reviews",)), None])
    remote.generate([conversation])
    constrained = [r for r in requests if "response_format" in r]
    assert len(requests) == 3 and len(constrained) == 1
    schema = constrained[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["action"]["anyOf"][0]["properties"]["name"]["enum"] == ["reviews"]
