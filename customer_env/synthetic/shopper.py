"""The walk of one simulated shopper through the store (the rules are in :mod:`behaviour`).

:class:`Shopper` holds the session state (view, cart, products seen, the up-front decisions) and
records each step; the browsing, examining and buying flows are mixed in from
:mod:`shopper_flows`, :mod:`shopper_examine` and :mod:`shopper_buying`.

Example:
    >>> import random
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> from customer_env.synthetic.personas import generate_users
    >>> from customer_env.synthetic.steps import SessionEnded
    >>> shopper = Shopper(generate_users(0, 1)[0].profile, build_catalogue(0), random.Random(0), ())
    >>> try:
    ...     shopper.run()
    ... except SessionEnded:
    ...     pass
    >>> shopper.steps[0].view.kind in ("home", "search", "product", "cart")
    True
"""

from __future__ import annotations

import math
import random
from typing import Any, Mapping

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import BRANDS, PRODUCT_TYPES, Catalogue, Product
from customer_env.synthetic.names import Target
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.rationales import rationale_for
from customer_env.synthetic.seeds import clamp
from customer_env.synthetic.shopper_buying import BuyingFlows
from customer_env.synthetic.shopper_examine import ExamineFlows
from customer_env.synthetic.shopper_flows import BrowsingFlows
from customer_env.synthetic.steps import (
    MAX_STEPS,
    SessionEnded,
    SimAction,
    SimStep,
    p_trait,
    product_data,
)

_ENDS_SESSION = {names.BUY_NOW.name, names.SIDE_BAR_CHECK_OUT.name, names.CHECK_OUT.name}
_DECISIONS = {"product_link", "purchase", "filter", "terminate", "input"}
_DWELL = {"input": 9.0, "review": 12.0, "terminate": 6.0, "product_link": 7.0}
_PRODUCT_SECTIONS = {
    names.FOUR_STARS: "promotion_items",
    names.RELATED: "promotion_items",
    names.SEARCH_RESULT: "search_results",
    names.RECOMMENDED: "recommended_items",
    names.CART_RECOMMENDED: "promotion_items",
}


class Shopper(BrowsingFlows, ExamineFlows, BuyingFlows):
    """Holds the session state and records steps; the flows (search, examine, buy) are mixed in."""

    def __init__(
        self, profile: ShopperProfile, catalogue: Catalogue, rng: random.Random, start_cart: views.Cart
    ) -> None:
        self.p = profile
        self.cat = catalogue
        self.rng = rng
        self.cart: views.Cart = tuple(start_cart)
        self.steps: list[SimStep] = []
        self.viewed: list[str] = []
        self.refined: set[str] = set()
        self.results_view: views.SearchView | None = None
        self.last_query = ""
        self.via_ratings = False
        self.intent = self._intent()
        self.category = self.cat.types[self.intent].category
        p_buy = (
            0.65
            + 0.35 * (profile.impulsive - 0.5)
            - 0.4 * (profile.recreational - 0.5)
            + 0.12 * (profile.delivery - 0.5)
            - 0.15 * (profile.confused - 0.5)
        )
        self.will_buy = rng.random() < clamp(p_buy, 0.1, 0.95)
        self.engagement = rng.lognormvariate(-0.3, 1.0)  # how long this visit is, whoever shops
        self.view: views.View = self.home_view()

    # ---- recording -------------------------------------------------------------------------

    def _intent(self) -> str:
        if self.rng.random() < 0.85:
            category = self.rng.choice(self.p.categories)
        else:
            category = self.rng.choice(sorted({t.category for t in PRODUCT_TYPES}))
        return self.rng.choice([t.name for t in PRODUCT_TYPES if t.category == category])

    def _dwell(self, kind: str) -> float:
        return round(self.rng.lognormvariate(math.log(_DWELL.get(kind, 5.0)), 0.6) + 0.4, 3)

    def _rationale(self, kind: str, extra: Mapping[str, str] | None = None) -> str | None:
        p = 0.062 if kind.split(".")[0] in _DECISIONS else 0.018
        if self.rng.random() >= p:
            return None
        return rationale_for(kind, self.rng, {"product": self.intent, **(extra or {})})

    def _record(self, action: SimAction, kind: str, after: views.View | None = None) -> None:
        self.steps.append(SimStep(self.view, action, self._dwell(kind), after))

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
        self._guard()
        self._record(
            SimAction("input", target, text=text, rationale=self._rationale("input")), "input", next_view
        )
        self.view = next_view

    def terminate(self) -> None:
        self._record(SimAction("terminate", rationale=self._rationale("terminate")), "terminate")
        raise SessionEnded

    # ---- views -----------------------------------------------------------------------------

    def home_view(self) -> views.HomeView:
        pool = [p.asin for c in self.p.categories for p in self.cat.by_category[c]]
        recommended = tuple(sorted(set(self.rng.sample(pool, 8)), key=pool.index))
        types = [t.name for t in PRODUCT_TYPES if t.category in self.p.categories]
        cards = tuple(self.rng.sample(types, min(4, len(types))))
        return views.HomeView(cart=self.cart, recommended=recommended, cards=cards)

    def search(self, query: str, **kwargs: Any) -> views.SearchView:
        return views.search_view(self.cat, query, cart=self.cart, **kwargs)

    def product_page(self, asin: str) -> views.ProductView:
        return views.product_view(self.cat, asin, cart=self.cart)

    def query(self) -> str:
        """A query for the intent, shaped by the persona (brand prefix, price words, spec)."""
        t, rng = self.intent, self.rng
        favourite = [b for b in self.p.brands if b in BRANDS[self.category]]
        if favourite and rng.random() < p_trait(0.0, 0.85, self.p.brand_loyal):
            query = f"{favourite[0].lower()} {t}"
        elif rng.random() < p_trait(0.0, 0.6, self.p.price**1.5):
            low, high = self.cat.types[t].price_range
            bound = next(b for b in (25, 50, 100, 200, 500) if b >= math.sqrt(low * high))
            query = f"cheap {t}" if rng.random() < 0.5 else f"{t} under {bound}"
        elif rng.random() < 0.3:
            query = f"{rng.choice(self.cat.types[t].specs).lower()} {t}"
        else:
            query = t
        if query == self.last_query:
            query = rng.choice(views.related_terms(self.cat, t))
        self.last_query = query
        return query

    def score(self, product: Product, position: int, prices: list[float]) -> float:
        """How much the shopper wants to open ``product`` at ``position`` of a list."""
        p = self.p
        cheapness = sum(1 for x in prices if x < product.price) / max(1, len(prices) - 1)
        s = math.exp(-0.2 * position) * math.exp(-3.5 * p.price * cheapness)
        if product.brand in p.brands:
            s *= 1.0 + 10.0 * p.brand_loyal**2
        s *= math.exp(3.0 * max(p.reviews, p.perfectionist) * (product.rating - 4.3))
        s *= 1.0 + 0.25 * p.perfectionist * math.log10(product.review_count)
        if position == 0:
            s *= 1.0 + 4.0 * p.impulsive
        if product.asin in self.viewed:
            s *= 0.03
        if product.type_name != self.intent:
            s *= 0.1
        return s

    def motive(self, product: Product) -> str:
        if product.brand in self.p.brands and self.p.brand_loyal >= 0.5:
            return "product_link.brand"
        if self.p.price >= 0.75:
            return "product_link.price"
        if max(self.p.reviews, self.p.perfectionist) >= 0.75:
            return "product_link.rating"
        return "product_link"
