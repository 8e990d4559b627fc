"""Examining a product page: pictures and details, reviews, options.

Functions of a :class:`~customer_env.synthetic.shopper.Shopper`; the rules are documented in
:mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

from dataclasses import replace

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Product
from customer_env.synthetic.choices import p_trait
from customer_env.synthetic.shopper import Shopper

#: At most this many review interactions on one product page (and its all-reviews pages).
REVIEW_CLICKS_PER_PRODUCT = 10
#: Each product already examined in the session divides the review reading of the next by
#: ``1 + REVIEW_FATIGUE * examined``: the first candidates are read closely, later ones skimmed.
REVIEW_FATIGUE = 0.3
#: The band bounds of one review interaction, on the product page and on the all-reviews page.
_ON_PRODUCT_PAGE = (0.3, 0.5, 0.8)  # histogram, see all reviews, read more, helpful
_ON_REVIEWS_PAGE = (0.3, 0.55, 0.7)  # star filter, next page, sort, helpful


def examine(s: Shopper, buying: bool) -> None:
    """Look around and read reviews (in either order; reviews first when opened via the rating),
    then set options (always when buying)."""
    choices = s.choices
    product = s.catalogue.by_asin[s.view.asin]  # type: ignore[union-attr]
    s.viewed.append(product.asin)
    blocks = choices.shuffled([look_around, read_reviews])
    if s.via_ratings:
        blocks.remove(read_reviews)
        blocks.insert(0, read_reviews)
    for block in blocks:
        block(s, product)
    if buying or choices.chance(p_trait(0.3, 0.55, s.profile.perfectionist) * min(1.5, s.engagement)):
        choose_options(s, product, buying)
    s.via_ratings = False


def look_around(s: Shopper, product: Product) -> None:
    """Pictures, "see more", a carousel page, a glance at the cart, delivery details."""
    choices = s.choices
    if choices.chance(p_trait(0.08, 0.3, s.profile.novelty) * min(1.5, s.engagement)):
        # Loop state in named locals (not a hidden iterator): the live shop's reference shopper
        # tells apart walks by their frames' locals (customer_env.shop.signature).
        pictures = choices.integer(1, 2)
        for picture in range(pictures):
            s.click(names.thumbnail(choices.integer(1, 6)), s.view, product=product)
    if choices.chance(p_trait(0.05, 0.25, s.profile.perfectionist)):
        s.click(names.ABOUT_SEE_MORE, s.view, product=product)
    if choices.chance(0.05):
        s.click(names.DETAILS_SEE_MORE, s.view, product=product)
    if choices.chance(p_trait(0.03, 0.12, s.profile.novelty)):
        s.click(names.RELATED_NEXT if choices.chance(0.6) else names.FOUR_STARS_NEXT, s.view)
    if s.cart and choices.chance(0.06):
        page = s.view
        s.click(names.CART_BUTTON, s.cart_view())
        s.view = page  # a look at the cart, then back
    if choices.chance(p_trait(0.01, 0.06, s.profile.delivery)):
        s.click(names.DELIVERY_DETAILS, s.view, product=product)


def read_reviews(s: Shopper, product: Product) -> None:
    """Open the reviews (review readers, more often) and interact with them a while."""
    choices = s.choices
    if not s.via_ratings and not choices.chance(
        p_trait(0.12, 0.65, s.profile.reviews) * min(1.3, s.engagement)
    ):
        return
    page = s.view
    if not s.via_ratings:
        s.click(names.REVIEWS, page, product=product)
    # Engagement saturates here, as in every per-product choice, and reading tires: a long
    # visit examines more products, not ever longer review threads. (Uncapped, review clicks
    # grew with engagement squared and a dozen sessions set a store's click mix.)
    depth = min(1.5, s.engagement) / (1.0 + REVIEW_FATIGUE * (len(s.viewed) - 1))
    reads = choices.count((0.65 + 2.86 * s.profile.reviews) * depth, sigma=0.8, cap=REVIEW_CLICKS_PER_PRODUCT)
    done = 0
    while reads.exceeds(done):
        done += 1
        v = s.view
        if isinstance(v, views.ProductView):
            band = choices.band(_ON_PRODUCT_PAGE)
            if band == 0:
                stars = choices.pick((5, 4, 3, 2, 1) if s.profile.price < 0.5 else (1, 2, 3))
                nxt: views.View = views.ReviewsView(s.cart, product.asin, f"{stars}_star")
                s.click(names.histogram(stars), nxt, product=product)
            elif band == 1:
                s.click(names.SEE_MORE_REVIEWS, views.ReviewsView(s.cart, product.asin), product=product)
            elif band == 2:
                s.click(names.review_read_more(choices.integer(1, names.REVIEWS_SHOWN)), v, product=product)
            else:
                s.click(names.review_helpful(choices.integer(1, names.REVIEWS_SHOWN)), v, product=product)
        elif isinstance(v, views.ReviewsView):
            band = choices.band(_ON_REVIEWS_PAGE)
            if band == 0:
                critical = s.profile.perfectionist > 0.5
                key = choices.pick(("critical", "1_star", "2_star") if critical else names.REVIEW_FILTERS)
                s.click(names.review_filter(key), replace(v, star_filter=key, page_no=1), product=product)
            elif band == 1:
                s.click(names.REVIEW_NEXT, replace(v, page_no=v.page_no + 1), product=product)
            elif band == 2:
                key = choices.pick(names.REVIEW_SORTS)
                s.click(names.review_sort(key), replace(v, sort=key, page_no=1), product=product)
            else:
                helpful = names.review_list_helpful(choices.integer(1, names.REVIEWS_PER_PAGE))
                s.click(helpful, v, product=product)
        else:
            choices.band(())  # the draw every interaction makes, whatever the page
    if isinstance(s.view, views.ReviewsView):
        if choices.chance(0.3):
            s.click(names.REVIEW_PRODUCT_TITLE, page, product=product)
        s.view = page  # otherwise: browser back, no recorded action


def choose_options(s: Shopper, product: Product, buying: bool) -> None:
    """Set each option (perfectionists compare two values when buying); browsing may stop early."""
    choices = s.choices
    for dim, values in product.options:
        tries = 1 + choices.chance(p_trait(0.2, 0.6, s.profile.perfectionist)) if buying else 1
        for _ in range(tries):
            if dim == "size" and s.profile.price > 0.6:
                value = values[0] if choices.chance(0.8) else choices.pick(values)
            else:
                value = choices.pick(values)
            v = s.view
            assert isinstance(v, views.ProductView)
            selected = tuple((d, x) for d, x in v.selected if d != dim) + ((dim, value),)
            s.click(names.option(dim, value), replace(v, selected=selected), product=product)
        if not buying and choices.chance(0.5):
            break
