"""What the shopper sees: the decision-relevant state of each page kind, and the store's search.

A view holds everything an action can depend on (which products are listed, in which order,
which filters and options are set, what is in the cart). The page renderer turns a view into
HTML and adds only filler; the behaviour model reads views and never HTML. Views are frozen and
their ``repr`` is stable, so it keys the filler of a page.

Example:
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> catalogue = build_catalogue(0)
    >>> view = search_view(catalogue, "rice cooker", cart=())
    >>> catalogue.by_asin[view.results[0]].type_name
    'rice cooker'
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Union

from customer_env.synthetic import names
from customer_env.synthetic.catalogue import BRANDS, Catalogue, Product

RESULTS_PER_PAGE = 16
_MODIFIERS = (
    "small {t}",
    "best {t}",
    "{t} sale",
    "{b0} {t}",
    "{b1} {t}",
    "{t} bundle",
    "portable {t}",
    "{t} for gift",
    "large {t}",
    "{t} deals",
)


@dataclass(frozen=True)
class CartLine:
    """One cart item: product, quantity, chosen options, whether it is ticked for checkout."""

    asin: str
    quantity: int = 1
    options: tuple[tuple[str, str], ...] = ()
    selected: bool = True


Cart = tuple[CartLine, ...]


@dataclass(frozen=True)
class HomeView:
    cart: Cart
    recommended: tuple[str, ...]
    cards: tuple[str, ...]
    kind = "home"


@dataclass(frozen=True)
class SearchView:
    cart: Cart
    query: str
    results: tuple[str, ...]
    four_star: tuple[str, ...]
    brands: tuple[str, ...]
    related_terms: tuple[str, ...]
    sort: str = "featured"
    filters: tuple[str, ...] = ()
    page_no: int = 1
    n_pages: int = 1
    kind = "search"


@dataclass(frozen=True)
class ProductView:
    cart: Cart
    asin: str
    related: tuple[str, ...]
    four_star: tuple[str, ...]
    selected: tuple[tuple[str, str], ...] = ()
    side_bar: bool = False
    popup: bool = False
    kind = "product"


@dataclass(frozen=True)
class ReviewsView:
    cart: Cart
    asin: str
    star_filter: str = "all_stars"
    sort: str = "top_reviews"
    page_no: int = 1
    kind = "reviews"


@dataclass(frozen=True)
class AddedView:
    cart: Cart
    asin: str
    kind = "added"


@dataclass(frozen=True)
class CartView:
    cart: Cart
    recommended: tuple[str, ...]
    kind = "cart"


View = Union[HomeView, SearchView, ProductView, ReviewsView, AddedView, CartView]


@lru_cache(maxsize=1 << 17)
def _hash01(*parts: object) -> float:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def match_type(catalogue: Catalogue, query: str) -> str:
    """The product type a query is about: the longest type name it contains, else word overlap."""
    q = query.lower()
    contained = [t for t in catalogue.types if t in q]
    if contained:
        return max(contained, key=len)
    words = set(q.split())
    return max(catalogue.types, key=lambda t: (len(words & set(t.split())), -len(t)))


def related_terms(catalogue: Catalogue, type_name: str) -> tuple[str, ...]:
    """Six related searches for a product type (fixed per type)."""
    brands = BRANDS[catalogue.types[type_name].category]
    ranked = sorted(_MODIFIERS, key=lambda m: _hash01("terms", type_name, m))[:6]
    return tuple(m.format(t=type_name, b0=brands[0].lower(), b1=brands[1].lower()) for m in ranked)


def _passes(product: Product, filt: str) -> bool:
    key, _, value = filt.partition(":")
    if key == "brand":
        return names.slug(product.brand) == value
    if key == "price":
        _, low, high = names.PRICE_RANGES[value]
        return low <= product.price < high
    if key == "stars4":
        return product.rating >= 4.0
    if key == "prime":
        return _hash01("prime", product.asin) < 0.7
    if key == "deals":
        return _hash01("deal", product.asin) < 0.3
    raise ValueError(f"unknown search filter {filt!r}")


def _ranked(catalogue: Catalogue, query: str, type_name: str) -> list[Product]:
    def relevance(product: Product) -> float:
        brand_hit = 1.5 if product.brand.lower() in query.lower() else 0.0
        return (
            brand_hit
            + 0.5 * (product.rating - 4.0)
            + 0.25 * math.log10(product.review_count)
            + _hash01(query, product.asin)
        )

    same = sorted(catalogue.by_type[type_name], key=relevance, reverse=True)
    ptype = catalogue.types[type_name]
    others = [other for other in catalogue.by_category[ptype.category] if other.type_name != type_name]
    return same + sorted(others, key=lambda other: _hash01("other", query, other.asin))


_SORT_KEYS = {
    "price_low_to_high": lambda product: product.price,
    "price_high_to_low": lambda product: -product.price,
    "avg_customer_review": lambda product: (-product.rating, -product.review_count),
    "newest_arrivals": lambda product: _hash01("new", product.asin),
}


def search_view(
    catalogue: Catalogue,
    query: str,
    *,
    cart: Cart,
    sort: str = "featured",
    filters: tuple[str, ...] = (),
    page_no: int = 1,
) -> SearchView:
    """The results page of ``query`` with a sort order, filters (``brand:<slug>``,
    ``price:<range>``, ``stars4``, ``prime``, ``deals``) and a page number."""
    type_name = match_type(catalogue, query)
    ranked = _ranked(catalogue, query, type_name)
    kept = [product for product in ranked if all(_passes(product, f) for f in filters)] or ranked[:4]
    if sort in _SORT_KEYS:
        same = [product for product in kept if product.type_name == type_name]
        kept = sorted(same, key=_SORT_KEYS[sort]) + [
            product for product in kept if product.type_name != type_name
        ]
    n_pages = max(1, math.ceil(len(kept) / RESULTS_PER_PAGE))
    page_no = min(page_no, n_pages)
    shown = kept[(page_no - 1) * RESULTS_PER_PAGE : page_no * RESULTS_PER_PAGE]
    results = [product.asin for product in shown]
    if page_no == 1 and len(results) > 6 and _hash01("sponsored", query) < 0.5:
        results.insert(5, results[0])  # the sponsored repeat of the top result: names repeat
    four = sorted(
        (product for product in catalogue.by_type[type_name] if product.rating >= 4.0),
        key=lambda product: (-product.rating, -product.review_count),
    )[:6]
    return SearchView(
        cart=cart,
        query=query,
        results=tuple(results),
        four_star=tuple(product.asin for product in four),
        brands=BRANDS[catalogue.types[type_name].category],
        related_terms=related_terms(catalogue, type_name),
        sort=sort,
        filters=tuple(filters),
        page_no=page_no,
        n_pages=n_pages,
    )


def product_view(catalogue: Catalogue, asin: str, *, cart: Cart) -> ProductView:
    """A product page with its two carousels (same type, then highly rated in the category)."""
    product = catalogue.by_asin[asin]
    same = [other for other in catalogue.by_type[product.type_name] if other.asin != asin]
    related = sorted(same, key=lambda other: _hash01("related", asin, other.asin))[:6]
    category = [
        other for other in catalogue.same_category(product) if other.asin != asin and other.rating >= 4.0
    ]
    four = sorted(category, key=lambda other: _hash01("four", asin, other.asin))[:6]
    return ProductView(
        cart=cart,
        asin=asin,
        related=tuple(other.asin for other in related),
        four_star=tuple(other.asin for other in four),
    )


def with_cart(view: View, cart: Cart) -> View:
    """The same view after the cart changed (the nav bar count and page meta follow the cart)."""
    return replace(view, cart=cart)
