"""How an episode of the shop begins: live (drawn from the persona) or a recorded session's start.

Both the environment and the reference shopper agent build the same beginning from what the
environment's ``info`` says (the world, the persona's profile, the episode seed or the recorded
session), so the agent's walk sees the shop's very pages.

* :func:`live_start`: the visit drawn from the persona from the episode's seed
  (:func:`customer_env.shop.walker.draw_visit`), the shop's page outcomes from that seed.
* :func:`recorded_start`: a recorded session of the store: its user's profile, the up-front
  decisions the generator drew for it (replayed from its streams), its first page, and its page
  outcomes (:class:`~customer_env.shop.draws.RecordedDraws`).

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> sid = sorted(world.sessions)[0]
    >>> start = recorded_start(world, sid)
    >>> start.visit.first_page == world.sessions[sid].sim.steps[0].view
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_env.shop.draws import RecordedDraws, SeededDraws, WorldDraws
from customer_env.shop.walker import Visit, draw_visit
from customer_env.shop.world import ShopWorld
from customer_env.synthetic.behaviour import initial_cart
from customer_env.synthetic.choices import Choices
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.shopper import Shopper


@dataclass(frozen=True)
class EpisodeStart:
    """An episode's beginning.

    Attributes:
        visit: The up-front decisions and the first page.
        draws: Where the shop's drawn pages come from.
        key: Varies the pages' filler text (never their named elements).
    """

    visit: Visit
    draws: WorldDraws
    key: tuple[object, ...]


def live_start(world: ShopWorld, profile: ShopperProfile, episode_seed: int) -> EpisodeStart:
    """A live episode of ``profile`` from ``episode_seed``."""
    draws = SeededDraws(world, profile, episode_seed)
    return EpisodeStart(draw_visit(world, profile, episode_seed, draws), draws, ("shop", int(episode_seed)))


def recorded_start(world: ShopWorld, session_id: str) -> EpisodeStart:
    """The start of the recorded session ``session_id``.

    Raises:
        ValueError: The world has no such session.
    """
    planned = world.sessions.get(session_id)
    if planned is None:
        raise ValueError(f"session {session_id!r} is not a recorded session of this shop's world "
                         f"({len(world.sessions)} sessions)")
    seed, profile = world.inputs.seed, planned.user.profile
    cart = initial_cart(profile, world.catalogue, derive_rng(seed, "cart", planned.index))
    start = Shopper(profile, world.catalogue, Choices(derive_rng(seed, "behaviour", planned.index)), cart).start
    draws = RecordedDraws(planned, SeededDraws(world, profile, planned.index))
    return EpisodeStart(Visit(start, planned.sim.steps[0].view), draws, (planned.index,))
