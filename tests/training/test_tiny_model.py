"""The tiny default model: deterministic files, a tokenizer that survives AutoTokenizer, a chat
template whose prompt is a prefix of prompt + completion."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from training.tiny_model import IM_END, PAD_TOKEN, TinyModelSpec, build_tiny_model

TEXTS = [
    f'<div name="search_result.item_{i % 37}.product_title">Mug {i}</div> '
    f'{{"rationale": "I like it.", "action": {{"type": "click", "name": "search_result.item_{i % 37}.product_title"}}}}'
    for i in range(400)
]
SPEC = TinyModelSpec(vocab_size=600, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_inputs_give_identical_files_and_seed_changes_weights(tmp_path: Path) -> None:
    first = _digests(build_tiny_model(tmp_path / "a", texts=TEXTS, spec=SPEC, seed=0))
    second = _digests(build_tiny_model(tmp_path / "b", texts=TEXTS, spec=SPEC, seed=0))
    other_seed = _digests(build_tiny_model(tmp_path / "c", texts=TEXTS, spec=SPEC, seed=1))
    assert first == second
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= set(first)
    assert other_seed["model.safetensors"] != first["model.safetensors"]
    assert other_seed["tokenizer.json"] == first["tokenizer.json"]


def test_refuses_to_overwrite_a_model(tmp_path: Path) -> None:
    build_tiny_model(tmp_path / "m", texts=TEXTS, spec=SPEC)
    with pytest.raises(FileExistsError, match="already holds a model"):
        build_tiny_model(tmp_path / "m", texts=TEXTS, spec=SPEC)


def test_autotokenizer_keeps_the_trained_pre_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_model(tmp_path / "m", texts=TEXTS, spec=SPEC)
    tokenizer = AutoTokenizer.from_pretrained(path)
    raw = Tokenizer.from_file(str(path / "tokenizer.json"))
    text = TEXTS[5]
    assert tokenizer.encode(text, add_special_tokens=False) == raw.encode(text, add_special_tokens=False).ids
    # A frequent semantic id is one token, the same on the page and in the wire JSON.
    name = "search_result.item_5.product_title"
    assert tokenizer.tokenize(text).count(name) == 2
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text
    assert (tokenizer.eos_token, tokenizer.pad_token, tokenizer.padding_side) == (IM_END, PAD_TOKEN, "left")
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.vocab_size == len(tokenizer)
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_chat_template_prompt_is_a_prefix_of_the_conversation(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "m", texts=TEXTS, spec=SPEC))
    prompt = [{"role": "system", "content": "You shop."}, {"role": "user", "content": TEXTS[0]}]
    completion = [{"role": "assistant", "content": TEXTS[1]}]
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    full_ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids
    assert tokenizer.eos_token_id in full_ids[len(prompt_ids):]
    assert tokenizer.decode(prompt_ids).endswith("<|im_start|>assistant\n")


def test_tiny_model_built_on_a_store_renders_its_prompts(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert 256 < len(tokenizer) <= 2048
    encoded = tokenizer.encode('{"type": "click", "name": "nav_bar.search_input"}', add_special_tokens=False)
    assert len(encoded) < 20  # the merges learned the wire format: far fewer tokens than bytes
