"""Action-table rows of a planned session, encoded exactly as OPeRA stores them.

Every value is a string or None. JSON lives inside strings: ``mouse_position``, ``window_size``,
``page_meta`` and ``products`` use ``json.dumps`` defaults (``", "`` and ``": "``, as in the real
rows); ``element_meta`` is ``{"name": ..., "data": ...}`` whose ``data`` is itself a compact JSON
string. Fields that do not apply are None (``click_type`` off clicks, ``semantic_id`` on
terminate, ``input_text`` off inputs, ``rationale`` unless the shopper gave one).

The full variant interleaves ``scroll`` (``scroll_detail`` JSON), ``navigation``
(``navigation_type`` ``new_page`` or ``back``, with ``simplified_html_new_page``) and
``tab_activate`` rows between the clicks and inputs, and has no ``terminate``. Its ``target``
column, whose real encoding is not published, holds the semantic id of the element acted on.

Example:
    >>> from customer_env.synthetic.plan import build_plan
    >>> plan = build_plan(seed=0, users=1, sessions=1, test_fraction=0.0)
    >>> session = plan.sessions[0]
    >>> pages = ["<html></html>"] * len(session.sim.steps)
    >>> rows = filtered_rows(session, pages, seed=0)
    >>> rows[0]["session_id"] == session.session_id and rows[0]["timestamp"].endswith("Z")
    True
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from customer_env.constants import FULL_ACTION_COLUMNS
from customer_env.synthetic import views
from customer_env.synthetic.catalogue import Catalogue, build_catalogue
from customer_env.synthetic.plan import PlannedSession, iso_ms
from customer_env.synthetic.seeds import derive_rng, uuid_from

Row = dict[str, Optional[str]]
_BASE = "https://www.amazon.com"


def page_url(view: views.View, catalogue: Catalogue) -> str:
    """The masked URL of a view (path kept, query replaced by ``URL_MASKED`` as in OPeRA)."""
    if isinstance(view, (views.ProductView, views.ReviewsView)):
        product = catalogue.by_asin[view.asin]
        words = "-".join(w for w in "".join(c if c.isalnum() else " " for c in product.title).split()[:10])
        kind = "dp" if isinstance(view, views.ProductView) else "product-reviews"
        return f"{_BASE}/{words}/{kind}/{product.asin}?URL_MASKED"
    return (
        _BASE
        + {
            "home": "/?URL_MASKED",
            "search": "/s?URL_MASKED",
            "cart": "/gp/cart/view.html?URL_MASKED",
            "added": "/cart/smart-wagon?URL_MASKED",
        }[view.kind]
    )


def page_meta(view: views.View, catalogue: Catalogue) -> str:
    term = view.query if isinstance(view, views.SearchView) else ""
    items = []
    for i, line in enumerate(view.cart, start=1):
        product = catalogue.by_asin[line.asin]
        items.append(
            {
                "title": product.title,
                "asin": product.asin,
                "price": product.price_text,
                "url": f"/gp/product/{product.asin}/ref=ewc_pr_img_{i}?smid=ATVPDKIKX0DER&psc=1",
                "quantity": str(line.quantity),
            }
        )
    return json.dumps({"search_term": [{"term": term}], "cart_items": items})


def _mouse(rng: Any, window: tuple[int, int]) -> str:
    width, height = window
    x, y = rng.randrange(8, width - 8), rng.randrange(60, height - 4)
    scroll = rng.choice((0, 0, rng.randrange(0, 6000)))
    return json.dumps(
        {"clientX": x, "clientY": y, "pageX": x, "pageY": y + scroll, "screenX": x, "screenY": y + 146}
    )


def filtered_rows(session: PlannedSession, pages: list[str], seed: int) -> list[Row]:
    """One row per step, in step order (timestamps strictly increase)."""
    catalogue = build_catalogue(seed)
    rng = derive_rng(seed, "rows", session.index)
    window = json.dumps({"width": session.window[0], "height": session.window[1]})
    rows: list[Row] = []
    for step, page, ms, action_id in zip(session.sim.steps, pages, session.step_ms, session.action_ids):
        a = step.action
        meta = page_meta(step.view, catalogue) if rng.random() > 0.015 else "{}"
        element_meta = None
        if a.type == "click":
            element_meta = json.dumps(
                {"name": a.meta_section, "data": json.dumps(a.meta_data, separators=(",", ":"))}
            )
        rows.append(
            {
                "session_id": session.session_id,
                "action_id": action_id,
                "timestamp": iso_ms(ms),
                "action_type": a.type,
                "click_type": a.click_type,
                "semantic_id": a.name,
                "mouse_position": _mouse(rng, session.window) if a.type in ("click", "input") else None,
                "element_meta": element_meta,
                "url": page_url(step.view, catalogue),
                "window_size": window,
                "page_meta": meta,
                "simplified_html": page,
                "rationale": a.rationale,
                "products": json.dumps(list(a.products)) if a.products else None,
                "input_text": a.text if a.type == "input" else None,
                "image": ""
                if a.type == "terminate" or rng.random() < 0.2
                else f"{rng.getrandbits(24):06x}.png",
            }
        )
    return rows


_SCROLLS = {
    "product": (0, 1, 2, 3, 4, 5, 6, 8),
    "search": (0, 1, 2, 3, 4, 6),
    "reviews": (1, 2, 3, 4, 5),
    "home": (0, 1, 2),
    "cart": (0, 0, 1),
    "added": (0,),
}


def full_rows(
    session: PlannedSession,
    filtered: list[Row],
    pages: list[str],
    seed: int,
    render: Callable[[views.View], str],
) -> list[Row]:
    """The full-variant rows of a session: its clicks and inputs (the ``filtered`` rows, same ids
    and times) with scroll, navigation and tab_activate rows interleaved; no terminate.

    ``pages`` are the pages before each step; ``render`` renders a page the shopper passed
    through without acting on it (needed for a navigation's new page)."""
    rng = derive_rng(seed, "full", session.index)
    catalogue = build_catalogue(seed)
    steps = session.sim.steps
    base = [r for r in filtered if r["action_type"] != "terminate"]
    out: list[Row] = []
    previous_ms = session.step_ms[0] - 3000

    def extra(kind: str, ms: int, view_index: int, **fields: Optional[str]) -> Row:
        row: Row = {c: None for c in FULL_ACTION_COLUMNS}
        src = base[min(view_index, len(base) - 1)] if base else {}
        row.update(
            session_id=session.session_id,
            action_id=uuid_from(rng),
            timestamp=iso_ms(ms),
            action_type=kind,
            url=page_url(steps[view_index].view, catalogue),
            window_size=src.get("window_size"),
            page_meta=src.get("page_meta"),
            simplified_html=pages[view_index],
            image="",
        )
        row.update(fields)
        return row

    if not base:  # the shopper only looked and left: the full log still has their scrolling
        for j in range(1 + rng.randrange(3)):
            detail = json.dumps(
                {
                    "scroll_current_top": str(400 * (j + 1)),
                    "scroll_current_left": "0",
                    "scroll_distance_x": "0",
                    "scroll_distance_y": "400",
                }
            )
            out.append(
                extra(
                    "scroll",
                    previous_ms + 700 * (j + 1),
                    0,
                    scroll_detail=detail,
                    window_size=json.dumps({"width": session.window[0], "height": session.window[1]}),
                    page_meta=page_meta(steps[0].view, catalogue),
                )
            )
    for i, action_row in enumerate(base):
        ms = session.step_ms[i]
        if rng.random() < 0.03 and ms - previous_ms > 4:
            previous_ms += 2
            out.append(extra("tab_activate", previous_ms, i, simplified_html_new_page=pages[i]))
        n_scroll = rng.choice(_SCROLLS[steps[i].view.kind])
        gap = ms - previous_ms
        if gap > 2 * (n_scroll + 1):
            top = 0
            for j in range(n_scroll):
                dy = rng.choice((1, 1, 1, -1)) * rng.randrange(100, 1400)
                top = max(0, top + dy)
                detail = json.dumps(
                    {
                        "scroll_current_top": str(top),
                        "scroll_current_left": "0",
                        "scroll_distance_x": "0",
                        "scroll_distance_y": str(dy),
                    }
                )
                out.append(
                    extra("scroll", previous_ms + (j + 1) * gap // (n_scroll + 2), i, scroll_detail=detail)
                )
        row: Row = {c: action_row.get(c) for c in FULL_ACTION_COLUMNS}
        row["target"] = action_row["semantic_id"]
        out.append(row)
        previous_ms = ms
        after = steps[i].after
        if after is not None and page_url(after, catalogue) != action_row["url"]:
            nav_ms = previous_ms = (
                previous_ms + 1 + (session.step_ms[i + 1] - ms) // 4 if i + 1 < len(steps) else ms + 500
            )
            new_page = pages[i + 1] if i + 1 < len(steps) and steps[i + 1].view == after else render(after)
            out.append(
                extra(
                    "navigation",
                    nav_ms,
                    i,
                    navigation_type="new_page",
                    url=page_url(after, catalogue),
                    simplified_html_new_page=new_page,
                )
            )
        if i + 1 < len(steps) and after is not None and steps[i + 1].view != after:
            previous_ms += 1 + (session.step_ms[i + 1] - previous_ms) // 3
            out.append(
                extra(
                    "navigation",
                    previous_ms,
                    i,
                    navigation_type="back",
                    url=page_url(steps[i + 1].view, catalogue),
                    simplified_html_new_page=pages[i + 1],
                )
            )
    return out
