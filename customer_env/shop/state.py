"""The state of one live-shop episode: the browser (page, back history, search box) and the store
(cart, what was ordered), and where an action lands (:func:`locate`).

The filtered OPeRA data records clicks, inputs and terminates only: a shopper going back in the
browser, or submitting a typed search with Enter, leaves no row, and their next action is simply
recorded on the page they reached. The shop keeps what makes that possible and resolves an
action on the page it names (:func:`locate`), in this order:

1. with a query typed into the search box and not yet submitted, the results of that query, if
   the element is on them and is not in the nav bar (the shopper pressed Enter: the store's
   shoppers always submit what they type before acting on anything but the nav bar);
2. the current page, if the element is on it;
3. the latest page of the back history that has the element (the browser's back button, as
   many pages back as needed);

and an element on none of them is not on the page (``invalid``, as in OPeRA-v0). So an action on an
element that the current page has too (every nav-bar element is on every page; the 4-star carousel
is on results and product pages) and an action that names none (terminate) land on the current
page: after an unrecorded back, such an action is applied where the shopper stands, not where a
recording may show them (:mod:`customer_env.shop.replay` counts these steps).

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> from customer_env.records import Action
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> results = world.search("rice cooker", ())
    >>> product = world.product(results.results[0], ())
    >>> state = ShopState(page=product, back=(results,), cart=(), intent="rice cooker")
    >>> slug_name = next(n for n in world.names(results) if n.startswith("pagination."))
    >>> where = locate(world, state, Action("click", slug_name))
    >>> where.page is results, where.back
    (True, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customer_env.records import Action
from customer_env.shop.world import ShopWorld
from customer_env.synthetic import names, views

#: How an action ended the episode (:attr:`ShopState.ended`).
ENDINGS = ("purchase", "terminate")
#: The nav bar's elements (on every page).
NAV_BAR = frozenset({names.HOMEPAGE.name, names.SEARCH_INPUT.name, names.SEARCH_BUTTON.name, names.CART_BUTTON.name,
                     names.ALL_MENU.name, names.TODAYS_DEALS.name, names.ORDERS.name, names.DELIVER_TO.name,
                     names.SEARCH_DEPARTMENT, "nav_bar", "nav_bar.account"})


@dataclass(frozen=True)
class ShopState:
    """Everything the shop knows in an episode (frozen: each step makes a new one).

    Attributes:
        page: The page shown.
        back: The back history, oldest first (the current page not included).
        typed: Text typed into the search box and not yet submitted (None: nothing pending).
        cart: The cart.
        intent: The product type the visit shops for (the cart page recommends its products).
        quantity: What the product page's quantity selector is set to.
        home_visits: Home pages shown since the first (the next is the ``home_visits + 1``-th draw).
        adds: Adds to cart so far.
        ended: ``purchase`` or ``terminate`` once the episode has ended, else None.
        order: The products of the order placed (a purchase), else None.
    """

    page: views.View
    back: tuple[views.View, ...] = ()
    typed: str | None = None
    cart: views.Cart = ()
    intent: str = ""
    quantity: int = 1
    home_visits: int = 0
    adds: int = 0
    ended: str | None = None
    order: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class Location:
    """Where an action lands.

    Attributes:
        page: The page it is applied on (None: on no reachable page).
        back: Pages gone back first (0: none).
        submitted: Whether the typed search was submitted first (Enter).
    """

    page: views.View | None
    back: int = 0
    submitted: bool = False


def locate(world: ShopWorld, state: ShopState, action: Action) -> Location:
    """Where ``action`` lands (module docstring); a terminate lands on the current page."""
    if action.type not in ("click", "input") or not action.name:
        return Location(state.page)
    name = action.name.strip()
    if state.typed is not None and name not in NAV_BAR:
        submitted = world.search(state.typed, state.cart)
        if name in world.names(submitted):
            return Location(submitted, submitted=True)
    if name in world.names(state.page):
        return Location(state.page)
    for depth, page in enumerate(reversed(state.back), start=1):
        if name in world.names(page):
            return Location(page, back=depth)
    return Location(None)


def nav_bar_names() -> frozenset[str]:
    """The nav bar's elements (on every page)."""
    return NAV_BAR
