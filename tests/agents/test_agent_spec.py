"""Agent specs: parsed, checked against the factories' signatures (no model built), labelled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.agent_spec import (AgentSpec, AgentSpecError, agent_specs, check_options, parse_agent_spec,
                               resolve_baseline, split_names)

ROOT = Path(__file__).resolve().parents[2]


def test_parse_keeps_commas_inside_values_and_takes_the_label_out():
    spec = parse_agent_spec('prompting:backend=openai,model=m,base_url=http://h:8000/v1,label=served')
    assert spec.name == "prompting" and spec.label == "served"
    assert spec.options == {"backend": "openai", "model": "m", "base_url": "http://h:8000/v1"}
    assert parse_agent_spec('random:input_texts=["a","b"],seed=2').options == {"input_texts": '["a","b"]', "seed": "2"}
    assert parse_agent_spec(" frequency ").options == {}
    assert split_names("random, frequency,,") == ["random", "frequency"]


@pytest.mark.parametrize("text, message", [
    (":seed=1", "no agent name"), ("random:", "nothing after ':'"), ("random:seed", "is not KEY=VALUE"),
    ("random:seed=1,seed=2", "'seed' given twice"), ("random:label=", "label is empty"),
])
def test_parse_errors_name_the_spec(text, message):
    with pytest.raises(AgentSpecError, match=message):
        parse_agent_spec(text)


def test_options_are_typed_from_the_factory_signature():
    assert check_options("random", {"seed": "3", "input_texts": '["mug"]'}) == {"seed": 3, "input_texts": ["mug"]}
    typed = check_options("customer_r1", {"checkpoint": "runs/x", "temperature": "0.7", "batch_size": "4",
                                          "top_p": "1", "device": "cpu"})
    # customer_r1 -> make_checkpoint_agent -> make_prompting_agent -> TransformersBackend (batch_size).
    assert typed == {"checkpoint": "runs/x", "temperature": 0.7, "batch_size": 4, "top_p": 1.0, "device": "cpu"}
    served = check_options("prompting", {"backend": "openai", "model": "m", "max_concurrency": "8", "base_url": "u"})
    assert served["max_concurrency"] == 8 and served["base_url"] == "u"
    assert check_options("customer_r1", {"checkpoint": "none"}) == {"checkpoint": None}
    assert check_options("random", {"seed": 5}) == {"seed": 5}  # a value given in code is checked, not parsed


@pytest.mark.parametrize("name, options, message", [
    ("nosuch", {}, "unknown agent 'nosuch'; available: .*frequency"),
    ("random", {"sed": "1"}, "agent 'random' takes no option 'sed'; it takes: input_texts, seed"),
    ("customer_r1", {"checkpont": "x"}, "takes no option 'checkpont'; it takes: allow_unfinished, batch_size, checkpoint,"),
    ("customer_r1", {"model": "m"}, "takes no option 'model'"),  # the checkpoint loader sets it
    ("prompting", {"backend": "openai", "model": "m", "batch_size": "2"}, "takes no option 'batch_size'.*base_url"),
    ("prompting", {"backend": "vllm", "model": "m"}, "unknown backend 'vllm'; expected one of transformers, openai"),
    ("random", {"seed": "x"}, "option 'seed' expects an integer, got 'x'"),
    ("sft", {"temperature": "hot"}, "option 'temperature' expects a finite number"),
    ("sft", {"temperature": "nan"}, "expects a finite number"),
    ("random", {"input_texts": "[1]"}, "expects a JSON list of text or none"),
    ("random", {"seed": 1.5}, "expects an integer, got float"),
    ("frequency", {"store": "x"}, "option 'store' cannot be given as text: the rollout passes the training store"),
])
def test_bad_options_are_one_line_errors(name, options, message):
    with pytest.raises(AgentSpecError, match=message) as info:
        check_options(name, options)
    assert "\n" not in str(info.value)


def test_checking_builds_no_model_and_imports_no_torch():
    code = ("import sys; from agents.agent_spec import check_options; "
            "check_options('customer_r1', {'checkpoint': 'runs/x', 'temperature': '0.5'}); "
            "check_options('prompting', {'backend': 'openai', 'model': 'm'}); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_labels_tell_runs_of_one_agent_apart():
    specs = agent_specs(["frequency"], ["customer_r1:checkpoint=runs/x", "customer_r1:checkpoint=runs/y",
                                        "customer_r1:checkpoint=runs/z,label=mine"])
    assert [s.label for s in specs] == ["frequency", "customer_r1[checkpoint=runs/x]",
                                        "customer_r1[checkpoint=runs/y]", "mine"]
    assert specs[1].options == {"checkpoint": "runs/x"}
    with pytest.raises(AgentSpecError, match="both be labelled 'random'"):
        agent_specs(["random", "random"])
    with pytest.raises(AgentSpecError, match="both be labelled 'x'"):
        agent_specs([], ["random:label=x", "frequency:label=x"])
    with pytest.raises(AgentSpecError, match="no agents given"):
        agent_specs()


def test_baseline_names_a_label_or_an_agent_run_once():
    specs = agent_specs(["frequency"], ["random:seed=1", "random:seed=2"])
    assert resolve_baseline(specs, "frequency") == "frequency"
    assert resolve_baseline(specs, "random[seed=2]") == "random[seed=2]"
    with pytest.raises(AgentSpecError, match="names 2 runs"):
        resolve_baseline(specs, "random")
    with pytest.raises(AgentSpecError, match="none of the compared runs: frequency, random"):
        resolve_baseline(specs, "freq")


def test_a_spec_built_in_code_is_checked_too():
    (spec,) = agent_specs([], [AgentSpec("random", {"seed": "4"})])
    assert spec.options == {"seed": 4} and spec.label == "random"
