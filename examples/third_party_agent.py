"""A custom agent in a dozen lines: any object with ``act(observation) -> str`` will do.

It plugs into the environment directly (the Gymnasium loop below) and into ``agents.rollout``
(scored with the same metrics as the built-in agents); ``agents.register`` makes it available by
name to the scripts.

Example:
    python examples/third_party_agent.py --sessions 2
"""

from __future__ import annotations

import json
import sys
from typing import Mapping, Sequence

import gymnasium as gym

import agents
import customer_env  # noqa: F401 - registers OPeRA-v0
from agents.report import metrics_table
from agents.rollout import RolloutConfig, run_rollout
from customer_env.command_line import CommandLineParser, positive_int
from customer_env.data.spec import add_store_arguments, store_spec_from_args
from customer_env.prompt import actionable_names


class ReviewReader:
    """Reads the reviews when the page has them, else opens the first product, else leaves."""

    def act(self, observation: Mapping[str, str]) -> str:
        names = actionable_names(observation)
        target = next((n for n in names if "review" in n), None) or next((n for n in names if "product" in n), None)
        if target is None:
            action = {"type": "terminate"}
        else:
            action = {"type": "click", "name": target}
        return json.dumps({"rationale": "I always check what other buyers say.", "action": action})


def main(argv: Sequence[str] | None = None) -> int:
    p = CommandLineParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=positive_int, default=2)
    add_store_arguments(p, split="test")
    args = p.parse_args(argv)
    data = store_spec_from_args(p, args)

    # 1. The plain Gymnasium loop: one session, step by step.
    env = gym.make("OPeRA-v0", store=data, sessions=1)
    agent = ReviewReader()
    observation, info = env.reset(seed=0)
    done, total = False, 0.0
    while not done:
        observation, reward, terminated, truncated, info = env.step(agent.act(observation))
        total += reward
        done = terminated or truncated
        print(f"step {info['scored_step_index']}: human {info['gold_action']} agent {info['agent_action']} "
              f"reward {reward:g}")
    print(f"session {info['session_id']}: total reward {total:g}")
    env.close()

    # 2. The same agent through rollout, scored like every other agent.
    agents.register("review_reader", lambda **_: ReviewReader(), overwrite=True)
    result = run_rollout(agents.make("review_reader"),
                         RolloutConfig(data=data, sessions=args.sessions, n_bootstrap=0), progress=False)
    print(metrics_table(result.metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
