"""Browsing: the session loop, searching, refining results, choosing a product, deciding, leaving.

Functions of a :class:`~customer_env.synthetic.shopper.Shopper`; :func:`walk` is the whole visit.
The rules and their persona dependence are documented in :mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

from typing import Any

from customer_env.synthetic import buying, examining, names, views
from customer_env.synthetic.choices import p_trait
from customer_env.synthetic.shopper import Shopper


def walk(s: Shopper) -> None:
    """The whole visit, from its first page to the end; raises ``SessionEnded`` when it ends."""
    open_visit(s)
    plan_products(s)
    browse(s)


def open_visit(s: Shopper) -> None:
    """Go where the visit opens (:attr:`Shopper.opening`): the home page, a results page, a
    product page, or the cart."""
    choices = s.choices
    start = s.opening
    if start == "search":
        s.view = s.results_view = s.search(s.query())
        if choices.chance(0.45):
            search_round(s)
    elif start == "product":
        s.view = s.product_page(choices.pick(s.catalogue.by_type[s.intent]).asin)
    elif start == "cart" and s.cart:
        s.click(names.CART_BUTTON, s.cart_view())
        buying.cart_visit(s)


def plan_products(s: Shopper) -> None:
    """Draw how many products the visit examines beyond the first (:attr:`Shopper.extra_products`)."""
    profile = s.profile
    mean_extra = (
        0.03
        + 0.4 * profile.perfectionist
        + 0.3 * profile.confused
        + 0.25 * profile.recreational
        - 0.35 * profile.impulsive
    )
    if not s.will_buy:
        mean_extra *= 0.6
    s.extra_products = s.choices.count(mean_extra * s.engagement, sigma=1.5, cap=30)


def browse(s: Shopper) -> None:
    """The visit's loop from the page it is on: examine products, refine and choose results,
    search, until it buys or leaves (needs :attr:`Shopper.extra_products`)."""
    choices = s.choices
    assert s.extra_products is not None, "plan_products(s) comes before browse(s)"
    while True:
        if isinstance(s.view, views.ProductView):
            s.examined += 1
            final = not s.extra_products.exceeds(s.examined - 1)
            examining.examine(s, buying=final and s.will_buy)
            if final:
                decide(s)
            leave_product(s)
        elif isinstance(s.view, views.SearchView):
            if s.view.query not in s.refined:
                if not s.refined or choices.chance(0.3):
                    refine(s)
                s.refined.add(s.view.query)
                if choices.chance(p_trait(0.08, 0.25, max(s.profile.confused, s.profile.novelty))):
                    search_round(s)  # not what they meant: search again
                    continue
            if (
                s.examined == 0
                and not s.will_buy
                and choices.chance(p_trait(0.08, 0.3, s.profile.recreational))
            ):
                s.terminate()  # only looked at the results
            choose_and_open(s)
        elif isinstance(s.view, views.HomeView) and choices.chance(p_trait(0.03, 0.15, s.profile.novelty)):
            open_from_home(s)
        else:
            search_round(s)


def decide(s: Shopper) -> None:
    """The end of the comparison: buy (maybe the best product seen) or leave."""
    choices = s.choices
    if not s.will_buy:
        if choices.chance(0.1):
            buying.buy(s, abandon=True)
        s.terminate()
    best = max(s.viewed, key=lambda asin: s.score(s.catalogue.by_asin[asin], 0, []))
    if (
        best != s.view.asin  # type: ignore[union-attr]
        and choices.chance(p_trait(0.0, 0.35, s.profile.perfectionist))
        and s.results_view is not None
        and best in s.results_view.results
    ):
        s.view = s.results_view  # back (no recorded action), then reopen the best one
        product = s.catalogue.by_asin[best]
        s.click(
            names.product_link(names.SEARCH_RESULT, product.title),
            s.product_page(best),
            product=product,
            motive="product_link.rating",
        )
        examining.choose_options(s, product, buying=True)
    buying.buy(s)
    s.terminate()  # not reached: a purchase that is not abandoned ends the session


# ---- search --------------------------------------------------------------------------------


def search_round(s: Shopper, query: str | None = None) -> None:
    """Click the search box (usually), type a query, submit it (button or Enter)."""
    choices = s.choices
    query = query or s.query()
    if choices.chance(0.85):
        s.click(names.SEARCH_INPUT, s.view)
    results = s.search(query)
    if choices.chance(0.4):
        s.type_text(names.SEARCH_INPUT, query, s.view)
        s.click(names.SEARCH_BUTTON, results)
    else:
        s.type_text(names.SEARCH_INPUT, query, results)  # Enter submits
    s.results_view = results


def refine(s: Shopper) -> None:
    """Sort or filter a results page the persona's way, then maybe page on or follow a suggestion."""
    choices, v = s.choices, s.view
    assert isinstance(v, views.SearchView)
    filters = list(v.filters)

    def apply(target: names.Target, motive: str, **changes: Any) -> None:
        nonlocal v
        new = s.search(
            v.query,
            sort=changes.get("sort", v.sort),
            filters=tuple(changes.get("filters", filters)),
            page_no=1,
        )
        s.click(target, new, motive=motive)
        v = new
        s.results_view = new

    if choices.chance(p_trait(0.0, 0.65, s.profile.price**1.5)):
        if choices.chance(0.65):
            s.click(names.SORT_DROPDOWN, v)
            apply(names.sort_option("price_low_to_high"), "filter.price", sort="price_low_to_high")
        else:
            key = _cheap_range(s, v)
            filters.append(f"price:{key}")
            apply(names.price_filter(key), "filter.price", filters=filters)
    favourite = [b for b in s.profile.brands if b in v.brands]
    if favourite and choices.chance(p_trait(0.0, 0.9, s.profile.brand_loyal**1.5)):
        filters.append(f"brand:{names.slug(favourite[0])}")
        apply(names.brand_filter(favourite[0]), "filter.brand", filters=filters)
    if choices.chance(p_trait(0.0, 0.18, s.profile.reviews**1.5)):
        filters.append("stars4")
        apply(names.FOUR_STAR_FILTER, "filter.stars", filters=filters)
    if choices.chance(p_trait(0.0, 0.1, s.profile.delivery**1.5)):
        filters.append("prime")
        apply(names.PRIME_FILTER, "filter", filters=filters)
    if v.n_pages > 1 and choices.chance(p_trait(0.02, 0.35, s.profile.confused)):
        next_page(s)
    elif choices.chance(p_trait(0.02, 0.25, s.profile.novelty)):
        term = choices.pick(v.related_terms)
        s.click(names.suggested_term(term), s.search(term))
        s.results_view = s.view  # type: ignore[assignment]
        s.refined.add(term)


