"""The tiny default model: a small Llama-architecture decoder and a tokenizer trained on the spot.

Where no pretrained weights exist (no hub, no download), the project still has to train and run
a real policy end to end. This module builds one locally and deterministically:

* a byte-level BPE tokenizer (``tokenizers``) trained on the embedded store's rendered prompts
  and wire completions, wrapped as a ``PreTrainedTokenizerFast`` with a Qwen-like chat template
  (``<|im_start|>role\\n...<|im_end|>``), ``<|im_end|>`` as end of turn and ``<|endoftext|>`` as
  padding;
* a randomly initialised Llama-architecture decoder (seeded; the same blocks as Qwen2 without
  the attention biases), small enough to train on a laptop CPU.

Its pre-tokenizer cuts text into runs of words joined by single spaces (letters, digits,
``_ . -``) and runs of everything else, so BPE merges can span whole phrases: the system prompt,
the persona's fixed survey wording and frequent page labels become a few tokens each, which
halves prompt lengths against word-level pieces (what matters most for CPU training). A
semantic id such as ``nav_bar.search_input`` is always its own run (quotes delimit it), so it
is split into the same tokens on the page (``name="..."``) and in the wire JSON the model writes:
copying a name from the page is copying a token sequence, often a single token.

Why Llama and not ``Qwen2Config``: transformers 5 loads any ``qwen2`` checkpoint's tokenizer as
``Qwen2Tokenizer``, which replaces the saved pre-tokenizer with Qwen's own; a ``llama`` config
with ``tokenizer_class="TokenizersBackend"`` loads this tokenizer exactly as saved.

The same inputs give byte-identical files. Any Hugging Face model id or path replaces this model
(``--model`` in the trainers); it is only the default.

Example:
    >>> from training.tiny_model import tiny_base_model_dir
    >>> path = tiny_base_model_dir()          # built on first use, then cached
    >>> # AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from customer_env.cache import atomic_directory, cache_dir

#: Bump when the builder changes in a way that changes its output files.
BUILDER_VERSION = 2

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)

#: Qwen-like chat template. The prompt rendered alone (with the generation prompt) is a prefix of
#: the prompt rendered with its completion, so completion-only losses line up.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

#: Runs of words joined by single spaces, and runs of anything else (see the module docstring).
PRE_TOKENIZER_PATTERN = r"[A-Za-z0-9_.\-]+(?: [A-Za-z0-9_.\-]+)*|[^A-Za-z0-9_.\-]+"

#: Page scale of the embedded store the default pipeline trains on (see ``training.pipeline``).
DEFAULT_PAGE_SCALE = 0.1


@dataclass(frozen=True)
class TinyModelSpec:
    """Shape of the tiny model and its tokenizer (default: ~1.5M parameters, 2/3 of them embeddings).

    Attributes:
        vocab_size: Target BPE vocabulary size (special tokens included).
        hidden_size: Model width.
        intermediate_size: MLP width.
        num_hidden_layers: Decoder layers.
        num_attention_heads: Attention heads (``hidden_size`` must divide by it).
        num_key_value_heads: Key/value heads (grouped-query attention when smaller).
        max_position_embeddings: Longest sequence (prompt + completion) the model accepts.
        page_scale: Page scale of the embedded store whose prompts train the tokenizer.
        corpus_prompt_tokens: Prompt budget of the corpus rendering (estimator tokens).
        corpus_sessions: Render only this many sessions for the corpus (None: all).
    """

    vocab_size: int = 8192
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    max_position_embeddings: int = 4096
    page_scale: float = DEFAULT_PAGE_SCALE
    corpus_prompt_tokens: int = 2048
    corpus_sessions: int | None = None


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 8192, model_max_length: int = 4096) -> Any:
    """Train the byte-level BPE tokenizer on ``texts`` and wrap it for ``transformers``.

    Args:
        texts: Training text (rendered prompts and completions); read once, in order.
        vocab_size: Target vocabulary size, special tokens included.
        model_max_length: The tokenizer's declared maximum length.

    Returns:
        A ``PreTrainedTokenizerFast`` with pad/eos tokens and the chat template set.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRE_TOKENIZER_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        chat_template=CHAT_TEMPLATE,
        model_max_length=model_max_length,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


