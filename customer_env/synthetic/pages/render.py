"""OPeRA-style simplified HTML for every page kind of the simulated store.

A page is its *core* (every named element the view implies, with short text) plus filler
(:mod:`filler`) at the slots the core marks. Each page draws a target length from a log-normal per
page kind (calibrated so that, at ``page_scale=1``, lengths look like the real data: median about
100k characters, a few thousand at least, tails to about 600k); the filler fills the gap between
the core and the target, multiplied by ``page_scale``. The core never depends on the scale, so the
named elements of a page are identical at every scale.

Example:
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> from customer_env.synthetic.views import search_view
    >>> ctx = PageContext(seed=0, scale=0.05)
    >>> page = render_page(search_view(build_catalogue(0), "rice cooker", cart=()), ctx, key=(0,))
    >>> page.startswith('<html><head></head><body><div name="nav_bar" role="navigation"')
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from customer_env.synthetic import views
from customer_env.synthetic.catalogue import Catalogue, build_catalogue
from customer_env.synthetic.pages.filler import FillerPools, fill, filler_pools
from customer_env.synthetic.pages.parts import Slot, footer, nav_bar
from customer_env.synthetic.pages.kinds import RENDERERS
from customer_env.synthetic.seeds import clamp, derive_rng

#: Median characters and log-normal sigma of the page length at scale 1, per page kind.
TARGET_LENGTH = {
    "home": (58_000, 0.55),
    "search": (100_000, 0.42),
    "product": (118_000, 0.55),
    "reviews": (88_000, 0.4),
    "cart": (24_000, 0.75),
    "added": (9_000, 0.7),
}
MIN_LENGTH, MAX_LENGTH = 2_800, 620_000


@dataclass(frozen=True)
class PageContext:
    """What rendering needs besides the view: the store seed and the page scale."""

    seed: int
    scale: float = 1.0
    catalogue: Catalogue = field(default=None, repr=False)  # type: ignore[assignment]
    pools: FillerPools = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.scale < 0:
            raise ValueError(f"page_scale must be >= 0, got {self.scale}")
        if self.catalogue is None:
            object.__setattr__(self, "catalogue", build_catalogue(self.seed))
        if self.pools is None:
            object.__setattr__(self, "pools", filler_pools(self.seed))


def render_page(
    view: views.View, ctx: PageContext, *, key: tuple[object, ...], deliver_to: str = "Boston 02115"
) -> str:
    """The simplified HTML of ``view``; ``key`` (e.g. the session index) varies the filler."""
    rng = derive_rng(ctx.seed, "page", *key, repr(view))
    median, sigma = TARGET_LENGTH[view.kind]
    target = clamp(rng.lognormvariate(math.log(median), sigma), MIN_LENGTH, MAX_LENGTH)
    parts = RENDERERS[view.kind](view, ctx.catalogue)
    cart_count = sum(line.quantity for line in view.cart)
    query = view.query if isinstance(view, views.SearchView) else ""
    parts = [
        "<html><head></head><body>",
        nav_bar(query, cart_count, deliver_to),
        *parts,
        Slot("links", 0.05, "ul"),
        footer(),
        "</body></html>",
    ]
    core = sum(len(p) for p in parts if isinstance(p, str))
    budget = max(0.0, target - core) * ctx.scale
    out = []
    for part in parts:
        if isinstance(part, Slot):
            text = fill(rng, getattr(ctx.pools, part.pool), budget * part.share)
            out.append(f"<{part.wrap}>{text}</{part.wrap}>" if text else "")
        else:
            out.append(part)
    return "".join(out)
