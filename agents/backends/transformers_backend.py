"""A local Hugging Face causal LM as a chat backend (batched, left-padded, seeded).

Prompts are rendered with the tokenizer's chat template (``add_generation_prompt=True``) and
tokenized without adding special tokens again. Batches are left-padded so that every row's
generation starts right after its prompt. Sampling is seeded per batch inside a forked RNG
state, so a call's outputs depend only on the seed, the prompts and the batching, and the global
torch RNG is left untouched.

A batch that fails (say, a prompt longer than the model's context) is retried one prompt at a
time; a prompt that still fails comes back as a :class:`Generation` with ``error`` set.

``generate(..., constraints=[...])`` constrains the action's name to each page's names
(:mod:`agents.constraints`: a logits processor; off unless constraints are given).

Example:
    >>> backend = TransformersBackend("path/to/model", batch_size=8)  # doctest: +SKIP
    >>> backend.generate([[{"role": "user", "content": "Hi"}]])[0].text  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

from agents.backends import Conversation, Generation, SamplingParams

if TYPE_CHECKING:
    from agents.constraints import ActionConstraint

#: Used only when a tokenizer has no chat template (a warning says so once).
FALLBACK_TEMPLATE = (
    "{%- for m in messages %}{{- '<|' + m['role'] + '|>\\n' + m['content'] + '\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- endif %}"
)


def default_device() -> str:
    """``cuda`` when available, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersBackend:
    """Generate with a ``transformers`` model in this process.

    Args:
        model: A model id or local path, or an already-loaded causal LM.
        tokenizer: A tokenizer (required when ``model`` is an object; else loaded from ``model``).
        params: Default sampling parameters.
        batch_size: Prompts per ``generate`` call of the model.
        device: ``cuda``, ``cpu``, ...; default: CUDA when available. Ignored for a loaded model.
        dtype: Torch dtype name for loading (``bfloat16``, ``float32``, ...); default: the model's.
    """

    def __init__(self, model: str | os.PathLike[str] | Any, tokenizer: Any = None, *,
                 params: SamplingParams | None = None, batch_size: int = 4, device: str | None = None,
                 dtype: str | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.params = params or SamplingParams()
        self.batch_size = batch_size
        if isinstance(model, (str, os.PathLike)):
            self.model_name = str(model)
            kwargs = {"dtype": dtype} if dtype else {}
            model = AutoModelForCausalLM.from_pretrained(self.model_name, **kwargs)
            model.to(device or default_device())
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(self.model_name)
        else:
            if tokenizer is None:
                raise ValueError("a tokenizer is required when the model is passed as an object")
            self.model_name = getattr(model, "name_or_path", type(model).__name__)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not getattr(self.tokenizer, "chat_template", None):
            warnings.warn(f"tokenizer of {self.model_name} has no chat template; using a plain "
                          "'<|role|>' fallback template", stacklevel=2)
            self.tokenizer.chat_template = FALLBACK_TEMPLATE
        self.stop_token_ids = self._stop_token_ids()
        self._token_table: Any = None  # agents.constraints.TokenTable, built on first constrained call

    def _stop_token_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(configured if isinstance(configured, (list, tuple)) else [configured])
        return sorted(i for i in ids if i is not None)

    def render(self, conversation: Conversation) -> str:
        """The prompt text of a conversation (chat template, generation prompt added)."""
        return self.tokenizer.apply_chat_template(list(conversation), tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams | None = None, *,
                 should_stop: Callable[[], bool] | None = None,
                 constraints: Sequence[ActionConstraint | None] | None = None) -> list[Generation]:
        """One generation per conversation (see the module docstring for batching and failures).

        Args:
            conversations: The chat conversations.
            params: Sampling parameters (default: the backend's).
            should_stop: Polled after every generated token (the server passes "has the client
                gone?"); once it returns True the rest comes back as errors ``cancelled``.
            constraints: Per conversation, the page names its action may target (None: free).
        """
        params = params or self.params
        if constraints is not None and len(constraints) != len(conversations):
            raise ValueError(f"{len(constraints)} constraints for {len(conversations)} conversations")
        results: list[Generation] = []
        for start in range(0, len(conversations), self.batch_size):
            prompts = [self.render(c) for c in conversations[start:start + self.batch_size]]
            limits = list(constraints[start:start + self.batch_size]) if constraints is not None else [None] * len(prompts)
            batch_seed = params.seed + start // self.batch_size
            try:
                results += self._generate_batch(prompts, params, batch_seed, should_stop, limits)
            except Exception:  # noqa: BLE001 - isolate the failing prompt instead of losing the batch
                for prompt, limit in zip(prompts, limits):
                    try:
                        results += self._generate_batch([prompt], params, batch_seed, should_stop, [limit])
                    except Exception as exc:  # noqa: BLE001 - a failed item is data, not a crash
                        results.append(Generation("", error=f"{type(exc).__name__}: {exc}"))
        return results

    def _logits_processors(self, prompt_width: int, constraints: Sequence[ActionConstraint | None]) -> Any:
        if all(c is None for c in constraints):
            return None
        from transformers import LogitsProcessorList

        from agents.constraints import NameConstraintLogitsProcessor, TokenTable

        if self._token_table is None:
            self._token_table = TokenTable(self.tokenizer)
        return LogitsProcessorList([NameConstraintLogitsProcessor(self.tokenizer, prompt_width, constraints,
                                                                  table=self._token_table)])

    def _generate_batch(self, prompts: list[str], params: SamplingParams, seed: int,
                        should_stop: Callable[[], bool] | None = None,
                        constraints: Sequence[ActionConstraint | None] = ()) -> list[Generation]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        if should_stop is not None and should_stop():
            return [Generation("", error="cancelled")] * len(prompts)
        stopping = None
        if should_stop is not None:
            class _Cancelled(StoppingCriteria):
                def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                    return torch.full((input_ids.shape[0],), should_stop(), dtype=torch.bool,
                                      device=input_ids.device)

            stopping = StoppingCriteriaList([_Cancelled()])

        device = next(self.model.parameters()).device
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        prompt_width = encoded["input_ids"].shape[1]
        sampling: dict[str, Any] = {} if params.greedy else {"temperature": params.temperature, "top_p": params.top_p}
        processors = self._logits_processors(prompt_width, constraints or [None] * len(prompts))
        if processors is not None:
            sampling["logits_processor"] = processors
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            output = self.model.generate(
                **encoded, max_new_tokens=params.max_new_tokens, do_sample=not params.greedy,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.stop_token_ids,
                stopping_criteria=stopping, **sampling)
        if should_stop is not None and should_stop():
            return [Generation("", error="cancelled")] * len(prompts)
        generations = []
        for row, prompt_mask in zip(output[:, prompt_width:], encoded["attention_mask"]):
            tokens = row.tolist()
            stop = next((i for i, t in enumerate(tokens) if t in self.stop_token_ids), None)
            kept = tokens[:stop] if stop is not None else [t for t in tokens if t != self.tokenizer.pad_token_id]
            generations.append(Generation(
                text=self.tokenizer.decode(kept, skip_special_tokens=True),
                finish_reason="stop" if stop is not None else "length",
                prompt_tokens=int(prompt_mask.sum()), completion_tokens=len(kept)))
        return generations

    def describe(self) -> dict[str, Any]:
        return {"backend": "transformers", "model": self.model_name, "batch_size": self.batch_size,
                "params": self.params.as_dict(), "device": str(next(self.model.parameters()).device)}
