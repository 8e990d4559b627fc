"""The shop's world: the synthetic store's catalogue, users and recorded sessions, and its pages.

A :class:`ShopWorld` is everything a store written by :mod:`customer_env.synthetic` is a function
of (its :class:`~customer_env.synthetic.fork.GenerationInputs`: seed, users, sessions, split),
rebuilt without reading its parquet files: the catalogue, the users with their surveys and
behaviour profiles, the planned (recorded) sessions, and the page renderer at a page scale. The
live shop (:mod:`customer_env.shop.env`) runs in it; so do the reference shoppers and the
consistency replay of its recorded sessions.

Views are computed once per world (search results and product pages are pure functions of the
catalogue and their arguments), and the named elements of a view are read from its page.

Example:
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> len(world.user_ids), world.catalogue is world.page_context.catalogue
    (4, True)
    >>> "nav_bar.search_input" in world.names(world.search("rice cooker", ()))
    True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from customer_env.data.persona import persona_from_survey
from customer_env.prompt import CompressedPage, compress_page
from customer_env.synthetic import views
from customer_env.synthetic.catalogue import Catalogue, build_catalogue
from customer_env.synthetic.fork import GenerationInputs
from customer_env.synthetic.generate import MANIFEST_NAME
from customer_env.synthetic.pages import PageContext, render_page
from customer_env.synthetic.pages.filler import filler_pools
from customer_env.synthetic.personas import SyntheticUser
from customer_env.synthetic.plan import PlannedSession, StorePlan, build_plan
from customer_env.synthetic.rows import page_url

#: Where a persona without a location (persona text, a survey without one) has things delivered.
DEFAULT_LOCATION = "Boston 02115"
#: Views kept per world (search results, product pages, names of pages).
VIEW_CACHE = 1 << 15


def default_inputs() -> GenerationInputs:
    """The inputs of the embedded default store (``customer_env.data.embedded``): seed 0, its
    users and sessions, the session split."""
    from customer_env.data.embedded import DEFAULT_SESSIONS, DEFAULT_USERS

    return GenerationInputs(seed=0, users=DEFAULT_USERS, sessions=DEFAULT_SESSIONS)


@dataclass(frozen=True, eq=False)
class ShopWorld:
    """One synthetic store's world (see the module docstring); build it with :meth:`build`.

    Attributes:
        inputs: What the store was generated from.
        page_scale: Filler text of every page relative to real pages (named elements never change).
        plan: Its users and planned sessions.
        catalogue: Its products.
        page_context: The page renderer's context.
    """

    inputs: GenerationInputs
    page_scale: float
    plan: StorePlan = field(repr=False)
    catalogue: Catalogue = field(repr=False)
    page_context: PageContext = field(repr=False)

    @classmethod
    def build(cls, inputs: GenerationInputs | None = None, *, page_scale: float = 1.0) -> "ShopWorld":
        """The world of ``inputs`` (default: the embedded store's), built once per process.

        Raises:
            ValueError: A negative page scale, or inputs the generator refuses.
        """
        return _build(inputs or default_inputs(), float(page_scale))

    @classmethod
    def from_store(cls, store_dir: str | os.PathLike[str], *, page_scale: float | None = None) -> "ShopWorld":
        """The world of the synthetic store at ``store_dir`` (read from its manifest); its pages at
        ``page_scale`` (None: the store's own, so they are the store's pages).

        Raises:
            ValueError: The directory has no readable manifest of this generator version.
        """
        inputs = GenerationInputs.from_store(store_dir)
        if page_scale is None:
            manifest = json.loads((Path(store_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
            page_scale = float(manifest.get("page_scale", 1.0))
        return cls.build(inputs, page_scale=page_scale)

    # ---- users and recorded sessions ------------------------------------------------------

    @property
    def users(self) -> dict[str, SyntheticUser]:
        """Every user by id."""
        return _users(self)

    @property
    def user_ids(self) -> list[str]:
        """Every user id, sorted (the order ``--personas N`` takes them in)."""
        return sorted(self.users)

    def persona_text(self, user_id: str) -> str:
        """The persona a user is shown as, exactly as OPeRA-v0 shows it (the store's user row)."""
        return _persona_text(self, user_id)

    def location(self, user_id: str | None) -> str:
        """Where the user has things delivered (the nav bar's "Deliver to")."""
        if user_id is None or user_id not in self.users:
            return DEFAULT_LOCATION
        return str(self.users[user_id].survey["Demographic Information"].get("Location") or DEFAULT_LOCATION)

    @property
    def sessions(self) -> dict[str, PlannedSession]:
        """Every recorded session by id."""
        return _sessions(self)

    def sessions_of(self, user_id: str) -> list[PlannedSession]:
        """The user's recorded sessions, in id order."""
        return [s for sid, s in sorted(self.sessions.items()) if s.user.user_id == user_id]

    # ---- views and pages ----------------------------------------------------------------

    def search(self, query: str, cart: views.Cart, *, sort: str = "featured",
               filters: tuple[str, ...] = (), page_no: int = 1) -> views.SearchView:
        """The results page of ``query`` (:func:`customer_env.synthetic.views.search_view`), cached."""
        return _search(self, query, tuple(cart), sort, tuple(filters), page_no)

    def product(self, asin: str, cart: views.Cart) -> views.ProductView:
        """The product page of ``asin`` (:func:`customer_env.synthetic.views.product_view`), cached."""
        return _product(self, asin, tuple(cart))

    def names(self, view: views.View) -> frozenset[str]:
        """The named elements of ``view``'s page (the same at every page scale)."""
        return _names(self, view)

    def input_names(self, view: views.View) -> frozenset[str]:
        """The text-entry elements among them."""
        return _input_names(self, view)

    def render(self, view: views.View, *, key: tuple[object, ...], deliver_to: str) -> str:
        """The simplified HTML of ``view``; ``key`` varies its filler (never its named elements)."""
        return render_page(view, self.page_context, key=key, deliver_to=deliver_to)

    def page(self, view: views.View, *, key: tuple[object, ...], deliver_to: str) -> CompressedPage:
        """``view``'s page compressed for the prompt (what OPeRA-v0 shows of a recorded page)."""
        return compress_page(self.render(view, key=key, deliver_to=deliver_to))

    def url(self, view: views.View) -> str:
        """The masked URL of ``view`` (as the recorded rows write it)."""
        return page_url(view, self.catalogue)

    def describe(self) -> dict[str, Any]:
        """JSON-ready identity of the world (recorded with every simulation)."""
        return {"seed": self.inputs.seed, "users": self.inputs.users, "sessions": self.inputs.sessions,
                "test_fraction": self.inputs.test_fraction, "user_disjoint": self.inputs.user_disjoint,
                "page_scale": self.page_scale}


@lru_cache(maxsize=8)
def _build(inputs: GenerationInputs, page_scale: float) -> ShopWorld:
    if page_scale < 0:
        raise ValueError(f"page_scale must be >= 0, got {page_scale}")
    plan = build_plan(inputs.seed, inputs.users, inputs.sessions, test_fraction=inputs.test_fraction,
                      user_disjoint=inputs.user_disjoint)
    catalogue = build_catalogue(inputs.seed)
    context = PageContext(seed=inputs.seed, scale=page_scale, catalogue=catalogue,
                          pools=filler_pools(inputs.seed))
    return ShopWorld(inputs, page_scale, plan, catalogue, context)


@lru_cache(maxsize=8)
def _users(world: ShopWorld) -> dict[str, SyntheticUser]:
    return {u.user_id: u for u in world.plan.users}


@lru_cache(maxsize=8)
def _sessions(world: ShopWorld) -> dict[str, PlannedSession]:
    return {s.session_id: s for s in world.plan.sessions}


@lru_cache(maxsize=4096)
def _persona_text(world: ShopWorld, user_id: str) -> str:
    user = world.users[user_id]
    survey = json.loads(json.dumps(user.survey))  # as the store's user row decodes it
    return persona_from_survey(user_id, survey, user.interview_summary).to_text()


@lru_cache(maxsize=VIEW_CACHE)
def _search(world: ShopWorld, query: str, cart: views.Cart, sort: str, filters: tuple[str, ...],
            page_no: int) -> views.SearchView:
    return views.search_view(world.catalogue, query, cart=cart, sort=sort, filters=filters, page_no=page_no)


@lru_cache(maxsize=VIEW_CACHE)
def _product(world: ShopWorld, asin: str, cart: views.Cart) -> views.ProductView:
    return views.product_view(world.catalogue, asin, cart=cart)


@lru_cache(maxsize=VIEW_CACHE)
def _core(world: ShopWorld, view: views.View) -> CompressedPage:
    # Filler has no named elements, so the page at scale 0 names exactly what every scale names.
    core = PageContext(seed=world.inputs.seed, scale=0.0, catalogue=world.catalogue,
                       pools=world.page_context.pools)
    return compress_page(render_page(view, core, key=(0,)))


def _names(world: ShopWorld, view: views.View) -> frozenset[str]:
    return frozenset(_core(world, view).names)


def _input_names(world: ShopWorld, view: views.View) -> frozenset[str]:
    return frozenset(_core(world, view).input_names)
