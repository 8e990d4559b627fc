"""The semantic-id vocabulary of the simulated store, each id bound to its one click type.

A :class:`Target` is what the shopper acts on: the ``name`` attribute the page renderer writes
and the click type the recorded action carries. Every function below fixes the click type of the
names it builds, so a name can never be recorded under two click types (as in the real
filtered data). Shapes follow the real data (``nav_bar.search_input``,
``search_result.<slug>.product_title``, ``product_options.color.button_list.<option>``, ...).

Example:
    >>> slug("Tiger JBV-S18U 10-Cup Rice Cooker (White)")
    'tiger_jbv_s18u_10_cup_rice_cooker_white'
    >>> product_link("search_result", "Tiger JBV-S18U Rice Cooker")
    Target(name='search_result.tiger_jbv_s18u_rice_cooker.product_title', click_type='product_link')
    >>> option("color", "Navy Blue").name
    'product_options.color.button_list.navy_blue'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_NON_WORD = re.compile(r"\W+")


class Target(NamedTuple):
    """An actionable element: its semantic id and the click type a click on it records."""

    name: str
    click_type: str


@lru_cache(maxsize=1 << 16)
def slug(text: str) -> str:
    """Lower-case text with every run of non-word characters turned into one ``_``."""
    return _NON_WORD.sub("_", text.lower()).strip("_")


# Navigation bar (present on every page).
HOMEPAGE = Target("nav_bar.homepage", "nav_bar")
SEARCH_INPUT = Target("nav_bar.search_input", "search")
SEARCH_BUTTON = Target("nav_bar.search_button", "search")
CART_BUTTON = Target("nav_bar.cart_button", "nav_bar")
ALL_MENU = Target("nav_bar.all_menu", "nav_bar")
TODAYS_DEALS = Target("nav_bar.todays_deals", "nav_bar")
ORDERS = Target("nav_bar.orders", "nav_bar")
DELIVER_TO = Target("nav_bar.deliver_to", "nav_bar")
SEARCH_DEPARTMENT = "nav_bar.search_department"

# Home page.
RECOMMENDED = "recommended_for_you"
RECOMMENDED_NEXT = Target("recommended_for_you.next_page", "page_related")
HERO_NEXT = Target("hero_carousel.next", "page_related")

# Search results page.
SEARCH_RESULT = "search_result"
FOUR_STARS = "4_stars_and_above"
FOUR_STARS_NEXT = Target("4_stars_and_above.next_page", "page_related")
SORT_DROPDOWN = Target("sort_by.dropdown", "filter")
SORT_OPTIONS = {
    "featured": "Featured",
    "price_low_to_high": "Price: Low to High",
    "price_high_to_low": "Price: High to Low",
    "avg_customer_review": "Avg. Customer Review",
    "newest_arrivals": "Newest Arrivals",
}
FOUR_STAR_FILTER = Target("filters.customer_reviews.4_stars_and_up", "filter")
PRIME_FILTER = Target("filters.delivery.prime", "filter")
DEALS_FILTER = Target("filters.deals.todays_deals", "filter")
CLEAR_FILTERS = Target("filters.clear_all", "filter")
PRICE_RANGES = {
    "under_25": ("Under $25", 0.0, 25.0),
    "25_to_50": ("$25 to $50", 25.0, 50.0),
    "50_to_100": ("$50 to $100", 50.0, 100.0),
    "100_to_200": ("$100 to $200", 100.0, 200.0),
    "200_above": ("$200 & Above", 200.0, 1e9),
}
PAGINATION_NEXT = Target("pagination.next", "page_related")
PAGINATION_PREVIOUS = Target("pagination.previous", "page_related")

# Product page.
REVIEWS = Target("reviews", "review")
ABOUT_SEE_MORE = Target("about_this_item.see_more", "other")
DETAILS_SEE_MORE = Target("product_details.see_more", "other")
BRAND_STORE = Target("brand_store_link", "other")
DELIVERY_DETAILS = Target("buybox.delivery.see_details", "other")
QUANTITY_SELECTOR = Target("buybox.purchase_form.quantity_selector", "quantity")
ADD_TO_CART = Target("buybox.purchase_form.add_to_cart", "purchase")
BUY_NOW = Target("buybox.purchase_form.buy_now", "purchase")
NO_THANKS = Target("attach_warranty.no_thanks", "other")
SIDE_BAR_GO_TO_CART = Target("cart_side_bar.go_to_cart", "cart_side_bar")
SIDE_BAR_CHECK_OUT = Target("cart_side_bar.check_out", "purchase")
SIDE_BAR_CLOSE = Target("cart_side_bar.close", "cart_side_bar")
RELATED = "related_products"
RELATED_NEXT = Target("related_products.next_page", "page_related")
SEE_MORE_REVIEWS = Target("review_section.see_more_reviews", "review")
REVIEWS_SHOWN = 5

# Added-to-cart confirmation page and cart page.
GO_TO_CART = Target("go_to_cart", "other")
CHECK_OUT = Target("check_out", "purchase")
SELECT_ALL = Target("cart.select_all", "cart_page_select")
CART_RECOMMENDED = "cart_recommendations"

# All-reviews page.
REVIEW_PRODUCT_TITLE = Target("product_header.product_title", "product_link")
REVIEW_FILTERS = ("all_stars", "5_star", "4_star", "3_star", "2_star", "1_star", "critical", "positive")
REVIEW_SORTS = ("top_reviews", "most_recent")
REVIEW_NEXT = Target("review_pagination.next", "review")
REVIEW_PREVIOUS = Target("review_pagination.previous", "review")
REVIEW_SEARCH_INPUT = Target("review_search.input", "review")
REVIEW_SEARCH_BUTTON = Target("review_search.button", "review")
REVIEWS_PER_PAGE = 10


def product_link(section: str, title: str, part: str = "product_title") -> Target:
    """A product title/image link inside a product list (``search_result``, carousels, cart)."""
    return Target(f"{section}.{slug(title)}.{part}", "product_link")


def result_ratings(title: str) -> Target:
    """The star-rating link of a search result (opens the product at its reviews)."""
    return Target(f"{SEARCH_RESULT}.{slug(title)}.ratings", "review")


def home_card(type_name: str) -> Target:
    return Target(f"home_cards.{slug(type_name)}", "other")


def brand_filter(brand: str) -> Target:
    return Target(f"filters.brand.{slug(brand)}", "filter")


def price_filter(range_key: str) -> Target:
    return Target(f"filters.price.{range_key}", "filter")


def sort_option(key: str) -> Target:
    return Target(f"sort_by.{key}", "filter")


def pagination(page_no: int) -> Target:
    return Target(f"pagination.{page_no}", "page_related")


def suggested_term(term: str) -> Target:
    return Target(f"related_searches.{slug(term)}", "suggested_term")


def thumbnail(index: int) -> Target:
    return Target(f"product_images.thumbnail_{index}", "other")


def option(dim: str, value: str) -> Target:
    return Target(f"product_options.{dim}.button_list.{slug(value)}", "product_option")


def histogram(stars: int) -> Target:
    return Target(f"customer_reviews.histogram.{stars}_star", "review")


def review_read_more(index: int) -> Target:
    return Target(f"review_section.review_{index}.read_more", "review")


def review_helpful(index: int) -> Target:
    return Target(f"review_section.review_{index}.helpful", "review")


def review_filter(key: str) -> Target:
    return Target(f"review_filter.{key}", "review")


def review_sort(key: str) -> Target:
    return Target(f"review_sort.{key}", "review")


def review_list_helpful(index: int) -> Target:
    return Target(f"review_list.review_{index}.helpful", "review")


def cart_checkbox(title: str) -> Target:
    return Target(f"cart.{slug(title)}.checkbox", "cart_page_select")


def cart_quantity(title: str, change: str) -> Target:
    """``change`` is ``increase``, ``decrease`` or ``delete``."""
    return Target(f"cart.{slug(title)}.quantity.{change}", "quantity")


def cart_save_for_later(title: str) -> Target:
    return Target(f"cart.{slug(title)}.save_for_later", "other")
