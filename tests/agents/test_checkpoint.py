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
    agent = make_sft_agent(checkpoint=tiny_model_dir, max_new_tokens=6, device="cpu", seed=1, allow_unfinished=True)
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
    agent = make("customer_r1", max_new_tokens=4, device="cpu", allow_unfinished=True)
    assert asked == [("customer_r1", True)] and agent.name == f"customer_r1:{tiny_model_dir}"
    with pytest.raises(ValueError, match="unknown checkpoint kind"):
        from agents.checkpoint import default_checkpoint

        default_checkpoint("grpo")


# ----------------------------------------------------------- self-describing checkpoints

def _trained_copy(model_dir, dest, *, page_scale=0.1, budget=1024, kind="sft"):
    """A copy of ``model_dir`` with a training summary recording its conditions."""
    import shutil

    from agents.checkpoint import SUMMARY_FILE, TrainingConditions
    from customer_env.data.spec import StoreSpec

    shutil.copytree(model_dir, dest)
    conditions = TrainingConditions(kind=kind, data=StoreSpec(page_scale=page_scale), max_prompt_tokens=budget,
                                    max_completion_length=64, tokenizer=str(model_dir), recipe={"training": {}})
    (dest / SUMMARY_FILE).write_text(json.dumps({"kind": kind, "conditions": conditions.to_dict()}))
    return dest


def test_a_checkpoint_carries_its_training_conditions_to_the_agent(tiny_model_dir, tmp_path):
    from agents.checkpoint import resolve_checkpoint

    run = _trained_copy(tiny_model_dir, tmp_path / "run")
    resolved = resolve_checkpoint(run)
    assert resolved.conditions.data.page_scale == 0.1 and resolved.conditions.max_prompt_tokens == 1024
    agent = make_sft_agent(checkpoint=run, max_new_tokens=4, device="cpu")
    assert agent.trained_conditions == resolved.conditions
    assert resolve_checkpoint(tiny_model_dir, allow_unfinished=True).conditions is None  # a plain model records none


def test_a_malformed_summary_is_named(tiny_model_dir, tmp_path):
    from agents.checkpoint import SUMMARY_FILE, resolve_checkpoint

    run = _trained_copy(tiny_model_dir, tmp_path / "run")
    summary = json.loads((run / SUMMARY_FILE).read_text())
    del summary["conditions"]["max_prompt_tokens"]
    (run / SUMMARY_FILE).write_text(json.dumps(summary))
    with pytest.raises(ValueError, match=r"training_summary.json: conditions: field 'max_prompt_tokens' is missing"):
        resolve_checkpoint(run)
    (run / SUMMARY_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="training_summary.json: not JSON"):
        resolve_checkpoint(run)


def _hub_cache(tmp_path, monkeypatch, repo_id):
    """An offline hub cache (huggingface_hub's layout) holding one snapshot of ``repo_id``."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit


def test_a_pushed_checkpoint_loads_by_its_hub_id(tiny_model_dir, tmp_path, monkeypatch):
    from agents import make
    from agents.checkpoint import resolve_checkpoint

    snapshot = _hub_cache(tmp_path, monkeypatch, "someone/customer-r1-run")
    _trained_copy(tiny_model_dir, snapshot, kind="customer_r1")
    resolved = resolve_checkpoint("someone/customer-r1-run")
    assert resolved.path == str(snapshot) and resolved.conditions.kind == "customer_r1"
    agent = make("customer_r1", checkpoint="someone/customer-r1-run", max_new_tokens=4, device="cpu")
    assert agent.trained_conditions.max_prompt_tokens == 1024 and isinstance(agent.act(observation(0)), str)
    with pytest.raises(FileNotFoundError, match="not a local directory, and no copy of the hub model"):
        resolve_checkpoint("someone/never-pushed")


def test_an_adapters_relative_base_is_found_next_to_it_by_training_and_agents(tiny_model_dir, tmp_path):
    import shutil

    from agents.checkpoint import inspect_checkpoint, load_model

    shutil.copytree(tiny_model_dir, tmp_path / "base")
    from transformers import AutoModelForCausalLM

    lora = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(tmp_path / "base"),
                               peft.LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    lora.save_pretrained(tmp_path / "adapter")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "../base"  # relative to the adapter directory, not the working directory
    (tmp_path / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    assert inspect_checkpoint(tmp_path / "adapter").base_model == str((tmp_path / "base").resolve())
    trainable = load_model(tmp_path / "adapter", for_training=True)
    assert hasattr(trainable, "peft_config") and any(p.requires_grad for p in trainable.parameters())
    assert not hasattr(load_model(tmp_path / "adapter"), "peft_config")  # merged for inference


# ----------------------------------------------------------- unfinished runs are refused

def _interrupted_run(model_dir, dest):
    """What an interrupted trainer leaves: checkpoint-N directories (model + trainer state), no summary."""
    import shutil

    for step in (2, 4):
        shutil.copytree(model_dir, dest / f"checkpoint-{step}")
        (dest / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return dest


def test_an_unfinished_run_is_refused_in_one_line_unless_allowed(tiny_model_dir, tmp_path):
    from agents import make
    from agents.checkpoint import SUMMARY_FILE, UnfinishedRunError, checkpoint_of, resolve_checkpoint

    run = _interrupted_run(tiny_model_dir, tmp_path / "run")
    cases = {run: "is an unfinished training run: it has no training_summary.json (written last) and holds "
                  "checkpoint-2, checkpoint-4; resume it",
             run / "checkpoint-4": "is an intermediate checkpoint of a training run: it has no training_summary.json",
             tiny_model_dir: "is not a finished training run: it has no training_summary.json"}
    for path, message in cases.items():
        with pytest.raises(UnfinishedRunError) as refused:
            make("sft", checkpoint=str(path), device="cpu")
        text = str(refused.value)
        assert message in text and "allow_unfinished=True" in text and "\n" not in text, text
        with pytest.raises(UnfinishedRunError):  # rollout and compare plan through the same resolver
            checkpoint_of("customer_r1", {"checkpoint": str(path)})
    assert isinstance(UnfinishedRunError("x"), FileNotFoundError)

    # Asked explicitly, an intermediate checkpoint loads (with no training conditions).
    resolved = resolve_checkpoint(run / "checkpoint-4", allow_unfinished=True)
    assert resolved.conditions is None
    assert checkpoint_of("sft", {"checkpoint": str(run / "checkpoint-4"), "allow_unfinished": True}) == resolved
    agent = make("sft", checkpoint=str(run / "checkpoint-4"), allow_unfinished=True, max_new_tokens=4, device="cpu")
    assert isinstance(agent.act(observation(0)), str) and agent.trained_conditions is None

    # Finished, it loads without asking.
    _trained_copy(tiny_model_dir, tmp_path / "finished")
    assert (tmp_path / "finished" / SUMMARY_FILE).is_file()
    assert resolve_checkpoint(tmp_path / "finished").conditions is not None


def test_allow_unfinished_is_an_option_of_the_checkpoint_agents_spec():
    from agents.agent_spec import check_options

    assert check_options("sft", {"checkpoint": "runs/x", "allow_unfinished": "true"}) == \
        {"checkpoint": "runs/x", "allow_unfinished": True}
