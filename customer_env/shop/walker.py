"""The generator's shopper walking the live shop: :class:`ShopShopper`, where a visit starts, and
how a walk is picked up at a shop state the walk did not reach itself.

:class:`ShopShopper` is :class:`~customer_env.synthetic.shopper.Shopper` (the very walk that
generates the store: :mod:`customer_env.synthetic.browsing`) with the store's pages taken from the
shop: search results and product pages from the :class:`~customer_env.shop.world.ShopWorld`, and
the two drawn page outcomes (home pages, the page after an add to cart) from the episode's
:class:`~customer_env.shop.draws.WorldDraws`. So a walk sees exactly the pages the shop shows.

* :func:`draw_visit`: an episode's up-front decisions (intent, whether it buys, engagement, where it
  opens, the cart it starts with) and its first page, drawn from the persona by the generator's
  own code, from the episode's seed.
* :func:`resume`: a walk placed at a shop state (the reference shopper's documented fallback,
  :mod:`customer_env.shop.reference`): the generator's browsing loop entered on the current page.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> profile = world.users[world.user_ids[0]].profile
    >>> visit = draw_visit(world, profile, episode_seed=3)
    >>> visit == draw_visit(world, profile, episode_seed=3), visit.start.intent in world.catalogue.types
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from customer_env.shop.draws import SeededDraws, WorldDraws
from customer_env.shop.state import ShopState
from customer_env.shop.world import ShopWorld
from customer_env.synthetic import browsing, buying, views
from customer_env.synthetic.behaviour import initial_cart
from customer_env.synthetic.catalogue import Product
from customer_env.synthetic.choices import Choices
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.session_records import SessionEnded, SimAction
from customer_env.synthetic.shopper import Shopper, VisitStart


class ShopShopper(Shopper):
    """The generator's shopper with the shop's pages (module docstring); build with :meth:`walking`."""

    world: ShopWorld
    draws: WorldDraws
    home_visits: int  #: home pages built since the visit's first (the next draw is ``home_visits + 1``)
    adds: int  #: adds to cart so far

    @classmethod
    def walking(cls, world: ShopWorld, draws: WorldDraws, profile: ShopperProfile, choices: Choices,
                start: VisitStart, *, home_visits: int = 0, adds: int = 0) -> "ShopShopper":
        """A visit with the given up-front decisions walking ``world``."""
        shopper = cls.from_start(profile, world.catalogue, choices, start)
        shopper.world, shopper.draws = world, draws
        shopper.home_visits, shopper.adds = home_visits, adds
        return shopper

    def search(self, query: str, **kwargs: Any) -> views.SearchView:
        return self.world.search(query, self.cart, **kwargs)

    def product_page(self, asin: str) -> views.ProductView:
        return self.world.product(asin, self.cart)

    def home_view(self) -> views.HomeView:
        self.home_visits += 1
        return self.draws.home(self.home_visits, self.cart)

    def cart_confirmation(self, product: Product) -> str:
        self.adds += 1
        return self.draws.confirmation(self.adds - 1, product)

    def score(self, product: Product, position: int, prices: list[float]) -> float:
        # A pure function of what it reads; cached because the reference shopper runs the walk
        # thousands of times per step.
        return _score(self.profile, product, position, tuple(prices), product.asin in self.viewed, self.intent)


class QuietShopShopper(ShopShopper):
    """A :class:`ShopShopper` that writes no rationale and no dwell time (the incidental draws,
    which never decide an action): for computing laws, where only the actions matter."""

    def _dwell(self, kind: str) -> float:
        return 0.0

    def _rationale(self, kind: str, extra: Any = None) -> str | None:
        return None


@lru_cache(maxsize=1 << 18)
def _score(profile: ShopperProfile, product: Product, position: int, prices: tuple[float, ...], seen: bool,
           intent: str) -> float:
    scorer = Shopper.__new__(Shopper)
    scorer.profile, scorer.intent = profile, intent
    scorer.viewed = [product.asin] if seen else []
    return Shopper.score(scorer, product, position, list(prices))


@dataclass(frozen=True)
class Visit:
    """An episode's beginning: its up-front decisions and the page it opens on.

    Attributes:
        start: The up-front decisions (hidden from the agent, as a shopper's mind is).
        first_page: The page of the first step.
    """

    start: VisitStart
    first_page: views.View


class _FirstAction(Exception):
    def __init__(self, view: views.View) -> None:
        self.view = view


class _UntilFirstAction(Choices):
    def before_step(self, shopper: Shopper, action: SimAction) -> None:
        raise _FirstAction(shopper.view)


def draw_visit(world: ShopWorld, profile: ShopperProfile, episode_seed: int,
               draws: WorldDraws | None = None) -> Visit:
    """The episode's up-front decisions and first page, drawn as the generator draws a session's:
    the cart left from earlier visits (:func:`~customer_env.synthetic.behaviour.initial_cart`), the
    visit's decisions (:class:`~customer_env.synthetic.shopper.Shopper`), then its walk up to its
    first action, whose page is the first page (all from the episode's seed).
    """
    seed = world.inputs.seed
    cart = initial_cart(profile, world.catalogue, derive_rng(seed, "shop-cart", episode_seed))
    stream = derive_rng(seed, "shop-visit", episode_seed)
    start = Shopper(profile, world.catalogue, Choices(stream), cart).start
    draws = draws or SeededDraws(world, profile, episode_seed)
    walker = ShopShopper.walking(world, draws, profile, _UntilFirstAction(stream), start)
    try:
        browsing.walk(walker)
    except _FirstAction as first:
        return Visit(start, first.view)
    except SessionEnded:  # pragma: no cover - every walk acts before it ends
        pass
    raise RuntimeError("the visit ended before its first action")  # pragma: no cover


def resume(world: ShopWorld, draws: WorldDraws, profile: ShopperProfile, choices: Choices,
           start: VisitStart, state: ShopState, shown: Sequence[views.View], *,
           shopper_class: type[ShopShopper] = ShopShopper) -> None:
    """Walk on from a shop state the walk itself did not reach (raises ``SessionEnded`` at its end).

    The shopper keeps the visit's up-front decisions and takes from the episode what the walk
    tracks: the cart, the latest results page (where "back" returns to), the products examined
    (each arrival on a product page), the queries seen (a results page is refined on a first
    visit only) and the last query. Then the generator's browsing loop
    (:func:`customer_env.synthetic.browsing.browse`, after drawing how many more products to
    examine) runs from the current page. Where the loop does not start (a reviews or
    confirmation page) the walk first goes back, with no action, to the product page (as the
    generator's shoppers leave the reviews); on the cart page it first does what the generator's
    shoppers do there (:func:`customer_env.synthetic.buying.cart_visit`, checking out if the
    visit buys).

    Args:
        shown: Every page the episode showed, in order (the current one last).
    """
    shopper = shopper_class.walking(world, draws, profile, choices, start, home_visits=state.home_visits,
                                    adds=state.adds)
    shopper.cart = tuple(state.cart)
    pages = list(shown)
    arrivals: list[str] = []
    for before, page in zip([None, *pages], pages):
        if isinstance(page, views.ProductView) and not (
                isinstance(before, views.ProductView) and before.asin == page.asin):
            arrivals.append(page.asin)
    shopper.viewed = arrivals
    shopper.examined = len(arrivals)
    earlier = pages[:-1]
    shopper.refined = {p.query for p in earlier if isinstance(p, views.SearchView)}
    reachable = [*state.back, state.page]
    shopper.results_view = next((p for p in reversed(reachable) if isinstance(p, views.SearchView)), None)
    queries = [p.query for p in pages if isinstance(p, views.SearchView)]
    shopper.last_query = state.typed if state.typed is not None else (queries[-1] if queries else "")
    page = state.page
    if isinstance(page, (views.ReviewsView, views.AddedView)):
        product = next((p for p in reversed(state.back)
                        if isinstance(p, views.ProductView) and p.asin == page.asin), None)
        page = product if product is not None else page
    shopper.view = page
    if isinstance(page, views.CartView):
        buying.cart_visit(shopper, checkout=shopper.will_buy)
    browsing.plan_products(shopper)
    browsing.browse(shopper)
