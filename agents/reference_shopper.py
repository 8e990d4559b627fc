"""The reference shopper: the store's own behaviour model shopping in OPeRA-Shop-v0.

``agents.make("reference_shopper")`` shops as the synthetic store's generated shoppers do: for
the episode's persona it runs the generator's walk (:mod:`customer_env.synthetic.browsing`) on
the live shop's pages, with the episode's up-front decisions (the visit's intent, whether it
buys, its engagement and opening, drawn from the persona by the environment), drawing each
choice as it goes (:class:`customer_env.shop.reference.ReferenceWalk`). Its probability of any
action in any state is what ``reward="likelihood"`` scores (:mod:`customer_env.shop.reference`).

It uses what no agent should: the episode's hidden up-front decisions, which it rebuilds from the
reset ``info`` (the world, the persona's profile, the episode seed). It keeps one episode's state,
so it has no ``act_batch`` (rollouts play its episodes one at a time), and it acts in the live
shop only: in OPeRA-v0 (a replay) the recording, not this walk, decides the next page, and it
refuses. A visit that ends without an action (it added to the cart and left) answers ``terminate``.

Example:
    >>> import agents, gymnasium as gym, customer_env
    >>> env = gym.make("OPeRA-Shop-v0", seed=0, page_scale=0.0)     # doctest: +SKIP
    >>> agent = agents.make("reference_shopper", seed=0)             # doctest: +SKIP
    >>> obs, info = env.reset(); agent.reset(info)                  # doctest: +SKIP
    >>> obs, reward, done, truncated, info = env.step(agent.act(obs))  # doctest: +SKIP
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from customer_env.actions import format_completion
from customer_env.records import Action
from customer_env.shop.episodes import live_start, recorded_start
from customer_env.shop.persona import profile_from_dict
from customer_env.shop.reference import ReferenceWalk
from customer_env.shop.world import ShopWorld
from customer_env.synthetic.fork import GenerationInputs, action_of
from customer_env.synthetic.seeds import derive_rng

#: The rationale of a step the walk gave none (most steps: the store's shoppers explain ~3.5%).
DEFAULT_RATIONALE = "This is what I would do next here."
LEAVE_RATIONALE = "It is in my cart; that is all for today."
_WORLD_KEYS = ("seed", "users", "sessions", "test_fraction", "user_disjoint", "page_scale")


class ReferenceShopperAgent:
    """The generator's shopper as an agent of the live shop (see the module docstring).

    Args:
        seed: Seeds the walk's choices (with the episode's id: each episode its own stream).
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._walk: ReferenceWalk | None = None
        self._session: str | None = None
        self._sent: Action | None = None
        self.steps = 0

    def reset(self, info: Mapping[str, Any] | None = None) -> None:
        """Start the episode ``info`` describes (the environment's reset info).

        Raises:
            ValueError: ``info`` is not from OPeRA-Shop-v0 (no world or persona profile).
        """
        if not info or "world" not in info or "persona_profile" not in info or "episode_seed" not in info:
            raise ValueError("reference_shopper: acts in OPeRA-Shop-v0 only (its reset info names the world, "
                             "the persona's profile and the episode seed); OPeRA-v0 replays recordings")
        described = info["world"]
        missing = [k for k in _WORLD_KEYS if k not in described]
        if missing:
            raise ValueError(f"reference_shopper: the reset info's world lacks {missing}")
        world = ShopWorld.build(GenerationInputs(int(described["seed"]), int(described["users"]),
                                                 int(described["sessions"]), float(described["test_fraction"]),
                                                 bool(described["user_disjoint"])),
                                page_scale=float(described["page_scale"]))
        profile = profile_from_dict(info["persona_profile"])
        recorded = info.get("recorded_session")
        start = recorded_start(world, recorded) if recorded else live_start(world, profile, int(info["episode_seed"]))
        self._session = str(info.get("session_id"))
        rng = random.Random(derive_rng(self.seed, "reference-shopper", self._session).getrandbits(64))
        self._walk = ReferenceWalk(world, start.draws, profile, start.visit, rng)
        self._sent, self.steps = None, 0

    def act(self, observation: Mapping[str, str]) -> str:
        """The walk's next action, in the wire format.

        Raises:
            RuntimeError: Before :meth:`reset`.
        """
        if self._walk is None:
            raise RuntimeError("reference_shopper: act() before reset(info)")
        step = self._walk.next_action()
        self.steps += 1
        if step is None:
            self._sent = Action("terminate")
            return format_completion(self._sent, LEAVE_RATIONALE)
        self._sent = action_of(step)
        return format_completion(self._sent, step.rationale or DEFAULT_RATIONALE)

    def observe(self, info: Mapping[str, Any]) -> None:
        """Check that the shop applied the action as sent (the walk and the shop agree).

        Raises:
            RuntimeError: The shop found the action invalid or parsed another one.
        """
        if self._sent is None:
            return
        applied = info.get("agent_action")
        if info.get("effect") == "invalid" or applied is None or not Action.from_wire(applied).matches(self._sent):
            raise RuntimeError(f"reference_shopper: the shop did not apply {self._sent.to_wire()} in "
                               f"{self._session} (effect {info.get('effect')!r}, reason {info.get('invalid_reason')!r})")

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "seed": self.seed, "method": "generator walk (sampled)"}
