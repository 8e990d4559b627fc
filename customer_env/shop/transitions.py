"""What every named element of the shop does: the next state after an action (:func:`apply_action`).

The next page follows from the action as in the store the generator models (every page below is
the one the generator's shoppers reach by the same action, so a recorded session replays through
the shop page for page, ``tests/customer_env/shop/test_shop_consistency.py``):

* **Nav bar** (every page): ``nav_bar.homepage`` opens a home page (a fresh draw, see
  :mod:`customer_env.shop.draws`), ``nav_bar.cart_button`` the cart page; typing into
  ``nav_bar.search_input`` fills the search box (submitted by ``nav_bar.search_button``, or by
  Enter when the next action lands on the results, see :mod:`customer_env.shop.state`); the
  button on a results page with nothing typed searches its query again. Clicking the box, the
  department list, the account, orders, delivery and menu items changes nothing.
* **Home**: a category card searches its product type; a recommended product opens it.
* **Results**: a sort option re-sorts, a filter toggles (price ranges replace each other;
  ``filters.clear_all`` clears), each back to page 1; pagination moves; a product's title, image
  or rating link and the 4-star carousel open the product; a related search searches its term.
* **Product**: an option button selects its value; a histogram bar opens the reviews filtered by
  its stars, "see more reviews" all reviews; the quantity selector sets one more (up to 10);
  "add to cart" puts the product (with its options and quantity) in the cart, then shows the
  store's confirmation (warranty pop-up, side bar or confirmation page: a draw); "no thanks"
  closes the pop-up onto the side bar; the side bar's "go to cart" opens the cart, "close" closes
  it; carousel products open. "Buy now" and every "proceed to checkout" place the order (the
  episode ends with a purchase). Pictures, "see more", delivery details, review links, the
  reviews link and carousel arrows change nothing (the page scrolls or expands).
* **Reviews**: star filters, sorts and pages change the list; the product title returns to the
  product page. **Confirmation page**: go to cart, or check out. **Cart page**: ticking an item,
  raising or lowering its quantity (not below 1) or deleting it updates the cart; "deselect all"
  unticks every item (ticks them all when none is ticked); checkout places the order of the
  ticked items (with none ticked it does nothing); product links open products.
* Anything else named on the page changes nothing; ``terminate`` ends the episode.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.shop.draws import SeededDraws
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> draws = SeededDraws(world, world.users[world.user_ids[0]].profile, episode_seed=0)
    >>> state = ShopState(page=draws.home(0, ()), intent="rice cooker")
    >>> typed = apply_action(world, draws, state, Action("input", "nav_bar.search_input", "rice cooker"))
    >>> typed.effect, typed.state.typed
    ('no_effect', 'rice cooker')
    >>> searched = apply_action(world, draws, typed.state, Action("click", "nav_bar.search_button"))
    >>> searched.effect, searched.state.page.kind, searched.state.page.query
    ('navigated', 'search', 'rice cooker')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from customer_env.records import Action
from customer_env.shop.draws import WorldDraws
from customer_env.shop.state import Location, ShopState, locate
from customer_env.shop.world import ShopWorld
from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Product
from customer_env.synthetic.session_records import purchase_record

#: What an action did (``info["effect"]``).
EFFECTS = ("navigated", "no_effect", "invalid", "ended")
#: Most items the quantity selector sets.
MAX_QUANTITY = 10
#: The parts of a product tile that open the product.
_LINK_PARTS = frozenset({"product_title", "product_image", "ratings"})


@dataclass(frozen=True)
class Transition:
    """The result of one action.

    Attributes:
        state: The state after it (the same state for an invalid action).
        effect: ``navigated`` (the page changed), ``no_effect`` (the page stayed as it was),
            ``invalid`` (the element is on no page the shopper can reach; nothing happened) or
            ``ended`` (a purchase or terminate ended the episode).
        location: Where the action landed (:func:`customer_env.shop.state.locate`).
        reason: Why an action was invalid, else None.
    """

    state: ShopState
    effect: str
    location: Location
    reason: str | None = None


def apply_action(world: ShopWorld, draws: WorldDraws, state: ShopState, action: Action) -> Transition:
    """The shop's reaction to ``action`` in ``state`` (module docstring).

    Raises:
        RuntimeError: The episode has already ended.
    """
    if state.ended is not None:
        raise RuntimeError(f"the episode ended with a {state.ended}; no action can follow")
    if action.type == "terminate":
        return Transition(replace(state, ended="terminate"), "ended", Location(state.page))
    if action.type not in ("click", "input"):
        return Transition(state, "invalid", Location(None), f"action type {action.type!r} is not click, input or terminate")
    location = locate(world, state, action)
    if location.page is None:
        return Transition(state, "invalid", location, f"{action.name!r} is on no page the shopper can reach")
    start = _arrive(world, state, location)
    name = (action.name or "").strip()
    if action.type == "input":
        after = _type(world, start, name, action.text or "")
    else:
        after = _click(world, draws, start, name)
    if after.ended is not None:
        return Transition(after, "ended", location)
    moved = location.back > 0 or location.submitted or after.page != state.page
    return Transition(after, "navigated" if moved else "no_effect", location)


def _arrive(world: ShopWorld, state: ShopState, location: Location) -> ShopState:
    """The state on the page the action lands on (after going back or submitting the search)."""
    if location.submitted:
        return _goto(state, location.page, world)
    if location.back:
        keep = state.back[: len(state.back) - location.back]
        return replace(state, page=location.page, back=keep, typed=None, quantity=1)
    return state


def _goto(state: ShopState, page: views.View | None, world: ShopWorld | None = None) -> ShopState:
    """A new page: the current one joins the back history; the search box empties."""
    assert page is not None
    same_product = (isinstance(page, views.ProductView) and isinstance(state.page, views.ProductView)
                    and page.asin == state.page.asin)
    return replace(state, page=page, back=state.back + (state.page,), typed=None,
                   quantity=state.quantity if same_product else 1)


def _type(world: ShopWorld, state: ShopState, name: str, text: str) -> ShopState:
    if name == names.SEARCH_INPUT.name:
        return replace(state, typed=text)
    return state  # the review search and elements that take no text: nothing changes


# ---- clicks --------------------------------------------------------------------------------


def _click(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    nav = _nav_bar(world, draws, state, name)
    if nav is not None:
        return nav
    handler = _HANDLERS[page.kind]
    return handler(world, draws, state, name)


def _nav_bar(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState | None:
    if name == names.HOMEPAGE.name:
        visit = state.home_visits + 1
        return replace(_goto(state, draws.home(visit, state.cart)), home_visits=visit)
    if name == names.CART_BUTTON.name:
        return _goto(state, _cart_page(world, state, state.cart))
    if name == names.SEARCH_BUTTON.name:
        query = state.typed if state.typed is not None else (
            state.page.query if isinstance(state.page, views.SearchView) else None)
        return state if query is None else _goto(state, world.search(query, state.cart))
    if name.startswith("nav_bar") or name == names.SEARCH_DEPARTMENT:
        return state
    return None


def _cart_page(world: ShopWorld, state: ShopState, cart: views.Cart) -> views.CartView:
    """The cart page: the cart and the first products of the visit's product type (as the
    generator's cart page recommends)."""
    recommended = tuple(p.asin for p in world.catalogue.by_type[state.intent][:4]) if state.intent else ()
    return views.CartView(tuple(cart), recommended)


