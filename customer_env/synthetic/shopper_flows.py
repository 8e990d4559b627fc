"""The browsing flows of a simulated session: search, refine, choose, examine, compare, decide.

Mixed into :class:`~customer_env.synthetic.shopper.Shopper`, which records the steps; the rules
and their persona dependence are documented in :mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

import random
from typing import Any

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Catalogue
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.steps import lognormal_count, p_trait


class BrowsingFlows:
    p: ShopperProfile
    cat: Catalogue
    rng: random.Random
    cart: views.Cart
    view: views.View
    viewed: list[str]
    refined: set[str]
    results_view: views.SearchView | None
    via_ratings: bool
    engagement: float
    will_buy: bool
    category: str
    steps: list[Any]

    # ---- the session -----------------------------------------------------------------------

    def run(self) -> None:
        rng, p = self.rng, self.p
        start = rng.choices(("home", "search", "product", "cart"), (0.55, 0.16, 0.15, 0.14))[0]
        if start == "search":
            self.view = self.results_view = self.search(self.query())
            if rng.random() < 0.45:
                self.search_round()
        elif start == "product":
            self.view = self.product_page(rng.choice(self.cat.by_type[self.intent]).asin)
        elif start == "cart" and self.cart:
            self.click(names.CART_BUTTON, views.CartView(self.cart, self._cart_recs()))
            self.cart_visit()
        mean_extra = (
            0.03 + 0.4 * p.perfectionist + 0.3 * p.confused + 0.25 * p.recreational - 0.35 * p.impulsive
        )
        if not self.will_buy:
            mean_extra *= 0.6
        n_examine = 1 + lognormal_count(rng, mean_extra * self.engagement, sigma=1.5, cap=30)
        examined = 0
        while True:
            if isinstance(self.view, views.ProductView):
                examined += 1
                final = examined >= n_examine
                self.examine(buying=final and self.will_buy)
                if final:
                    self.decide()
                self.leave_product()
            elif isinstance(self.view, views.SearchView):
                if self.view.query not in self.refined:
                    if not self.refined or rng.random() < 0.3:
                        self.refine()
                    self.refined.add(self.view.query)
                    if rng.random() < p_trait(0.08, 0.25, max(p.confused, p.novelty)):
                        self.search_round()  # not what they meant: search again
                        continue
                if examined == 0 and not self.will_buy and rng.random() < p_trait(0.08, 0.3, p.recreational):
                    self.terminate()  # only looked at the results
                self.choose_and_open()
            elif isinstance(self.view, views.HomeView) and rng.random() < p_trait(0.03, 0.15, p.novelty):
                self.open_from_home()
            else:
                self.search_round()

    def decide(self) -> None:
        """The end of the comparison: buy (maybe the best product seen) or leave."""
        if not self.will_buy:
            if self.rng.random() < 0.1:
                self.buy(abandon=True)
            self.terminate()
        best = max(self.viewed, key=lambda a: self.score(self.cat.by_asin[a], 0, []))
        if (
            best != self.view.asin
            and self.rng.random() < p_trait(0.0, 0.35, self.p.perfectionist)
            and self.results_view is not None
            and best in self.results_view.results
        ):
            self.view = self.results_view  # back (no recorded action), then reopen the best one
            product = self.cat.by_asin[best]
            self.click(
                names.product_link(names.SEARCH_RESULT, product.title),
                self.product_page(best),
                product=product,
                motive="product_link.rating",
            )
            self.choose_options(product, buying=True)
        self.buy()
        self.terminate()  # not reached: a purchase that is not abandoned ends the session

    # ---- search ----------------------------------------------------------------------------

    def search_round(self, query: str | None = None) -> None:
        query = query or self.query()
        if self.rng.random() < 0.85:
            self.click(names.SEARCH_INPUT, self.view)
        results = self.search(query)
        if self.rng.random() < 0.4:
            self.type_text(names.SEARCH_INPUT, query, self.view)
            self.click(names.SEARCH_BUTTON, results)
        else:
            self.type_text(names.SEARCH_INPUT, query, results)  # Enter submits
        self.results_view = results

    def refine(self) -> None:
        rng, p, v = self.rng, self.p, self.view
        assert isinstance(v, views.SearchView)
        filters = list(v.filters)

        def apply(target: names.Target, motive: str, **changes: Any) -> None:
            nonlocal v
            new = self.search(
                v.query,
                sort=changes.get("sort", v.sort),
                filters=tuple(changes.get("filters", filters)),
                page_no=1,
            )
            self.click(target, new, motive=motive)
            v = new
            self.results_view = new

        if rng.random() < p_trait(0.0, 0.65, p.price**1.5):
            if rng.random() < 0.65:
                self.click(names.SORT_DROPDOWN, v)
                apply(names.sort_option("price_low_to_high"), "filter.price", sort="price_low_to_high")
            else:
                key = self._cheap_range(v)
                filters.append(f"price:{key}")
                apply(names.price_filter(key), "filter.price", filters=filters)
        favourite = [b for b in p.brands if b in v.brands]
        if favourite and rng.random() < p_trait(0.0, 0.9, p.brand_loyal**1.5):
            filters.append(f"brand:{names.slug(favourite[0])}")
            apply(names.brand_filter(favourite[0]), "filter.brand", filters=filters)
        if rng.random() < p_trait(0.0, 0.18, p.reviews**1.5):
            filters.append("stars4")
            apply(names.FOUR_STAR_FILTER, "filter.stars", filters=filters)
        if rng.random() < p_trait(0.0, 0.1, p.delivery**1.5):
            filters.append("prime")
            apply(names.PRIME_FILTER, "filter", filters=filters)
        if v.n_pages > 1 and rng.random() < p_trait(0.02, 0.35, p.confused):
            self.next_page()
        elif rng.random() < p_trait(0.02, 0.25, p.novelty):
            term = rng.choice(v.related_terms)
            self.click(names.suggested_term(term), self.search(term))
            self.results_view = self.view  # type: ignore[assignment]
            self.refined.add(term)

    def _cheap_range(self, v: views.SearchView) -> str:
        prices = sorted(
            self.cat.by_asin[a].price for a in v.results if self.cat.by_asin[a].type_name == self.intent
        )
        target = prices[min(2, len(prices) - 1)] if prices else 25.0
        return next(k for k, (_, low, high) in names.PRICE_RANGES.items() if low <= target < high)

    def next_page(self) -> None:
        v = self.view
        assert isinstance(v, views.SearchView)
        page = self.search(v.query, sort=v.sort, filters=v.filters, page_no=v.page_no + 1)
        target = names.pagination(v.page_no + 1) if self.rng.random() < 0.7 else names.PAGINATION_NEXT
        self.click(target, page)
        self.results_view = page

    def choose_and_open(self) -> None:
        rng, v = self.rng, self.view
        assert isinstance(v, views.SearchView)
        section, pool = names.SEARCH_RESULT, list(dict.fromkeys(v.results[:12]))
        if rng.random() < p_trait(0.02, 0.12, self.p.novelty):
            section, pool = names.FOUR_STARS, list(v.four_star)
        products = [self.cat.by_asin[a] for a in pool]
        prices = [x.price for x in products]
        weights = [self.score(x, i, prices) ** 2 for i, x in enumerate(products)]
        product = rng.choices(products, weights)[0]
        self.via_ratings = section == names.SEARCH_RESULT and rng.random() < p_trait(
            0.0, 0.3, self.p.reviews**2
        )
        if self.via_ratings:
            target = names.result_ratings(product.title)
        else:
            part = (
                "product_title" if rng.random() < 0.72 or section != names.SEARCH_RESULT else "product_image"
            )
            target = names.product_link(section, product.title, part)
        self.click(target, self.product_page(product.asin), product=product, motive=self.motive(product))

    def open_from_home(self) -> None:
        v = self.view
        assert isinstance(v, views.HomeView)
        if self.rng.random() < 0.3:
            type_name = self.rng.choice(v.cards)
            self.click(names.home_card(type_name), self.search(type_name))
            self.results_view = self.view  # type: ignore[assignment]
            return
        product = self.cat.by_asin[self.rng.choice(v.recommended)]
        self.click(
            names.product_link(names.RECOMMENDED, product.title),
            self.product_page(product.asin),
            product=product,
        )

    # ---- leaving a product page -----------------------------------------------------------

    def leave_product(self) -> None:
        rng, p, v = self.rng, self.p, self.view
        assert isinstance(v, views.ProductView)
        r = rng.random()
        if r < p_trait(0.03, 0.15, p.recreational):
            section = names.RELATED if rng.random() < 0.6 else names.FOUR_STARS
            pool = v.related if section == names.RELATED else v.four_star
            if rng.random() < 0.25:
                self.click(names.RELATED_NEXT if section == names.RELATED else names.FOUR_STARS_NEXT, v)
            product = self.cat.by_asin[rng.choice(pool)]
            self.click(
                names.product_link(section, product.title),
                self.product_page(product.asin),
                product=product,
                motive=self.motive(product),
            )
        elif r < 0.5 and rng.random() < p_trait(0.1, 0.5, p.confused) or self.results_view is None:
            self.search_round()
        elif rng.random() < 0.07:
            self.click(names.HOMEPAGE, self.home_view())
        else:
            self.view = self.results_view  # browser back: no recorded action
            if self.view.n_pages > self.view.page_no and rng.random() < p_trait(0.02, 0.2, p.confused):
                self.next_page()
