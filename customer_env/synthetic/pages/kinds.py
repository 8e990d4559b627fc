"""The core of each page kind: every named element its view implies, and where filler goes.

Each renderer returns the page body as a list of HTML strings and :class:`Slot` markers;
:func:`~customer_env.synthetic.pages.render.render_page` adds the nav bar and footer and fills
the slots. Nothing here depends on the page scale.
"""

from __future__ import annotations

from typing import Callable

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Catalogue, Product
from customer_env.synthetic.pages.parts import (
    Slot,
    carousel,
    esc,
    link_list,
    named,
    product_card,
    stars,
    void,
)


def _home(v: views.HomeView, catalogue: Catalogue) -> list[str | Slot]:
    recommended = [catalogue.by_asin[a] for a in v.recommended]
    cards = link_list("home_cards", ((names.home_card(t).name, f"Shop {t}") for t in v.cards))
    return [
        '<div name="hero_carousel" aria-label="Featured">',
        Slot("sentences", 0.04),
        named("button", names.HERO_NEXT.name, "Next slide", aria_label="Next slide"),
        "</div>",
        cards,
        carousel(names.RECOMMENDED, "Recommended for you", recommended, names.RECOMMENDED_NEXT),
        Slot("cards", 0.55),
        Slot("paragraphs", 0.36),
    ]


def _filters(v: views.SearchView) -> str:
    active = set(v.filters)

    def state(key: str) -> dict[str, str]:
        return {"aria_checked": "true" if key in active else "false"}

    brands = "".join(
        named("li", names.brand_filter(b).name, b, **state(f"brand:{names.slug(b)}")) for b in v.brands
    )
    prices = "".join(
        named("li", names.price_filter(k).name, label, **state(f"price:{k}"))
        for k, (label, _, _) in names.PRICE_RANGES.items()
    )
    clear = named("a", names.CLEAR_FILTERS.name, "Clear") if active else ""
    return (
        '<div name="filters" role="complementary" aria-label="Filters">'
        + clear
        + named("div", names.PRIME_FILTER.name, "Get It by Tomorrow", **state("prime"))
        + named("div", names.FOUR_STAR_FILTER.name, "4 Stars & Up", **state("stars4"))
        + f'<ul name="filters.brand" aria-label="Brands">{brands}</ul>'
        + f'<ul name="filters.price" aria-label="Price">{prices}</ul>'
        + named("div", names.DEALS_FILTER.name, "Today's Deals", **state("deals"))
        + "</div>"
    )


def _search(v: views.SearchView, catalogue: Catalogue) -> list[str | Slot]:
    sort = "".join(
        named(
            "option",
            names.sort_option(k).name,
            label,
            value=k,
            **({"title": "selected"} if k == v.sort else {}),
        )
        for k, label in names.SORT_OPTIONS.items()
    )
    results = "".join(
        product_card(names.SEARCH_RESULT, catalogue.by_asin[a], image=True, ratings=True) for a in v.results
    )
    pages = [(names.pagination(n).name, str(n)) for n in range(1, v.n_pages + 1)]
    if v.page_no > 1:
        pages.insert(0, (names.PAGINATION_PREVIOUS.name, "Previous"))
    if v.page_no < v.n_pages:
        pages.append((names.PAGINATION_NEXT.name, "Next"))
    terms = ((names.suggested_term(t).name, t) for t in v.related_terms)
    first = (v.page_no - 1) * views.RESULTS_PER_PAGE + 1
    return [
        f"<div><span>{first}-{first + len(v.results) - 1} of over 1,000 results for</span>"
        f'<span>"{esc(v.query)}"</span></div>',
        f'<div name="sort_by"><select name="{names.SORT_DROPDOWN.name}" aria-label="Sort by:">'
        f"{sort}</select></div>",
        _filters(v),
        Slot("links", 0.05, "ul"),
        f'<div name="search_result" role="main">{results}</div>',
        Slot("cards", 0.45),
        carousel(
            names.FOUR_STARS,
            "4 stars and above",
            [catalogue.by_asin[a] for a in v.four_star],
            names.FOUR_STARS_NEXT,
        ),
        link_list("related_searches", terms),
        Slot("paragraphs", 0.35),
        link_list("pagination", pages),
        Slot("cards", 0.1),
    ]


def _option_button(dim: str, value: str, pressed: bool) -> str:
    target = names.option(dim, value).name
    pressed_text = "true" if pressed else "false"
    button = named("button", target, value, title=f"Click to select {value}", aria_pressed=pressed_text)
    return f"<li>{button}</li>"


