"""The gold element is reachable in the default store's prompts at the default budget.

docs/METRICS.md section 4 (pitfalls): earlier reimplementations cut the current page to fit the
context and lost the target in about a third of the samples. Here every predicted step of the embedded default
store (both splits, full-size pages) is rendered exactly as the environment shows it, and the
gold element's name must be written in the prompt the model reads for at least 99.5% of the
click and input steps. The rate is printed (``pytest -s``) so the closing note can quote it.
"""

from __future__ import annotations

import statistics

from customer_env.data import open_store
from customer_env.env import DEFAULT_MAX_PROMPT_TOKENS
from customer_env.export import iter_step_examples


def test_gold_reachable_in_default_store_at_default_budget():
    targets = reachable = 0
    tokens: list[int] = []
    within_budget = 0
    for split in ("train", "test"):
        store = open_store(split=split)  # the embedded default, generated into the test cache
        for example in iter_step_examples(store, max_prompt_tokens=DEFAULT_MAX_PROMPT_TOKENS, progress=False):
            tokens.append(example["prompt_tokens"])
            within_budget += example["prompt_tokens"] <= DEFAULT_MAX_PROMPT_TOKENS
            if example["gold_type"] not in ("click", "input"):
                continue
            targets += 1
            user_message = example["prompt"][1]["content"]
            reachable += f'name="{example["gold_name"]}"' in user_message
    rate = reachable / targets
    print(f"\ndefault store: {len(tokens)} steps, {targets} click/input targets, gold reachable "
          f"{reachable}/{targets} = {rate:.2%}; median prompt tokens {statistics.median(tokens):.0f}, "
          f"max {max(tokens)} (budget {DEFAULT_MAX_PROMPT_TOKENS})")
    assert targets > 4000  # the whole default store, not a sample
    assert within_budget == len(tokens)
    assert rate >= 0.995
