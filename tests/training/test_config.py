"""Options: one dataclass, flags, ``--config`` JSON/YAML files (flags win), clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import final_log, parse_config, resolve_bf16, write_summary
from training.grpo import GRPOOptions
from training.sft import SFTOptions


def test_flags_with_underscores_or_dashes() -> None:
    config = parse_config(SFTOptions, ["--learning-rate", "3e-4", "--max_steps", "7", "--lora", "false", "--resume"])
    assert (config.learning_rate, config.max_steps, config.lora, config.resume) == (3e-4, 7, False, True)
    assert parse_config(SFTOptions, []) == SFTOptions()


def test_config_file_then_flags(tmp_path: Path) -> None:
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("num_generations: 4\nbeta: 0.0\nrl_only: true\nlearning_rate: 2.0e-6\n")
    config = parse_config(GRPOOptions, ["--config", str(yaml_file), "--num_generations", "16"])
    assert (config.num_generations, config.beta, config.rl_only, config.learning_rate) == (16, 0.0, True, 2e-6)
    json_file = tmp_path / "run.json"
    json_file.write_text(json.dumps({"temperature": 0.6, "fast_generation": True}))
    config = parse_config(GRPOOptions, ["--config", str(json_file)])
    assert (config.temperature, config.fast_generation) == (0.6, True)


def test_unknown_keys_in_a_config_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"learning_rate": 1e-5, "num_epochs": 3}))
    with pytest.raises(ValueError, match=r"bad.json: unknown options \['num_epochs'\]"):
        parse_config(SFTOptions, ["--config", str(path)])


def test_shipped_gpu_configs_parse() -> None:
    configs = Path(__file__).resolve().parents[2] / "training" / "configs"
    sft = parse_config(SFTOptions, ["--config", str(configs / "sft_qwen2.5-7b.yaml")])
    grpo = parse_config(GRPOOptions, ["--config", str(configs / "grpo_qwen2.5-7b.yaml")])
    assert sft.bf16 and sft.lora and sft.max_prompt_tokens == 16384
    assert grpo.sft_checkpoint == sft.output_dir and grpo.fast_generation


def test_bf16_is_off_on_a_cpu_and_refused_there() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_bf16(None) is False
    with pytest.raises(ValueError, match="bf16"):
        resolve_bf16(True)


def test_summary_is_written_atomically_and_final_log_merges(tmp_path: Path) -> None:
    path = write_summary(tmp_path, {"steps": 3})
    assert json.loads(path.read_text()) == {"steps": 3}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert final_log([{"loss": 2.0, "step": 1}, {"loss": 1.0, "step": 2}, {"train_runtime": 5}]) == {
        "loss": 1.0, "step": 2, "train_runtime": 5}


def test_cpu_compact_lm_head_gives_the_same_loss_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import trl.trainer.utils as trl_utils
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from training.config import score_only_labelled_positions_on_cpu

    original = trl_utils._use_triton
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    add_fused_lm_head(model)
    ids = torch.randint(0, 97, (2, 12))
    labels = ids.clone()
    labels[:, :9] = -100  # a completion-only loss: the last three tokens

    def loss_and_grad() -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad()
        loss = model(input_ids=ids, labels=labels, fused_lm_head=True).loss
        loss.backward()
        return loss.detach(), model.model.layers[0].self_attn.q_proj.weight.grad.clone()

    monkeypatch.setattr(trl_utils, "_use_triton", original)
    reference = loss_and_grad()
    assert score_only_labelled_positions_on_cpu() and score_only_labelled_positions_on_cpu()  # idempotent
    assert trl_utils._use_triton(torch.device("cpu"))
    patched = loss_and_grad()
    torch.testing.assert_close(patched[0], reference[0])
    torch.testing.assert_close(patched[1], reference[1])
