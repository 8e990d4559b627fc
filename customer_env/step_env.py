"""OPeRA-Step-v0: every episode is a single recorded step, for GRPO groups and one-step evaluation.

``reset()`` draws one (session, step) pair from the selected sessions; the observation is that
step's page with the human's earlier steps as history (teacher-forced), exactly what
``OPeRA-v0`` shows at the same step. ``step(action)`` scores the action and always ends the
episode; the final observation repeats the page. Unpinned resets visit every step of every
selected session once per pass, in a seeded shuffled order, so a GRPO group is simply several
environments reset with the same seed, and ``options={"session_id": sid, "step": k}`` pins one.

All constructor options are :class:`~customer_env.env.OperaEnv`'s; ``history_source``,
``on_mismatch`` and ``max_episode_steps`` have no effect on a one-step episode.

Example:
    >>> import gymnasium as gym, customer_env
    >>> env = gym.make("OPeRA-Step-v0", sessions=10)  # doctest: +SKIP
    >>> obs, info = env.reset(seed=7)  # doctest: +SKIP
    >>> _, reward, terminated, _, info = env.step(env.action_space.sample())  # doctest: +SKIP
    >>> terminated, info["step_index"] == info["scored_step_index"]  # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

from customer_env.env import OperaEnv, _Episode, is_scored


class OperaStepEnv(OperaEnv):
    """One recorded step per episode; see the module docstring.

    Example:
        >>> from customer_env.step_env import OperaStepEnv
        >>> env = OperaStepEnv(sessions=4)  # doctest: +SKIP
        >>> obs, info = env.reset(options={"session_id": env.session_ids[0], "step": 2})  # doctest: +SKIP
        >>> info["step_index"]  # doctest: +SKIP
        2
    """

    def _start_candidates(self) -> list[tuple[str, int]]:
        """Every predicted step of every selected session."""
        return [(sid, k) for sid in self.session_ids
                for k, step in enumerate(self.store.session(sid).steps) if is_scored(step)]

    def _episode_over(self, episode: _Episode, correct: bool) -> bool:
        return True
