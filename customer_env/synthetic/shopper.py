"""The state of one simulated shopper's visit, and how it acts: :class:`Shopper`.

:class:`Shopper` holds everything a visit knows and changes (declared once, below): who shops
(the :class:`~customer_env.synthetic.personas.ShopperProfile`), what the visit decided up front
(intent, whether it buys, its engagement), where the shopper is (view, cart, results page, the
products seen) and the steps recorded so far. It records actions (:meth:`Shopper.click`,
:meth:`Shopper.type_text`, :meth:`Shopper.terminate`), builds the views the store shows, and
makes the persona-shaped judgements (query, product scores). The flows that walk the store are
functions of a shopper in :mod:`browsing`, :mod:`examining` and :mod:`buying`; the rules are
documented in :mod:`behaviour`.

Example:
    >>> import random
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> from customer_env.synthetic.choices import Choices
    >>> from customer_env.synthetic.personas import generate_users
    >>> shopper = Shopper(generate_users(0, 1)[0].profile, build_catalogue(0), Choices(random.Random(0)), ())
    >>> shopper.view.kind, shopper.steps
    ('home', [])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import BRANDS, PRODUCT_TYPES, Catalogue, Product
from customer_env.synthetic.choices import Choices, Count, p_trait
from customer_env.synthetic.names import Target
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.rationales import rationale_for
from customer_env.synthetic.seeds import clamp
from customer_env.synthetic.session_records import (
    MAX_STEPS,
    SessionEnded,
    SimAction,
    SimStep,
    product_data,
)

#: How a visit opens (:attr:`Shopper.opening`).
OPENINGS = ("home", "search", "product", "cart")
_ENDS_SESSION = {names.BUY_NOW.name, names.SIDE_BAR_CHECK_OUT.name, names.CHECK_OUT.name}
_DECISIONS = {"product_link", "purchase", "filter", "terminate", "input"}
_DWELL = {"input": 9.0, "review": 12.0, "terminate": 6.0, "product_link": 7.0}
#: Categories whose add-to-cart offers a warranty first (:meth:`Shopper.cart_confirmation`).
WARRANTY_CATEGORIES = frozenset({"Electronics", "Kitchen"})
_PRODUCT_SECTIONS = {
    names.FOUR_STARS: "promotion_items",
    names.RELATED: "promotion_items",
    names.SEARCH_RESULT: "search_results",
    names.RECOMMENDED: "recommended_items",
    names.CART_RECOMMENDED: "promotion_items",
}


@dataclass(frozen=True)
class VisitStart:
    """What a visit decides when it opens, before its first step (see :meth:`Shopper.from_start`)."""

    intent: str  #: the product type the visit shops for
    will_buy: bool  #: whether the visit ends in a purchase (unless it is abandoned)
    engagement: float  #: how long the visit is, whoever shops
    opening: str  #: where it opens (:data:`OPENINGS`)
    cart: views.Cart  #: what the cart holds when it opens
    home: views.HomeView  #: the home page it sees first


class Shopper:
    """One visit of one shopper: its state, its recorded steps, and the acts that record them.

    Args:
        profile: The persona's behaviour traits.
        catalogue: The store's catalogue.
        choices: Where every random choice of the visit comes from.
        start_cart: What the cart holds when the visit opens.
    """

    # Who shops, in which store, drawing choices from where. The flows read ``profile`` at each
    # decision (never a copy), so a fork may continue a visit with another persona.
    profile: ShopperProfile
    catalogue: Catalogue
    choices: Choices
    # Decided when the visit opens.
    intent: str  #: the product type the visit shops for
    category: str  #: the intent's category
    will_buy: bool  #: whether the visit ends in a purchase (unless it is abandoned)
    engagement: float  #: how long this visit is, whoever shops (log-normal)
    opening: str  #: where the visit opens: ``home``, ``search`` (results), ``product`` or ``cart``
    # Where the visit is (and ``view``, the page the shopper is on: a property below).
    cart: views.Cart
    results_view: views.SearchView | None  #: the latest results page (where "back" returns to)
    last_query: str
    via_ratings: bool  #: the product was opened through its star rating (reviews first)
    viewed: list[str]  #: asins examined, in order (repeats included)
    refined: set[str]  #: queries whose results page was refined (sorted, filtered) already
    extra_products: Count | None  #: products to examine beyond the first (drawn once browsing starts)
    examined: int  #: product pages examined so far
    steps: list[SimStep]  #: what was recorded

    def __init__(
        self, profile: ShopperProfile, catalogue: Catalogue, choices: Choices, start_cart: views.Cart
    ) -> None:
        self.profile = profile
        self.catalogue = catalogue
        self.choices = choices
        self.cart = tuple(start_cart)
        self.steps = []
        self.viewed = []
        self.refined = set()
        self.results_view = None
        self.last_query = ""
        self.via_ratings = False
        self.extra_products = None
        self.examined = 0
        self.intent = self._draw_intent()
        self.category = catalogue.types[self.intent].category
        p_buy = (
            0.65
            + 0.35 * (profile.impulsive - 0.5)
            - 0.4 * (profile.recreational - 0.5)
            + 0.12 * (profile.delivery - 0.5)
            - 0.15 * (profile.confused - 0.5)
        )
        self.will_buy = choices.chance(clamp(p_buy, 0.1, 0.95))
        self.engagement = choices.lognormal(-0.3, 1.0)
        self.view = self.home_view()
        self.opening = choices.pick_weighted(OPENINGS, (0.55, 0.16, 0.15, 0.14))
        choices.after_step(self)

    @classmethod
    def from_start(
        cls, profile: ShopperProfile, catalogue: Catalogue, choices: Choices, start: VisitStart
    ) -> "Shopper":
        """A visit whose up-front decisions are given (drawn by another visit's constructor, see
        :attr:`start`) instead of drawn: nothing is drawn until the walk begins.

        Example:
            >>> import random
            >>> from customer_env.synthetic.catalogue import build_catalogue
            >>> from customer_env.synthetic.personas import generate_users
            >>> profile, catalogue = generate_users(0, 1)[0].profile, build_catalogue(0)
            >>> drawn = Shopper(profile, catalogue, Choices(random.Random(0)), ())
            >>> again = Shopper.from_start(profile, catalogue, Choices(random.Random(1)), drawn.start)
            >>> again.start == drawn.start
            True
        """
        shopper = cls.__new__(cls)
        shopper.profile = profile
        shopper.catalogue = catalogue
        shopper.choices = choices
        shopper.cart = tuple(start.cart)
        shopper.steps = []
        shopper.viewed = []
        shopper.refined = set()
        shopper.results_view = None
        shopper.last_query = ""
        shopper.via_ratings = False
        shopper.extra_products = None
        shopper.examined = 0
        shopper.intent = start.intent
        shopper.category = catalogue.types[start.intent].category
        shopper.will_buy = start.will_buy
        shopper.engagement = start.engagement
        shopper.view = start.home
        shopper.opening = start.opening
        choices.after_step(shopper)
        return shopper

    @property
    def start(self) -> VisitStart:
        """The visit's up-front decisions (valid before the walk begins: the cart and the page move)."""
        assert isinstance(self.view, views.HomeView), "the start of a visit is read on its home page"
        return VisitStart(self.intent, self.will_buy, self.engagement, self.opening, self.cart, self.view)

    def _draw_intent(self) -> str:
        choices = self.choices
        if choices.chance(0.85):
            category = choices.pick(self.profile.categories)
        else:
            category = choices.pick(sorted({t.category for t in PRODUCT_TYPES}))
        return choices.pick([t.name for t in PRODUCT_TYPES if t.category == category])

    @property
    def view(self) -> views.View:
        """The page the shopper is on (its :class:`Choices` is told of every move)."""
        return self._view

    @view.setter
    def view(self, value: views.View) -> None:
        self._view = value
        self.choices.moved(self)

    # ---- recording -------------------------------------------------------------------------

    def _dwell(self, kind: str) -> float:
        return round(self.choices.incidental.lognormvariate(math.log(_DWELL.get(kind, 5.0)), 0.6) + 0.4, 3)

    def _rationale(self, kind: str, extra: Mapping[str, str] | None = None) -> str | None:
        p = 0.062 if kind.split(".")[0] in _DECISIONS else 0.018
        rng = self.choices.incidental
        if rng.random() >= p:
            return None
        return rationale_for(kind, rng, {"product": self.intent, **(extra or {})})

    def _record(self, action: SimAction, kind: str, after: views.View | None = None) -> None:
        self.choices.before_step(self, action)
        self.steps.append(SimStep(self.view, action, self._dwell(kind), after))
        self.choices.after_step(self)

    def _guard(self) -> None:
        if len(self.steps) >= MAX_STEPS - 1:
            self.terminate()

    def click(
        self,
        target: Target,
        next_view: views.View,
        *,
        product: Product | None = None,
        products: tuple[Mapping[str, Any], ...] | None = None,
        motive: str | None = None,
        data: Mapping[str, str] | None = None,
        end: bool = False,
    ) -> None:
        """Record a click on ``target`` and move to ``next_view``.

        Checkout clicks always end the session; ``end`` ends it after any click.
        """
        self._guard()
        head = target.name.split(".")[0]
        if data is None:
            data = (
                product_data(product)
                if product is not None
                else {"text": target.name.rsplit(".", 1)[-1].replace("_", " ")}
            )
        extra = {"brand": product.brand} if product is not None else None
        action = SimAction(
            "click",
            target,
            meta_section=_PRODUCT_SECTIONS.get(head, head),
            meta_data=data,
            products=products,
            rationale=self._rationale(motive or target.click_type, extra),
        )
        self._record(action, target.click_type, next_view)
        if end or target.name in _ENDS_SESSION:
            raise SessionEnded
        self.view = next_view

    def type_text(self, target: Target, text: str, next_view: views.View) -> None:
        """Record typing ``text`` into ``target`` and move to ``next_view``."""
        self._guard()
        self._record(
            SimAction("input", target, text=text, rationale=self._rationale("input")), "input", next_view
        )
        self.view = next_view

    def terminate(self) -> None:
        """Record the end of the visit (no purchase) and end the session."""
        self._record(SimAction("terminate", rationale=self._rationale("terminate")), "terminate")
        raise SessionEnded

    # ---- views -----------------------------------------------------------------------------

    def home_view(self) -> views.HomeView:
        """The home page: recommendations and cards from the persona's categories."""
        return home_view(self.profile, self.catalogue, self.cart, self.choices)

    def search(self, query: str, **kwargs: Any) -> views.SearchView:
        return views.search_view(self.catalogue, query, cart=self.cart, **kwargs)

    def product_page(self, asin: str) -> views.ProductView:
        return views.product_view(self.catalogue, asin, cart=self.cart)

    def cart_confirmation(self, product: Product) -> str:
        """Which page the store shows after ``product`` is added to the cart (:func:`cart_confirmation`)."""
        return cart_confirmation(product, self.choices)

    def cart_view(self) -> views.CartView:
        """The cart page, recommending the first products of the intent's type."""
        recommended = tuple(product.asin for product in self.catalogue.by_type[self.intent][:4])
        return views.CartView(self.cart, recommended)

    # ---- persona-shaped judgements --------------------------------------------------------

    def query(self) -> str:
        """A query for the intent, shaped by the persona (brand prefix, price words, spec)."""
        choices, profile, type_name = self.choices, self.profile, self.intent
        favourite = [b for b in profile.brands if b in BRANDS[self.category]]
        if favourite and choices.chance(p_trait(0.0, 0.85, profile.brand_loyal)):
            query = f"{favourite[0].lower()} {type_name}"
        elif choices.chance(p_trait(0.0, 0.6, profile.price**1.5)):
            low, high = self.catalogue.types[type_name].price_range
            bound = next(b for b in (25, 50, 100, 200, 500) if b >= math.sqrt(low * high))
            query = f"cheap {type_name}" if choices.chance(0.5) else f"{type_name} under {bound}"
        elif choices.chance(0.3):
            query = f"{choices.pick(self.catalogue.types[type_name].specs).lower()} {type_name}"
        else:
            query = type_name
        if query == self.last_query:
            query = choices.pick(views.related_terms(self.catalogue, type_name))
        self.last_query = query
        return query

    def score(self, product: Product, position: int, prices: list[float]) -> float:
        """How much the shopper wants to open ``product`` at ``position`` of a list."""
        profile = self.profile
        cheapness = sum(1 for x in prices if x < product.price) / max(1, len(prices) - 1)
        s = math.exp(-0.2 * position) * math.exp(-3.5 * profile.price * cheapness)
        if product.brand in profile.brands:
            s *= 1.0 + 10.0 * profile.brand_loyal**2
        s *= math.exp(3.0 * max(profile.reviews, profile.perfectionist) * (product.rating - 4.3))
        s *= 1.0 + 0.25 * profile.perfectionist * math.log10(product.review_count)
        if position == 0:
            s *= 1.0 + 4.0 * profile.impulsive
        if product.asin in self.viewed:
            s *= 0.03
        if product.type_name != self.intent:
            s *= 0.1
        return s

    def motive(self, product: Product) -> str:
        """The motive a rationale for opening ``product`` names."""
        profile = self.profile
        if product.brand in profile.brands and profile.brand_loyal >= 0.5:
            return "product_link.brand"
        if profile.price >= 0.75:
            return "product_link.price"
        if max(profile.reviews, profile.perfectionist) >= 0.75:
            return "product_link.rating"
        return "product_link"


