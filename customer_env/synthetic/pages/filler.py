"""Filler: the text that makes pages as long as real ones without changing any decision.

Real simplified pages are mostly prose (descriptions, review bodies, legal text), unnamed product
cards and link lists. Pools of such pre-rendered fragments are built once per seed; a page draws
fragments until its character budget is spent. Filler never carries a ``name`` attribute, so the
set of actionable elements of a page is the same at every page scale.

Example:
    >>> pools = filler_pools(0)
    >>> import random
    >>> text = fill(random.Random(1), pools.paragraphs, 5000)
    >>> 5000 <= len(text) < 8000 and "name=" not in text
    True
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from functools import lru_cache

from customer_env.synthetic.catalogue import build_catalogue
from customer_env.synthetic.seeds import derive_rng

_ADJ = (
    "sturdy",
    "lightweight",
    "compact",
    "durable",
    "easy to clean",
    "well made",
    "reliable",
    "affordable",
    "stylish",
    "comfortable",
    "versatile",
    "quiet",
    "premium",
    "practical",
    "solid",
)
_NOUN = (
    "design",
    "material",
    "finish",
    "build quality",
    "packaging",
    "size",
    "color",
    "performance",
    "handle",
    "surface",
    "battery",
    "cover",
    "texture",
    "capacity",
    "instructions",
)
_USE = (
    "everyday use",
    "small apartments",
    "busy families",
    "travel",
    "gifting",
    "the office",
    "beginners",
    "outdoor use",
    "long days",
    "weekend projects",
)
_WHO = ("my daughter", "my husband", "my wife", "my roommate", "my mom", "myself", "my son", "a friend")
_SENTENCES = (
    "The {noun} is {adj} and works well for {use}.",
    "Designed for {use}, it combines a {adj} {noun} with a {adj2} {noun2}.",
    "I bought this for {who} and the {noun} turned out {adj}.",
    "After two weeks the {noun} still feels {adj}, which I did not expect at this price.",
    "Not perfect: the {noun} could be more {adj}, but overall it does the job.",
    "Compared with my old one, the {noun} is much more {adj}.",
    "Please check the dimensions before ordering because the {noun} runs a bit small.",
    "Package includes the main unit, a quick start guide and a {adj} {noun2}.",
    "Our customer service team is available if the {noun} does not meet your expectations.",
    "It arrived quickly, the {noun} was {adj} and setup took only a few minutes.",
    "Made with a {adj} {noun}, it is ideal for {use} and easy to store.",
    "I would buy it again, mainly because the {noun} is so {adj}.",
    "The {noun2} feels {adj2}, though the {noun} is only average.",
    "Return shipping was free when the first one had a damaged {noun}.",
)
_FOOTER = (
    "Careers",
    "Blog",
    "About Us",
    "Investor Relations",
    "Sell products",
    "Become an Affiliate",
    "Advertise Your Products",
    "Self-Publish",
    "Your Account",
    "Your Orders",
    "Shipping Rates & Policies",
    "Returns & Replacements",
    "Manage Your Content and Devices",
    "Help",
    "Conditions of Use",
    "Privacy Notice",
    "Consumer Health Data Privacy Disclosure",
    "Your Ads Privacy Choices",
    "Gift Cards",
    "Registry & Gift List",
    "Recalls and Product Safety Alerts",
    "Music",
    "Audible",
)
_DETAIL_KEYS = (
    "Product Dimensions",
    "Item Weight",
    "Manufacturer",
    "Item model number",
    "Country of Origin",
    "Date First Available",
    "Material",
    "Special Feature",
    "Included Components",
    "Warranty",
)
_AUTHORS = (
    "Amanda",
    "J. Ruiz",
    "Kindle Customer",
    "Mike T.",
    "Sarah",
    "Dave",
    "Priya",
    "T. Nguyen",
    "Amazon Customer",
    "Linda K.",
    "Chris",
    "Olu",
    "M. Chen",
    "Rachel",
    "Ben",
)


@dataclass(frozen=True)
class FillerPools:
    """Pre-rendered filler fragments (each a tuple of HTML strings)."""

    sentences: tuple[str, ...]
    paragraphs: tuple[str, ...]
    reviews: tuple[str, ...]
    cards: tuple[str, ...]
    links: tuple[str, ...]
    details: tuple[str, ...]


def _sentence(rng: random.Random) -> str:
    return rng.choice(_SENTENCES).format(
        noun=rng.choice(_NOUN),
        noun2=rng.choice(_NOUN),
        adj=rng.choice(_ADJ),
        adj2=rng.choice(_ADJ),
        use=rng.choice(_USE),
        who=rng.choice(_WHO),
    )


@lru_cache(maxsize=4)
def filler_pools(seed: int) -> FillerPools:
    """The filler pools of a store (cached per seed; cheap, about 0.1 s)."""
    rng = derive_rng(seed, "filler")
    sentences = tuple(html.escape(_sentence(rng)) for _ in range(2000))
    paragraphs = tuple(
        "<p>" + " ".join(rng.choices(sentences, k=rng.randint(3, 9))) + "</p>" for _ in range(600)
    )
    reviews = tuple(
        f"<div><span>{rng.choice(_AUTHORS)}</span><span>{rng.randint(1, 5)}.0 out of 5 stars</span>"
        f"<span>Reviewed in the United States on {rng.choice(('March', 'April', 'May', 'June'))} "
        f"{rng.randint(1, 28)}, 202{rng.randint(2, 5)}</span><span>Verified Purchase</span>"
        f"<p>{' '.join(rng.choices(sentences, k=rng.randint(2, 12)))}</p>"
        f"<span>{rng.randint(1, 90)} people found this helpful</span></div>"
        for _ in range(500)
    )
    cards = tuple(
        f'<div><img alt="{html.escape(p.title)}"/><span>{html.escape(p.title)}</span>'
        f"<span>{p.price_text}</span><span>{p.rating} out of 5 stars</span>"
        f"<span>{p.review_count:,}</span></div>"
        for p in build_catalogue(seed).products
    )
    links = tuple(f'<li><a title="{html.escape(t)}">{html.escape(t)}</a></li>' for t in _FOOTER)
    details = tuple(
        f"<tr><th>{k}</th><td>{html.escape(_sentence(rng))}</td></tr>"
        for k in _DETAIL_KEYS
        for _ in range(20)
    )
    return FillerPools(sentences, paragraphs, reviews, cards, links, details)


_MEANS: dict[int, float] = {}  # pools live as long as the process (lru_cache above)


def fill(rng: random.Random, pool: tuple[str, ...], budget: float) -> str:
    """Fragments drawn from ``pool`` until about ``budget`` characters (empty if budget <= 0)."""
    if budget <= 0:
        return ""
    mean = _MEANS.get(id(pool))
    if mean is None:
        mean = _MEANS[id(pool)] = sum(len(x) for x in pool[:50]) / min(50, len(pool))
    parts = rng.choices(pool, k=int(budget / mean) + 1)
    total = sum(map(len, parts))
    while total < budget:
        extra = rng.choice(pool)
        parts.append(extra)
        total += len(extra)
    return "".join(parts)
