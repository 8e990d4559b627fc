"""Building blocks of OPeRA-style simplified HTML: named elements, the nav bar, product lists.

The parser behind the real data keeps a handful of attributes (``role``, ``aria-label``,
``type``, ``value``, ``title``, ``alt``) and gives every element that matters a dotted ``name``.
These helpers write exactly that shape. A :class:`Slot` marks where a page takes filler.

Example:
    >>> named("button", "buybox.purchase_form.add_to_cart", "Add to Cart", title="Add to Shopping Cart")
    '<button name="buybox.purchase_form.add_to_cart" title="Add to Shopping Cart">Add to Cart</button>'
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from customer_env.synthetic import names
from customer_env.synthetic.catalogue import Product

esc = html.escape
_DEPARTMENTS = (
    "All Departments",
    "Arts & Crafts",
    "Automotive",
    "Baby",
    "Beauty & Personal Care",
    "Books",
    "Computers",
    "Electronics",
    "Garden & Outdoor",
    "Health & Household",
    "Home & Kitchen",
    "Industrial & Scientific",
    "Kindle Store",
    "Luggage",
    "Movies & TV",
    "Music",
    "Office Products",
    "Pet Supplies",
    "Sports & Outdoors",
    "Tools & Home Improvement",
    "Toys & Games",
    "Video Games",
)


@dataclass(frozen=True)
class Slot:
    """A place for filler: which pool it draws from and its share of the page's filler budget."""

    pool: str
    share: float
    wrap: str = "div"


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())


def named(tag: str, name: str, text: str = "", **attrs: str) -> str:
    """An element with a semantic ``name`` (text is escaped; attributes keep their order)."""
    return f'<{tag} name="{esc(name)}"{_attrs(attrs)}>{esc(text)}</{tag}>'


def void(tag: str, name: str, **attrs: str) -> str:
    """A named element without content (``input``, ``img``)."""
    return f'<{tag} name="{esc(name)}"{_attrs(attrs)}/>'


_DEPARTMENT_OPTIONS = "".join(f'<option value="{esc(d.lower())}">{esc(d)}</option>' for d in _DEPARTMENTS)


@lru_cache(maxsize=4096)
def nav_bar(query: str, cart_count: int, deliver_to: str) -> str:
    options = _DEPARTMENT_OPTIONS
    return (
        '<div name="nav_bar" role="navigation" aria-label="Primary">'
        + named("div", names.HOMEPAGE.name, "Homepage")
        + '<form role="search">'
        + f'<select name="{names.SEARCH_DEPARTMENT}" title="Search in">{options}</select>'
        + void("input", names.SEARCH_INPUT.name, type="text", value=query, aria_label="Search Amazon")
        + void("input", names.SEARCH_BUTTON.name, type="submit", value="Go")
        + "</form>"
        + named("div", names.DELIVER_TO.name, f"Deliver to {deliver_to}")
        + named("div", "nav_bar.account", "Hello, sign in Account & Lists")
        + named("div", names.ORDERS.name, "Returns & Orders")
        + named("div", names.CART_BUTTON.name, f"{cart_count} Cart", aria_label=f"{cart_count} items in cart")
        + "</div>"
        + '<div name="" role="navigation" aria-label="Secondary">'
        + named("div", names.ALL_MENU.name, "All", aria_label="Open All Categories Menu")
        + named("div", names.TODAYS_DEALS.name, "Today's Deals")
        + "<a>Customer Service</a><a>Registry</a><a>Gift Cards</a><a>Sell</a></div>"
    )


def stars(product: Product) -> str:
    return f"{product.rating} out of 5 stars"


@lru_cache(maxsize=1 << 15)
def product_card(section: str, product: Product, *, image: bool = False, ratings: bool = False) -> str:
    """A product tile of a list or carousel: its named title link (and image / rating links)."""
    parts = ["<div>"]
    if image:
        parts.append(
            void("img", names.product_link(section, product.title, "product_image").name, alt=product.title)
        )
    parts.append(named("a", names.product_link(section, product.title).name, product.title))
    if ratings:
        parts.append(
            named(
                "a",
                names.result_ratings(product.title).name,
                f"{stars(product)} {product.review_count:,} ratings",
                aria_label=stars(product),
            )
        )
    else:
        parts.append(f"<span>{stars(product)}</span>")
    parts.append(f"<span>{product.price_text}</span></div>")
    return "".join(parts)


def carousel(section: str, title: str, products: Sequence[Product], next_target: names.Target | None) -> str:
    return _carousel(section, title, tuple(products), next_target)


@lru_cache(maxsize=1 << 14)
def _carousel(
    section: str, title: str, products: tuple[Product, ...], next_target: names.Target | None
) -> str:
    body = "".join(product_card(section, p) for p in products)
    nxt = named("button", next_target.name, "Next page", aria_label="Next") if next_target else ""
    return f'<div name="{esc(section)}" aria-label="{esc(title)}"><h2>{esc(title)}</h2>{body}{nxt}</div>'


def link_list(name: str, items: Iterable[tuple[str, str]]) -> str:
    """A list of named links: ``items`` are (semantic id, text)."""
    return f'<ul name="{esc(name)}">' + "".join(f"<li>{named('a', n, t)}</li>" for n, t in items) + "</ul>"


def footer() -> str:
    return (
        '<div name="" role="contentinfo"><a>Back to top</a><div>Get to Know Us</div>'
        "<div>Make Money with Us</div><div>Let Us Help You</div></div>"
    )
