"""Checkpoint agents: a full model directory and a peft adapter on its recorded base."""

from __future__ import annotations

import json

import pytest

from agent_helpers import observation
from agents.checkpoint import inspect_checkpoint, load_checkpoint, make_sft_agent

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")


def test_full_model_directory_makes_an_sft_agent(tiny_model_dir):
    info = inspect_checkpoint(tiny_model_dir)
    assert not info.is_adapter and info.tokenizer_source == str(tiny_model_dir)
    agent = make_sft_agent(checkpoint=tiny_model_dir, max_new_tokens=6, device="cpu", seed=1)
    texts = agent.act_batch([observation(0), observation(1)])
    assert all(isinstance(t, str) for t in texts) and agent.stats["requests"] == 2
    assert agent.describe()["name"] == f"sft:{tiny_model_dir}"
    assert agent.describe()["params"]["seed"] == 1


def test_adapter_is_merged_into_its_recorded_base(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    lora = peft.get_peft_model(base, peft.LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():  # LoRA B starts at zero; make the adapter change the model
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    lora.save_pretrained(tmp_path / "adapter")
    info = inspect_checkpoint(tmp_path / "adapter")
    assert info.is_adapter and info.base_model == str(tiny_model_dir.resolve())
    assert info.tokenizer_source == info.base_model  # the adapter directory has no tokenizer
    merged, tokenizer = load_checkpoint(tmp_path / "adapter", device="cpu")
    ids = tokenizer("hello reviews", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = lora.eval()(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(ids).logits
        got = merged(ids).logits
    assert torch.allclose(got, expected, atol=1e-4) and not torch.allclose(got, plain, atol=1e-4)


def test_bad_checkpoint_directories_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inspect_checkpoint(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="neither config.json"):
        inspect_checkpoint(tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2}))
    with pytest.raises(ValueError, match="base_model_name_or_path"):
        inspect_checkpoint(tmp_path)


def test_without_a_checkpoint_the_pipeline_default_is_used(tiny_model_dir, monkeypatch):
    import training.pipeline
    from agents import make

    asked = []

    def fake_ensure_checkpoint(kind="customer_r1", *, progress=True, config=None):
        asked.append((kind, progress))
        return tiny_model_dir

    monkeypatch.setattr(training.pipeline, "ensure_checkpoint", fake_ensure_checkpoint)
    agent = make("customer_r1", max_new_tokens=4, device="cpu")
    assert asked == [("customer_r1", True)] and agent.name == f"customer_r1:{tiny_model_dir}"
    with pytest.raises(ValueError, match="unknown checkpoint kind"):
        from agents.checkpoint import default_checkpoint

        default_checkpoint("grpo")