# ---- what the store shows, drawn (shared with the live shop, customer_env.shop) ----------------


def home_view(profile: ShopperProfile, catalogue: Catalogue, cart: views.Cart, choices: Choices) -> views.HomeView:
    """A home page for ``profile``: eight recommended products and four category cards from the
    persona's categories (``Choices.sample``: what a page happens to show)."""
    pool = [product.asin for c in profile.categories for product in catalogue.by_category[c]]
    recommended = tuple(sorted(set(choices.sample(pool, 8)), key=pool.index))
    types = [t.name for t in PRODUCT_TYPES if t.category in profile.categories]
    cards = tuple(choices.sample(types, min(4, len(types))))
    return views.HomeView(cart=cart, recommended=recommended, cards=cards)


#: The pages that can follow an add to cart (:func:`cart_confirmation`).
CONFIRMATIONS = ("popup", "side_bar", "added")


def cart_confirmation(product: Product, choices: Choices) -> str:
    """Which page the store shows after ``product`` is added to the cart: the warranty ``"popup"``
    (45% in :data:`WARRANTY_CATEGORIES`), else the cart ``"side_bar"`` (68%) or the ``"added"``
    confirmation page."""
    if product.category in WARRANTY_CATEGORIES and choices.chance(0.45):
        return "popup"
    return "side_bar" if choices.chance(0.68) else "added"