def corpus_from_store(store: Any, spec: TinyModelSpec) -> list[str]:
    """The tokenizer's training text: every rendered prompt and wire completion of ``store``.

    Args:
        store: An ``OperaStore`` (usually the embedded train split at ``spec.page_scale``).
        spec: Gives the prompt budget of the rendering.

    Returns:
        One string per message (system, user, assistant) of every exported step, in order.
    """
    from customer_env.export import export_step_dataset

    source = store if spec.corpus_sessions is None else {"store": store, "sessions": spec.corpus_sessions}
    dataset = export_step_dataset(source, max_prompt_tokens=spec.corpus_prompt_tokens)
    texts: list[str] = []
    for prompt, completion in zip(dataset["prompt"], dataset["completion"]):
        # Every message, the system prompt of every row included: text is weighted by how often
        # the model will read it, so the most frequent text gets the longest tokens.
        texts.extend(message["content"] for message in list(prompt) + list(completion))
    return texts


def build_tiny_model(
    out_dir: str | os.PathLike[str],
    *,
    store: Any = None,
    texts: Sequence[str] | None = None,
    seed: int = 0,
    spec: TinyModelSpec | None = None,
) -> Path:
    """Build the tiny model and its tokenizer into ``out_dir`` (created; must not hold a model).

    Args:
        out_dir: Destination directory (``save_pretrained`` layout: config, weights, tokenizer).
        store: Store whose rendered prompts train the tokenizer; default: the embedded train
            split at ``spec.page_scale``. Ignored when ``texts`` is given.
        texts: Tokenizer training text, instead of rendering ``store``.
        seed: Seed of the weight initialisation.
        spec: Model and tokenizer shape; default :class:`TinyModelSpec`.

    Returns:
        ``out_dir`` as a ``Path``.

    Example:
        >>> build_tiny_model("/tmp/tiny", texts=["<div name=\\"a.b\\">x</div>"] * 10)  # doctest: +SKIP
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    spec = spec or TinyModelSpec()
    out = Path(out_dir)
    if (out / "config.json").exists():
        raise FileExistsError(f"{out} already holds a model (config.json); refusing to overwrite it")
    if texts is None:
        if store is None:
            from customer_env.data import open_store

            store = open_store("embedded", split="train", page_scale=spec.page_scale)
        texts = corpus_from_store(store, spec)
    if not texts:
        raise ValueError("the tokenizer corpus is empty: no text to train the tiny tokenizer on")

    tokenizer = train_tokenizer(texts, vocab_size=spec.vocab_size, model_max_length=spec.max_position_embeddings)
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=None,
    )
    # Seed a private generator state so building never disturbs (or depends on) global RNG use.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, do_sample=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    provenance = {"builder_version": BUILDER_VERSION, "seed": seed, "spec": asdict(spec)}
    (out / "tiny_model.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    return out


def tiny_model_key(store_fingerprint: str, *, seed: int = 0, spec: TinyModelSpec | None = None) -> str:
    """Cache key of a tiny model: builder version, spec, seed and the corpus store's fingerprint."""
    payload = json.dumps(
        {"v": BUILDER_VERSION, "spec": asdict(spec or TinyModelSpec()), "seed": seed, "store": store_fingerprint},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def tiny_base_model_dir(*, seed: int = 0, spec: TinyModelSpec | None = None, progress: bool = True) -> Path:
    """The cached tiny base model directory, built atomically on first use.

    Args:
        seed: Seed of the weight initialisation.
        spec: Model and tokenizer shape; default :class:`TinyModelSpec`.
        progress: Print a line when building.

    Returns:
        A directory that ``AutoModelForCausalLM`` and ``AutoTokenizer`` load.
    """
    from customer_env.data import open_store

    spec = spec or TinyModelSpec()
    store = open_store("embedded", split="train", page_scale=spec.page_scale)
    final = cache_dir("models") / f"tiny-{tiny_model_key(store.fingerprint, seed=seed, spec=spec)}"
    if (final / "config.json").exists():
        return final
    if progress:
        print(f"[customer-r1] building the tiny base model and tokenizer into {final} ...", flush=True)
    with atomic_directory(final) as tmp:
        build_tiny_model(tmp, store=store, seed=seed, spec=spec)
    return final
