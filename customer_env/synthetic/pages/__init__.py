"""The simplified HTML of the simulated store's pages (OPeRA's shape, named elements, filler).

Modules: ``render`` (:func:`render_page`: a view to its page, at any page scale), ``kinds`` (the
named core of each page kind), ``parts`` (named elements, nav bar, product lists) and ``filler``
(unnamed text that gives pages their real length). Nothing here changes what a shopper does.

Example:
    >>> from customer_env.synthetic.catalogue import build_catalogue
    >>> from customer_env.synthetic.views import search_view
    >>> view = search_view(build_catalogue(0), "rice cooker", cart=())
    >>> page = render_page(view, PageContext(seed=0, scale=0.0), key=(0,))
    >>> 'name="nav_bar.search_input"' in page
    True
"""

from __future__ import annotations

from customer_env.synthetic.pages.render import PageContext, render_page

__all__ = ["PageContext", "render_page"]
