"""The GRPO reward of a completion is exactly the reward ``env.step`` gives the same text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from customer_env.export import GOLD_COLUMNS, PAGE_NAMES_COLUMN
from training.grpo_rewards import reward_functions


def _env_reward(store: Any, session_id: str, step_index: int, text: str, **env_options: Any) -> float:
    from customer_env.env import OperaEnv

    env = OperaEnv(store=store, **env_options)
    env.reset(options={"session_id": session_id})
    for step in store.session(session_id).steps[:step_index]:
        env.step(step.action)  # teacher-forced replay up to the scored step
    _, reward, *_ = env.step(text)
    return float(reward)


def _grpo_reward(rl_only: bool, row: dict[str, Any], text: str) -> float:
    funcs, weights = reward_functions("customer_r1", rl_only=rl_only)
    columns = {k: [row[k]] for k in (*GOLD_COLUMNS, PAGE_NAMES_COLUMN)}
    completions = [[{"role": "assistant", "content": text}]]
    return sum(w * f(prompts=[row["prompt"]], completions=completions, **columns)[0] for f, w in zip(funcs, weights))


@pytest.mark.parametrize("variant", ["sft_init", "rl_only"])
def test_grpo_reward_equals_env_step_reward(small_store: Any, variant: str) -> None:
    from customer_env.export import export_step_dataset

    rows = export_step_dataset({"store": small_store, "sessions": 2}, progress=False)
    seen: set[float] = set()
    for row in rows.select(range(0, len(rows), max(1, len(rows) // 6))):
        names = json.loads(row["page_names"])
        other = next((n for n in names if n != row["gold_name"]), None)
        texts = [
            row["completion"][0]["content"],  # the gold answer
            '{"rationale": "Done.", "action": {"type": "terminate"}}',
            "not json at all",
            '{"type": "click", "name": "%s"}' % row["gold_name"],  # bare action: no format reward
        ]
        if other:
            texts.append(json.dumps({"rationale": "Hm.", "action": {"type": "click", "name": other}}))
        for text in texts:
            expected = _env_reward(small_store, row["session_id"], row["step_index"], text,
                                   reward="customer_r1", reward_config={"variant": variant})
            assert _grpo_reward(variant == "rl_only", row, text) == pytest.approx(expected), (text, row["gold_type"])
            seen.add(round(expected, 6))
    assert len(seen) >= 3  # correct, wrong and unparsable answers were all compared