def _options(v: views.ProductView, product: Product) -> str:
    chosen = dict(v.selected)
    out = []
    for dim, values in product.options:
        buttons = "".join(_option_button(dim, x, chosen.get(dim) == x) for x in values)
        out.append(
            f'<div name="product_options.{dim}"><span>{dim.title()}: {esc(chosen.get(dim, ""))}</span>'
            f'<ul name="product_options.{dim}.button_list">{buttons}</ul></div>'
        )
    return "".join(out)


def _product(v: views.ProductView, catalogue: Catalogue) -> list[str | Slot]:
    product = catalogue.by_asin[v.asin]
    chosen = max([product.price] + [product.option_price(d, x) for d, x in v.selected])  # the chosen size
    price = f"${chosen:,.2f}"
    thumbs = "".join(
        void("img", names.thumbnail(i).name, alt=f"{product.title} image {i}") for i in range(1, 7)
    )
    histogram = "".join(
        named("a", names.histogram(s).name, f"{s} star", aria_label=f"{s} stars represent part of rating")
        for s in (5, 4, 3, 2, 1)
    )
    reviews = "".join(
        f"<div><span>Review {i}</span>"
        f"{named('a', names.review_read_more(i).name, 'Read more')}"
        f"{named('button', names.review_helpful(i).name, 'Helpful')}</div>"
        for i in range(1, names.REVIEWS_SHOWN + 1)
    )
    parts: list[str | Slot] = []
    if v.popup:
        parts.append(
            '<div name="attach_warranty" role="dialog" aria-label="Add to your order">'
            "<span>Add a Protection Plan</span>"
            f"{named('button', names.NO_THANKS.name, 'No Thanks')}</div>"
        )
    if v.side_bar:
        items = "".join(f"<li>{esc(catalogue.by_asin[line.asin].title)}</li>" for line in v.cart)
        parts.append(
            f'<div name="cart_side_bar" role="dialog"><span>Added to cart</span><ul>{items}</ul>'
            f"{named('button', names.SIDE_BAR_CHECK_OUT.name, 'Proceed to checkout')}"
            f"{named('a', names.SIDE_BAR_GO_TO_CART.name, 'Go to Cart')}"
            f"{named('button', names.SIDE_BAR_CLOSE.name, 'Close', aria_label='Close')}</div>"
        )
    parts += [
        f"<div><span>{esc(product.category)}</span></div>",
        f'<div name="product_images">{thumbs}</div>',
        named("span", "title", product.title),
        named("a", names.BRAND_STORE.name, f"Visit the {product.brand} Store"),
        named("a", names.REVIEWS.name, f"{stars(product)} {product.review_count:,} ratings"),
        f'<div name="price"><span>{price}</span></div>',
        _options(v, product),
        '<div name="about_this_item"><h1>About this item</h1>',
        Slot("paragraphs", 0.12),
        named("a", names.ABOUT_SEE_MORE.name, "See more product details"),
        "</div>",
        f'<div name="buybox"><span>{price}</span>',
        named("a", names.DELIVERY_DETAILS.name, "FREE delivery Details"),
        "<span>In Stock</span>",
        '<form name="buybox.purchase_form">',
        f'<select name="{names.QUANTITY_SELECTOR.name}" aria-label="Quantity">'
        + "".join(f'<option value="{q}">{q}</option>' for q in range(1, 11))
        + "</select>",
        void(
            "input", names.ADD_TO_CART.name, type="submit", value="Add to Cart", title="Add to Shopping Cart"
        ),
        void("input", names.BUY_NOW.name, type="submit", value="Buy Now"),
        "</form></div>",
        carousel(
            names.RELATED,
            "Products related to this item",
            [catalogue.by_asin[a] for a in v.related],
            names.RELATED_NEXT,
        ),
        Slot("cards", 0.12),
        carousel(
            names.FOUR_STARS,
            "4 stars and above",
            [catalogue.by_asin[a] for a in v.four_star],
            names.FOUR_STARS_NEXT,
        ),
        '<div name="product_details"><table>',
        Slot("details", 0.08, "tbody"),
        "</table>",
        named("a", names.DETAILS_SEE_MORE.name, "See more"),
        "</div>",
        Slot("paragraphs", 0.25),
        f'<div name="customer_reviews"><span>{stars(product)}</span>{histogram}</div>',
        f'<div name="review_section">{reviews}',
        Slot("reviews", 0.35),
        named("a", names.SEE_MORE_REVIEWS.name, "See more reviews"),
        "</div>",
    ]
    return parts