def _product_link(world: ShopWorld, state: ShopState, name: str, pool: tuple[str, ...],
                  sections: tuple[str, ...]) -> ShopState | None:
    """Open the product of ``pool`` that the product link ``name`` names (title, image or ratings)."""
    head, _, part = name.rpartition(".")
    if part not in _LINK_PARTS:
        return None
    for section in sections:
        prefix = section + "."
        if not head.startswith(prefix):
            continue
        slug = head[len(prefix):]
        for asin in pool:
            if names.slug(world.catalogue.by_asin[asin].title) == slug:
                return _goto(state, world.product(asin, state.cart))
    return None


def _home(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    assert isinstance(page, views.HomeView)
    for type_name in page.cards:
        if name == names.home_card(type_name).name:
            return _goto(state, world.search(type_name, state.cart))
    return _product_link(world, state, name, page.recommended, (names.RECOMMENDED,)) or state


def _search(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    assert isinstance(page, views.SearchView)

    def research(**changes: Any) -> ShopState:
        return _goto(state, world.search(page.query, state.cart, sort=changes.get("sort", page.sort),
                                          filters=changes.get("filters", page.filters),
                                          page_no=changes.get("page_no", 1)))

    def toggle(key: str, replaces: Callable[[str], bool] = lambda other: False) -> ShopState:
        if key in page.filters:
            return research(filters=tuple(f for f in page.filters if f != key))
        return research(filters=tuple(f for f in page.filters if not replaces(f)) + (key,))

    for key in names.SORT_OPTIONS:
        if name == names.sort_option(key).name:
            return research(sort=key)
    for brand in page.brands:
        if name == names.brand_filter(brand).name:
            return toggle(f"brand:{names.slug(brand)}")
    for key in names.PRICE_RANGES:
        if name == names.price_filter(key).name:
            return toggle(f"price:{key}", lambda other: other.startswith("price:"))
    simple = {names.FOUR_STAR_FILTER.name: "stars4", names.PRIME_FILTER.name: "prime",
              names.DEALS_FILTER.name: "deals"}
    if name in simple:
        return toggle(simple[name])
    if name == names.CLEAR_FILTERS.name:
        return research(filters=())
    if name.startswith("pagination."):
        target = {names.PAGINATION_NEXT.name: page.page_no + 1,
                  names.PAGINATION_PREVIOUS.name: page.page_no - 1}.get(name)
        if target is None and name.split(".", 1)[1].isdigit():
            target = int(name.split(".", 1)[1])
        if target is not None and 1 <= target <= page.n_pages and target != page.page_no:
            return research(sort=page.sort, filters=page.filters, page_no=target)
        return state
    for term in page.related_terms:
        if name == names.suggested_term(term).name:
            return _goto(state, world.search(term, state.cart))
    opened = _product_link(world, state, name, page.results, (names.SEARCH_RESULT,))
    if opened is None:
        opened = _product_link(world, state, name, page.four_star, (names.FOUR_STARS,))
    return opened or state


def _product(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    assert isinstance(page, views.ProductView)
    product = world.catalogue.by_asin[page.asin]
    for dim, values in product.options:
        for value in values:
            if name == names.option(dim, value).name:
                selected = tuple((d, x) for d, x in page.selected if d != dim) + ((dim, value),)
                return replace(state, page=replace(page, selected=selected))
    for stars in (5, 4, 3, 2, 1):
        if name == names.histogram(stars).name:
            return _goto(state, views.ReviewsView(state.cart, page.asin, f"{stars}_star"))
    if name == names.SEE_MORE_REVIEWS.name:
        return _goto(state, views.ReviewsView(state.cart, page.asin))
    if name == names.QUANTITY_SELECTOR.name:
        return replace(state, quantity=min(MAX_QUANTITY, state.quantity + 1))
    if name == names.ADD_TO_CART.name:
        return _add_to_cart(world, draws, state, page, product)
    if name == names.BUY_NOW.name:
        line = views.CartLine(product.asin, state.quantity, page.selected)
        return replace(state, ended="purchase", order=(purchase_record(world.catalogue, line),))
    if name == names.NO_THANKS.name and page.popup:
        return replace(state, page=replace(page, popup=False, side_bar=True))
    if page.side_bar:
        if name == names.SIDE_BAR_CHECK_OUT.name:
            return _check_out(world, state)
        if name == names.SIDE_BAR_GO_TO_CART.name:
            return _goto(state, _cart_page(world, state, state.cart))
        if name == names.SIDE_BAR_CLOSE.name:
            return replace(state, page=replace(page, side_bar=False))
    return _product_link(world, state, name, page.related + page.four_star,
                         (names.RELATED, names.FOUR_STARS)) or state


def _add_to_cart(world: ShopWorld, draws: WorldDraws, state: ShopState, page: views.ProductView,
                 product: Product) -> ShopState:
    cart = state.cart + (views.CartLine(product.asin, state.quantity, page.selected),)
    confirmation = draws.confirmation(state.adds, product)
    after = replace(page, cart=cart, side_bar=False)
    moved = replace(state, cart=cart, adds=state.adds + 1)
    if confirmation == "popup":
        return replace(moved, page=replace(after, popup=True))
    if confirmation == "side_bar":
        return replace(moved, page=replace(after, side_bar=True))
    return _goto(moved, views.AddedView(cart, product.asin))


def _check_out(world: ShopWorld, state: ShopState) -> ShopState:
    order = tuple(purchase_record(world.catalogue, line) for line in state.cart if line.selected)
    return replace(state, ended="purchase", order=order) if order else state


def _reviews(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    assert isinstance(page, views.ReviewsView)
    for key in names.REVIEW_FILTERS:
        if name == names.review_filter(key).name:
            return _goto(state, replace(page, star_filter=key, page_no=1))
    for key in names.REVIEW_SORTS:
        if name == names.review_sort(key).name:
            return _goto(state, replace(page, sort=key, page_no=1))
    if name == names.REVIEW_NEXT.name:
        return _goto(state, replace(page, page_no=page.page_no + 1))
    if name == names.REVIEW_PREVIOUS.name and page.page_no > 1:
        return _goto(state, replace(page, page_no=page.page_no - 1))
    if name == names.REVIEW_PRODUCT_TITLE.name:
        # The product page as the shopper left it (options kept), else a fresh one.
        earlier = next((p for p in reversed(state.back)
                        if isinstance(p, views.ProductView) and p.asin == page.asin), None)
        product_page = (replace(earlier, cart=state.cart, popup=False, side_bar=False) if earlier is not None
                        else world.product(page.asin, state.cart))
        return _goto(state, product_page)
    return state


def _added(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    if name == names.GO_TO_CART.name:
        return _goto(state, _cart_page(world, state, state.cart))
    if name == names.CHECK_OUT.name:
        return _check_out(world, state)
    return state


def _cart(world: ShopWorld, draws: WorldDraws, state: ShopState, name: str) -> ShopState:
    page = state.page
    assert isinstance(page, views.CartView)
    if name == names.CHECK_OUT.name:
        return _check_out(world, state)
    if name == names.SELECT_ALL.name:
        tick = not any(line.selected for line in state.cart)
        return _update_cart(world, state, tuple(replace(line, selected=tick) for line in state.cart))
    for index, line in enumerate(state.cart):  # the first line that the name names
        title = world.catalogue.by_asin[line.asin].title
        if name == names.cart_checkbox(title).name:
            return _update_cart(world, state, _with_line(state.cart, index, replace(line, selected=not line.selected)))
        if name == names.cart_quantity(title, "increase").name:
            raised = replace(line, quantity=min(MAX_QUANTITY, line.quantity + 1))
            return _update_cart(world, state, _with_line(state.cart, index, raised))
        if name == names.cart_quantity(title, "decrease").name:
            if line.quantity <= 1:
                return state
            return _update_cart(world, state, _with_line(state.cart, index, replace(line, quantity=line.quantity - 1)))
        if name == names.cart_quantity(title, "delete").name:
            return _update_cart(world, state, _with_line(state.cart, index, None))
    pool = tuple(line.asin for line in state.cart) + page.recommended
    return _product_link(world, state, name, pool, ("cart", names.CART_RECOMMENDED)) or state


def _with_line(cart: views.Cart, index: int, line: views.CartLine | None) -> views.Cart:
    lines = list(cart)
    if line is None:
        del lines[index]
    else:
        lines[index] = line
    return tuple(lines)


def _update_cart(world: ShopWorld, state: ShopState, cart: views.Cart) -> ShopState:
    return _goto(replace(state, cart=cart), _cart_page(world, state, cart))


_HANDLERS: dict[str, Callable[[ShopWorld, WorldDraws, ShopState, str], ShopState]] = {
    "home": _home,
    "search": _search,
    "product": _product,
    "reviews": _reviews,
    "added": _added,
    "cart": _cart,
}
