"""Short first-person rationales, as shoppers typed them when asked "why did you do this?".

A rationale depends on what the shopper did (the click type, or input / terminate), on the
persona trait that drove it and on the product involved. Only about 3.5% of steps carry one,
like the human rationales of OPeRA.

Example:
    >>> import random
    >>> rationale_for("filter.brand", random.Random(0), {"brand": "Kitchora"})
    'I trust Kitchora.'
"""

from __future__ import annotations

import random
from typing import Mapping

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "input": (
        "I need a new {product}, so I'm searching for it.",
        "Looking for a {product}.",
        "I want to see what {product} options there are.",
    ),
    "search": (
        "I want to search for a {product}.",
        "Going to the search bar to look for what I need.",
    ),
    "review": (
        "I want to see what other buyers say before deciding.",
        "Checking the reviews to make sure it's good quality.",
        "I want to read the negative reviews first.",
        "The rating looks good but I want to check the reviews.",
    ),
    "filter": ("Narrowing down the results.", "Too many results, I want fewer to look at."),
    "filter.price": ("I only want to see the cheaper ones.", "Sorting by price so I can find a good deal."),
    "filter.brand": ("I usually buy from {brand}, so I'm filtering for it.", "I trust {brand}."),
    "filter.stars": ("I only want well rated products.",),
    "product_option": (
        "I need a different size.",
        "I prefer this color.",
        "Checking if the price changes with the option.",
    ),
    "product_link": ("This one looks good.", "I want to compare this one with the previous one."),
    "product_link.price": (
        "This is the cheapest one that still looks decent.",
        "Good price for a {product}.",
    ),
    "product_link.brand": (
        "It's {brand}, I know that brand.",
        "I recognize this brand, so I want to look at it.",
    ),
    "product_link.rating": ("This one has the best ratings.", "Lots of reviews and a high rating."),
    "purchase": (
        "This fits what I need, so I'm buying it.",
        "Good price and good reviews, adding it to my cart.",
        "I've compared enough, this is the one.",
        "Ready to check out.",
    ),
    "terminate": (
        "None of these are quite what I want, I'll come back later.",
        "I was just browsing today.",
        "Too expensive for now, I'll wait for a sale.",
    ),
    "page_related": ("I want to see more options.", "Nothing on this page, checking the next one."),
    "suggested_term": ("That suggestion is closer to what I want.",),
    "nav_bar": ("I want to check what's in my cart.", "Going back to the home page."),
    "cart_side_bar": ("I want to review my cart before checking out.",),
    "cart_page_select": ("I don't want to buy that item this time.",),
    "quantity": ("I need more than one.", "I don't need this item anymore."),
    "other": ("I want to see more details about it.", "I want to look at more pictures."),
}


def rationale_for(kind: str, rng: random.Random, context: Mapping[str, str]) -> str:
    """A rationale for an action of ``kind``: a click type, ``input`` or ``terminate``, optionally
    refined by the motive (``filter.price``, ``product_link.brand``); an unknown refinement falls
    back to its click type.

    ``context`` fills placeholders: ``product`` (the product type shopped for), ``brand``.
    """
    templates = _TEMPLATES.get(kind) or _TEMPLATES.get(kind.split(".")[0], _TEMPLATES["other"])
    return rng.choice(templates).format(
        product=context.get("product", "item"), brand=context.get("brand", "this brand")
    )