def _cheap_range(s: Shopper, v: views.SearchView) -> str:
    """The price filter that keeps the cheapest few products of the intent's type."""
    prices = sorted(
        s.catalogue.by_asin[a].price for a in v.results if s.catalogue.by_asin[a].type_name == s.intent
    )
    target = prices[min(2, len(prices) - 1)] if prices else 25.0
    return next(k for k, (_, low, high) in names.PRICE_RANGES.items() if low <= target < high)


def next_page(s: Shopper) -> None:
    """Go to the next results page (its number, or "next")."""
    v = s.view
    assert isinstance(v, views.SearchView)
    page = s.search(v.query, sort=v.sort, filters=v.filters, page_no=v.page_no + 1)
    target = names.pagination(v.page_no + 1) if s.choices.chance(0.7) else names.PAGINATION_NEXT
    s.click(target, page)
    s.results_view = page


def choose_and_open(s: Shopper) -> None:
    """Pick a product from the results (or their 4-star carousel) by score, and open it."""
    choices, v = s.choices, s.view
    assert isinstance(v, views.SearchView)
    section, pool = names.SEARCH_RESULT, list(dict.fromkeys(v.results[:12]))
    if choices.chance(p_trait(0.02, 0.12, s.profile.novelty)):
        section, pool = names.FOUR_STARS, list(v.four_star)
    products = [s.catalogue.by_asin[a] for a in pool]
    prices = [x.price for x in products]
    weights = [s.score(x, i, prices) ** 2 for i, x in enumerate(products)]
    product = choices.pick_weighted(products, weights)
    s.via_ratings = section == names.SEARCH_RESULT and choices.chance(p_trait(0.0, 0.3, s.profile.reviews**2))
    if s.via_ratings:
        target = names.result_ratings(product.title)
    else:
        part = "product_title" if choices.chance(0.72) or section != names.SEARCH_RESULT else "product_image"
        target = names.product_link(section, product.title, part)
    s.click(target, s.product_page(product.asin), product=product, motive=s.motive(product))


def open_from_home(s: Shopper) -> None:
    """From the home page: a category card (a results page) or a recommended product."""
    choices, v = s.choices, s.view
    assert isinstance(v, views.HomeView)
    if choices.chance(0.3):
        type_name = choices.pick(v.cards)
        s.click(names.home_card(type_name), s.search(type_name))
        s.results_view = s.view  # type: ignore[assignment]
        return
    product = s.catalogue.by_asin[choices.pick(v.recommended)]
    s.click(
        names.product_link(names.RECOMMENDED, product.title),
        s.product_page(product.asin),
        product=product,
    )


# ---- leaving a product page -------------------------------------------------------------


def leave_product(s: Shopper) -> None:
    """After a product: a carousel product, a new search, the home page, or back to the results."""
    choices, v = s.choices, s.view
    assert isinstance(v, views.ProductView)
    band = choices.band((p_trait(0.03, 0.15, s.profile.recreational), 0.5))
    if band == 0:
        section = names.RELATED if choices.chance(0.6) else names.FOUR_STARS
        pool = v.related if section == names.RELATED else v.four_star
        if choices.chance(0.25):
            s.click(names.RELATED_NEXT if section == names.RELATED else names.FOUR_STARS_NEXT, v)
        product = s.catalogue.by_asin[choices.pick(pool)]
        s.click(
            names.product_link(section, product.title),
            s.product_page(product.asin),
            product=product,
            motive=s.motive(product),
        )
    elif band == 1 and choices.chance(p_trait(0.1, 0.5, s.profile.confused)) or s.results_view is None:
        search_round(s)
    elif choices.chance(0.07):
        s.click(names.HOMEPAGE, s.home_view())
    else:
        s.view = s.results_view  # browser back: no recorded action
        if s.view.n_pages > s.view.page_no and choices.chance(p_trait(0.02, 0.2, s.profile.confused)):
            next_page(s)
