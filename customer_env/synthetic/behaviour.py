"""The persona-conditioned shopper model that produces every synthetic session.

A session is a walk over the store's pages (:mod:`views`). At each step the shopper looks at the
current view and picks an action from a small repertoire; which one, and how often, depends on
the persona's survey answers (read back as a :class:`~personas.ShopperProfile`, all in [0, 1]),
on the session so far, and on what the page offers. The rules, in the order a session meets them:

* **Intent.** The session shops for one product type, from the persona's favourite categories
  85% of the time. It starts on the home page (most often), on a results page left from earlier,
  on a product page opened from a link, or by checking the cart (if it holds items). These are
  decided when the visit opens, with whether it buys and its engagement (below).
* **Search.** Click ``nav_bar.search_input`` (usually), ``input`` the query, then click
  ``nav_bar.search_button`` or press Enter (no action). Queries name the product type;
  brand-loyal shoppers prefix a favourite brand, price-conscious ones add "cheap"/"under $N".
* **Refine** (first visit of a results page). Price-conscious shoppers sort by price
  (``sort_by.dropdown`` then ``sort_by.price_low_to_high``) or take a price filter; brand-loyal
  ones click ``filters.brand.<favourite>``; review readers the 4-star filter; delivery-minded ones
  Prime; shoppers confused by over-choice page on (``pagination.2``); novelty seekers click a
  related search. Each with probability rising with the trait.
* **Choose** a product on the results page: position bias, times a preference for low price
  (price consciousness), favourite brands (brand loyalty), high rating and many reviews (review
  reading, perfectionism); the top result is favoured by impulsive shoppers; products already
  seen are avoided. Review readers sometimes open a product through its star rating.
* **Examine** the product: pictures and "see more" (novelty, perfectionism: click type
  ``other``), options (``product_option``: always set before buying, compared by perfectionists),
  reviews (``reviews``, histogram, read-more, helpful, the all-reviews page with its filters and
  pages), with probability and length rising with review reading; at most 10 review clicks per
  product, and fewer on each further product examined (the first candidates are read closely).
* **Engagement.** Each visit draws an engagement (log-normal, whoever shops). It multiplies the
  number of products examined (at most 31), but each per-product choice (pictures, reviews and
  their length, options) only up to 1.5 times the usual (1.3 for opening the reviews): a long
  visit is many ordinary looks, so the few very long sessions do not set the store's click mix.
* **Compare.** The number of products examined grows with perfectionism, over-choice and
  recreational shopping and falls with impulsiveness (log-normal, times the engagement, so a
  few sessions are very long). Between products the shopper goes back to the results (no
  action), sometimes follows a carousel, pages on or searches again.
* **Decide.** Whether the session buys is drawn up front (impulsive and mission-minded shoppers
  buy more, recreational browsers less; about 60% overall). A buyer buys the last product
  examined, or (perfectionists) returns to the best one seen. Buying is ``buy_now`` (impulsive
  shoppers) or ``add_to_cart`` -> (warranty pop-up: ``attach_warranty.no_thanks``) -> cart side
  bar or confirmation page -> ``check_out`` directly or via the cart page, where older cart items
  may be unticked or deleted and quantities raised. The purchase click ends the session.
  A non-buyer ends with ``terminate``, sometimes after abandoning a filled cart.
* **Rationales.** About 3.5% of steps carry a first-person rationale naming the motive
  (price, brand, rating, ...), more often at decisions (product choice, purchase, terminate).

Example:
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> from customer_env.synthetic.personas import generate_users
    >>> user = generate_users(0, 1)[0]
    >>> s = simulate_session(user.profile, build_catalogue(0), seed=0, index=0)
    >>> s.steps[-1].action.type == "terminate" or s.steps[-1].action.click_type == "purchase"
    True
"""

from __future__ import annotations

import contextlib
import random

from customer_env.synthetic import browsing, views
from customer_env.synthetic.catalogue import Catalogue
from customer_env.synthetic.choices import Choices
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.seeds import derive_rng
from customer_env.synthetic.session_records import SessionEnded, SimAction, SimSession, SimStep
from customer_env.synthetic.shopper import Shopper

__all__ = ["SimAction", "SimSession", "SimStep", "initial_cart", "simulate_session"]


def simulate_session(
    profile: ShopperProfile,
    catalogue: Catalogue,
    *,
    seed: int,
    index: int,
    start_cart: views.Cart | None = None,
) -> SimSession:
    """Simulate session ``index`` of the store for one shopper (see the module docstring).

    ``start_cart`` is what the cart holds when the session opens; None draws it (empty 55% of
    the time, else one to three items from the shopper's categories, left from earlier visits).
    Depends only on ``(profile, catalogue, seed, index, start_cart)``: never on page size.
    """
    if start_cart is None:
        start_cart = initial_cart(profile, catalogue, derive_rng(seed, "cart", index))
    shopper = Shopper(profile, catalogue, Choices(derive_rng(seed, "behaviour", index)), start_cart)
    with contextlib.suppress(SessionEnded):  # the walk raises it when the session ends
        browsing.walk(shopper)
    return SimSession(profile.user_id, shopper.intent, tuple(shopper.steps))


def initial_cart(profile: ShopperProfile, catalogue: Catalogue, rng: random.Random) -> views.Cart:
    """Items left in the cart from earlier visits (none 55% of the time)."""
    if rng.random() < 0.55:
        return ()
    pool = [product for category in profile.categories for product in catalogue.by_category[category]]
    picks = rng.sample(pool, rng.randint(1, 3))
    return tuple(
        views.CartLine(
            product.asin, rng.choice((1, 1, 1, 2)), tuple((dim, values[0]) for dim, values in product.options)
        )
        for product in picks
    )
