"""The shop's own random page outcomes: what a home page shows, and which page follows an add to cart.

Almost every page of the shop follows from the action taken (search results, product pages,
filters, options, the cart). Two do not, in the store's model: each visit of the home page shows
its own recommendations and category cards, and an add to cart is followed by a warranty pop-up,
the cart side bar or a confirmation page. The generator draws both with the same functions
(:func:`customer_env.synthetic.shopper.home_view`, :func:`~customer_env.synthetic.shopper.cart_confirmation`);
the shop draws them from streams of its own, one per episode and per occurrence, so the ``k``-th
home page or add to cart of an episode is the same whatever happened before it (which is what lets
the reference shopper's walk see exactly the pages the shop will show).

:class:`SeededDraws` is the live shop's; :class:`RecordedDraws` takes the outcomes from a recorded
session (the consistency replay), drawing any occurrence past the recording's as the live shop does.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> profile = world.users[world.user_ids[0]].profile
    >>> draws = SeededDraws(world, profile, episode_seed=7)
    >>> draws.home(1, ()) == SeededDraws(world, profile, episode_seed=7).home(1, ())
    True
    >>> draws.confirmation(0, world.catalogue.products[0]) in ("popup", "side_bar", "added")
    True
"""

from __future__ import annotations

from typing import Protocol

from customer_env.shop.world import ShopWorld
from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Product
from customer_env.synthetic.choices import Choices
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.plan import PlannedSession
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.shopper import cart_confirmation, home_view


class WorldDraws(Protocol):
    """Where an episode's page outcomes come from."""

    def home(self, visit: int, cart: views.Cart) -> views.HomeView:
        """The home page of the episode's ``visit``-th return to it (1 = the first; 0 is the page
        the visit opened with, drawn with its up-front decisions)."""
        ...

    def confirmation(self, add: int, product: Product) -> str:
        """The page after the episode's ``add``-th add to cart (0 = the first): ``popup``,
        ``side_bar`` or ``added``."""
        ...


class SeededDraws:
    """The live shop's page outcomes, from ``(store seed, episode seed, occurrence)`` streams.

    Args:
        world: The shop's world.
        profile: The persona's profile (home pages show its categories).
        episode_seed: The episode's seed.
    """

    def __init__(self, world: ShopWorld, profile: ShopperProfile, episode_seed: int) -> None:
        self.world, self.profile, self.episode_seed = world, profile, int(episode_seed)

    def home(self, visit: int, cart: views.Cart) -> views.HomeView:
        stream = derive_rng(self.world.inputs.seed, "shop-home", self.episode_seed, visit)
        return home_view(self.profile, self.world.catalogue, tuple(cart), Choices(stream))

    def confirmation(self, add: int, product: Product) -> str:
        stream = derive_rng(self.world.inputs.seed, "shop-confirmation", self.episode_seed, add)
        return cart_confirmation(product, Choices(stream))


class RecordedDraws:
    """The page outcomes a recorded session shows (its returns to the home page and its adds to
    cart, in order); later occurrences come from ``fallback``.

    Args:
        session: The recorded (planned) session.
        fallback: Draws for occurrences the recording does not have.
    """

    def __init__(self, session: PlannedSession, fallback: WorldDraws) -> None:
        self.fallback = fallback
        self._homes: list[views.HomeView] = []
        self._confirmations: list[str] = []
        for step in session.sim.steps:
            if step.action.name == names.HOMEPAGE.name and isinstance(step.after, views.HomeView):
                self._homes.append(step.after)
            elif step.action.name == names.ADD_TO_CART.name:
                after = step.after
                self._confirmations.append(
                    "added" if isinstance(after, views.AddedView)
                    else "popup" if isinstance(after, views.ProductView) and after.popup else "side_bar")

    def home(self, visit: int, cart: views.Cart) -> views.HomeView:
        if 1 <= visit <= len(self._homes):
            return views.with_cart(self._homes[visit - 1], tuple(cart))  # type: ignore[return-value]
        return self.fallback.home(visit, cart)

    def confirmation(self, add: int, product: Product) -> str:
        if 0 <= add < len(self._confirmations):
            return self._confirmations[add]
        return self.fallback.confirmation(add, product)
