"""Which prompts GRPO trains on: the ones whose sampled groups will disagree.

GRPO's advantage is a completion's reward minus its group's mean: a group whose completions all
earn the same reward (all right, or all wrong in the same way) has zero advantage everywhere and
teaches nothing, yet costs a full generation and backward pass. On a CPU budget that is most of
the steps: after SFT the policy is nearly certain on the easy steps and hopeless on many others.

:func:`select_mixed_prompts` keeps the prompts most likely to give *mixed* groups. For each
candidate step it scores the policy's probability ``p`` of the gold completion (one teacher-forced
forward pass, at the sampling temperature), and ranks the steps by the chance that a group of
``G`` samples holds both a right and a wrong answer, ``1 - p**G - (1 - p)**G``. The gold is used
only to choose *which training steps* to train on, as the reward itself does; no prompt changes.

Example:
    >>> mixed_group_chance(0.5, 8) > mixed_group_chance(0.99, 8) > mixed_group_chance(1.0, 8)
    True
"""

from __future__ import annotations

import math
from typing import Any, Sequence


def mixed_group_chance(p: float, group_size: int) -> float:
    """Probability that ``group_size`` samples, each right with probability ``p``, are not all equal."""
    p = min(max(p, 0.0), 1.0)
    return 1.0 - p**group_size - (1.0 - p) ** group_size


def gold_completion_probabilities(model: Any, tokenizer: Any, prompts: Sequence[Sequence[dict[str, str]]],
                                  completions: Sequence[Sequence[dict[str, str]]], *, temperature: float = 1.0,
                                  batch_size: int = 8, progress: bool = True) -> list[float]:
    """The policy's probability of each gold completion given its prompt (teacher-forced).

    Args:
        model: A causal LM.
        tokenizer: Its tokenizer (with the chat template the trainers use).
        prompts, completions: Conversational rows of an exported step dataset.
        temperature: The sampling temperature the probabilities are taken at.
        batch_size: Rows per forward pass.
        progress: Show a progress bar.
    """
    import torch
    from tqdm.auto import tqdm

    rows = []
    for prompt, completion in zip(prompts, completions):
        prompt_ids = tokenizer.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"]
        full_ids = tokenizer.apply_chat_template(list(prompt) + list(completion), tokenize=True,
                                                 return_dict=True)["input_ids"]
        rows.append((full_ids, len(prompt_ids)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    out: list[float] = []
    model.eval()
    bar = tqdm(total=len(rows), desc="scoring GRPO prompts", unit="step", disable=not progress)
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, (row, _) in enumerate(batch):  # right padding: positions stay those of training
                ids[i, :len(row)] = torch.tensor(row)
                mask[i, :len(row)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            logprobs = torch.log_softmax(logits[:, :-1] / temperature, dim=-1)
            targets = ids[:, 1:].to(device)
            token_lp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            for i, (row, prompt_len) in enumerate(batch):
                # Completion tokens are row[prompt_len:], predicted from positions prompt_len-1 ..
                total = token_lp[i, prompt_len - 1:len(row) - 1].sum().item()
                out.append(math.exp(total))
            bar.update(len(batch))
    bar.close()
    return out


def select_mixed_prompts(model: Any, tokenizer: Any, data: Any, *, keep: int, group_size: int,
                         temperature: float, batch_size: int = 8, progress: bool = True) -> tuple[Any, dict[str, Any]]:
    """The ``keep`` rows of ``data`` most likely to give mixed GRPO groups, and a report.

    Args:
        model, tokenizer: The starting policy (the SFT model).
        data: A :class:`training.step_data.StepData` of candidate steps.
        keep: How many rows to keep (all when ``data`` has no more).
        group_size: GRPO's ``num_generations``.
        temperature: GRPO's sampling temperature.
        batch_size, progress: As for :func:`gold_completion_probabilities`.

    Returns:
        ``(StepData of the kept rows in their original order, report)``; the report gives the
        candidates, the kept count, and the mean mixed-group chance before and after.
    """
    from training.step_data import StepData

    dataset = data.dataset
    probabilities = gold_completion_probabilities(model, tokenizer, dataset["prompt"], dataset["completion"],
                                                  temperature=temperature, batch_size=batch_size, progress=progress)
    chances = [mixed_group_chance(p, group_size) for p in probabilities]
    order = sorted(range(len(chances)), key=lambda i: (-chances[i], i))[:keep]
    kept = sorted(order)
    report = {
        "candidates": len(chances), "kept": len(kept), "group_size": group_size, "temperature": temperature,
        "mixed_chance_all": round(sum(chances) / max(1, len(chances)), 4),
        "mixed_chance_kept": round(sum(chances[i] for i in kept) / max(1, len(kept)), 4),
        "gold_probability_kept_mean": round(sum(probabilities[i] for i in kept) / max(1, len(kept)), 4),
    }
    selected = StepData(dataset=dataset.select(kept), fingerprint=f"{data.fingerprint}:mixed{keep}",
                        report={**data.report, "kept": len(kept), "grpo_prompt_selection": report})
    return selected, report