def _reviews(v: views.ReviewsView, catalogue: Catalogue) -> list[str | Slot]:
    product = catalogue.by_asin[v.asin]
    filters = link_list(
        "review_filter", ((names.review_filter(k).name, k.replace("_", " ")) for k in names.REVIEW_FILTERS)
    )
    sorts = link_list(
        "review_sort", ((names.review_sort(k).name, k.replace("_", " ")) for k in names.REVIEW_SORTS)
    )
    items = "".join(
        f"<div><span>Review {i}</span>{named('button', names.review_list_helpful(i).name, 'Helpful')}</div>"
        for i in range(1, names.REVIEWS_PER_PAGE + 1)
    )
    pages = [(names.REVIEW_NEXT.name, "Next page")]
    if v.page_no > 1:
        pages.insert(0, (names.REVIEW_PREVIOUS.name, "Previous page"))
    return [
        f'<div name="product_header">{named("a", names.REVIEW_PRODUCT_TITLE.name, product.title)}'
        f"<span>{stars(product)}</span></div>",
        filters,
        sorts,
        '<form name="review_search">'
        + void(
            "input",
            names.REVIEW_SEARCH_INPUT.name,
            type="text",
            value="",
            aria_label="Search customer reviews",
        )
        + void("input", names.REVIEW_SEARCH_BUTTON.name, type="submit", value="Search")
        + "</form>",
        f"<div><span>Showing {v.star_filter.replace('_', ' ')} reviews, page {v.page_no}, "
        f"{v.sort.replace('_', ' ')}</span></div>",
        f'<div name="review_list">{items}',
        Slot("reviews", 0.85),
        "</div>",
        link_list("review_pagination", pages),
        Slot("cards", 0.1),
    ]


def _added(v: views.AddedView, catalogue: Catalogue) -> list[str | Slot]:
    product = catalogue.by_asin[v.asin]
    return [
        f'<div name="added_to_cart"><span>Added to Cart</span><span>{esc(product.title)}</span>',
        named("a", names.GO_TO_CART.name, "Go to Cart"),
        named("button", names.CHECK_OUT.name, "Proceed to checkout"),
        "</div>",
        Slot("cards", 0.6),
        Slot("paragraphs", 0.35),
    ]


def _cart(v: views.CartView, catalogue: Catalogue) -> list[str | Slot]:
    rows = []
    for line in v.cart:
        product = catalogue.by_asin[line.asin]
        options = "".join(f"<span>{esc(d.title())}: {esc(x)}</span>" for d, x in line.options)
        rows.append(
            "<div>"
            + void(
                "input",
                names.cart_checkbox(product.title).name,
                type="checkbox",
                value="checked" if line.selected else "",
                aria_label=f"Select {product.title}",
            )
            + named("a", names.product_link("cart", product.title).name, product.title)
            + options
            + f"<span>{product.price_text}</span>"
            + named(
                "button",
                names.cart_quantity(product.title, "decrease").name,
                "-",
                aria_label="Decrease quantity",
            )
            + f"<span>{line.quantity}</span>"
            + named(
                "button",
                names.cart_quantity(product.title, "increase").name,
                "+",
                aria_label="Increase quantity",
            )
            + named("button", names.cart_quantity(product.title, "delete").name, "Delete")
            + named("button", names.cart_save_for_later(product.title).name, "Save for later")
            + "</div>"
        )
    subtotal = sum(catalogue.by_asin[line.asin].price * line.quantity for line in v.cart if line.selected)
    recs = [catalogue.by_asin[a] for a in v.recommended]
    return [
        '<div name="cart"><h1>Shopping Cart</h1>',
        named("a", names.SELECT_ALL.name, "Deselect all items"),
        *rows,
        f"<span>Subtotal: ${subtotal:,.2f}</span>",
        "</div>",
        void("input", names.CHECK_OUT.name, type="submit", value="Proceed to checkout"),
        carousel(names.CART_RECOMMENDED, "Customers also bought", recs, None),
        Slot("cards", 0.5),
        Slot("paragraphs", 0.45),
    ]


RENDERERS: dict[str, Callable[..., list[str | Slot]]] = {
    "home": _home,
    "search": _search,
    "product": _product,
    "reviews": _reviews,
    "added": _added,
    "cart": _cart,
}
