"""Examining a product page: pictures and details, reviews, options.

Mixed into :class:`~customer_env.synthetic.shopper.Shopper`; the rules are documented in
:mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

import random
from dataclasses import replace

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Catalogue, Product
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.steps import lognormal_count, p_trait


#: At most this many review interactions on one product page (and its all-reviews pages).
REVIEW_CLICKS_PER_PRODUCT = 10
#: Each product already examined in the session divides the review reading of the next by
#: ``1 + REVIEW_FATIGUE * examined``: the first candidates are read closely, later ones skimmed.
REVIEW_FATIGUE = 0.3


class ExamineFlows:
    p: ShopperProfile
    cat: Catalogue
    rng: random.Random
    cart: views.Cart
    view: views.View
    viewed: list[str]
    via_ratings: bool
    engagement: float

    def examine(self, buying: bool) -> None:
        rng, p = self.rng, self.p
        product = self.cat.by_asin[self.view.asin]  # type: ignore[union-attr]
        self.viewed.append(product.asin)
        blocks = [self.look_around, self.read_reviews]
        rng.shuffle(blocks)
        if self.via_ratings:
            blocks.remove(self.read_reviews)
            blocks.insert(0, self.read_reviews)
        for block in blocks:
            block(product)
        if buying or rng.random() < p_trait(0.3, 0.55, p.perfectionist) * min(1.5, self.engagement):
            self.choose_options(product, buying)
        self.via_ratings = False

    def look_around(self, product: Product) -> None:
        rng, p = self.rng, self.p
        if rng.random() < p_trait(0.08, 0.3, p.novelty) * min(1.5, self.engagement):
            for _ in range(rng.randint(1, 2)):
                self.click(names.thumbnail(rng.randint(1, 6)), self.view, product=product)
        if rng.random() < p_trait(0.05, 0.25, p.perfectionist):
            self.click(names.ABOUT_SEE_MORE, self.view, product=product)
        if rng.random() < 0.05:
            self.click(names.DETAILS_SEE_MORE, self.view, product=product)
        if rng.random() < p_trait(0.03, 0.12, p.novelty):
            self.click(names.RELATED_NEXT if rng.random() < 0.6 else names.FOUR_STARS_NEXT, self.view)
        if self.cart and rng.random() < 0.06:
            page = self.view
            self.click(names.CART_BUTTON, views.CartView(self.cart, self._cart_recs()))
            self.view = page  # a look at the cart, then back
        if rng.random() < p_trait(0.01, 0.06, p.delivery):
            self.click(names.DELIVERY_DETAILS, self.view, product=product)

    def read_reviews(self, product: Product) -> None:
        rng, p = self.rng, self.p
        if not self.via_ratings and rng.random() >= p_trait(0.12, 0.65, p.reviews) * min(
            1.3, self.engagement
        ):
            return
        page = self.view
        if not self.via_ratings:
            self.click(names.REVIEWS, page, product=product)
        # Engagement saturates here, as in every per-product choice, and reading tires: a long
        # visit examines more products, not ever longer review threads. (Uncapped, review clicks
        # grew with engagement squared and a dozen sessions set a store's click mix.)
        depth = min(1.5, self.engagement) / (1.0 + REVIEW_FATIGUE * (len(self.viewed) - 1))
        reads = lognormal_count(rng, (0.65 + 2.86 * p.reviews) * depth, sigma=0.8, cap=REVIEW_CLICKS_PER_PRODUCT)
        for _ in range(reads):
            r, v = rng.random(), self.view
            if isinstance(v, views.ProductView):
                if r < 0.3:
                    stars = rng.choice((5, 4, 3, 2, 1) if p.price < 0.5 else (1, 2, 3))
                    nxt: views.View = views.ReviewsView(self.cart, product.asin, f"{stars}_star")
                    self.click(names.histogram(stars), nxt, product=product)
                elif r < 0.5:
                    self.click(
                        names.SEE_MORE_REVIEWS, views.ReviewsView(self.cart, product.asin), product=product
                    )
                elif r < 0.8:
                    self.click(
                        names.review_read_more(rng.randint(1, names.REVIEWS_SHOWN)), v, product=product
                    )
                else:
                    self.click(names.review_helpful(rng.randint(1, names.REVIEWS_SHOWN)), v, product=product)
            elif isinstance(v, views.ReviewsView):
                if r < 0.3:
                    key = rng.choice(
                        ("critical", "1_star", "2_star") if p.perfectionist > 0.5 else names.REVIEW_FILTERS
                    )
                    self.click(
                        names.review_filter(key), replace(v, star_filter=key, page_no=1), product=product
                    )
                elif r < 0.55:
                    self.click(names.REVIEW_NEXT, replace(v, page_no=v.page_no + 1), product=product)
                elif r < 0.7:
                    key = rng.choice(names.REVIEW_SORTS)
                    self.click(names.review_sort(key), replace(v, sort=key, page_no=1), product=product)
                else:
                    self.click(
                        names.review_list_helpful(rng.randint(1, names.REVIEWS_PER_PAGE)), v, product=product
                    )
        if isinstance(self.view, views.ReviewsView):
            if rng.random() < 0.3:
                self.click(names.REVIEW_PRODUCT_TITLE, page, product=product)
            self.view = page  # otherwise: browser back, no recorded action

    def choose_options(self, product: Product, buying: bool) -> None:
        rng, p = self.rng, self.p
        for dim, values in product.options:
            tries = 1 + (rng.random() < p_trait(0.2, 0.6, p.perfectionist)) if buying else 1
            for _ in range(tries):
                if dim == "size" and p.price > 0.6:
                    value = values[0] if rng.random() < 0.8 else rng.choice(values)
                else:
                    value = rng.choice(values)
                v = self.view
                assert isinstance(v, views.ProductView)
                selected = tuple((d, x) for d, x in v.selected if d != dim) + ((dim, value),)
                self.click(names.option(dim, value), replace(v, selected=selected), product=product)
            if not buying and rng.random() < 0.5:
                break
