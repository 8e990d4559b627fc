"""Compress an OPeRA page (simplified HTML) into a compact outline of its named elements.

An action targets an element by its ``name`` attribute, so the outline keeps **every** element
with a non-empty ``name`` (its tag, its name, a few short attributes and a short label) and the
nesting among them; everything else is reduced to the text it carries:

* unnamed wrappers disappear, their named descendants are hoisted to the nearest named ancestor;
* unnamed text (prices, ratings, "Only 3 left") stays with the nearest named ancestor: text
  before its first named child is the element's label, cut to ``label_chars`` with an ellipsis;
  text after a named child is a free-text line at its position (so a price stays beside the
  product title it follows instead of being pooled in the container's label);
* free-text lines (including text outside every named element) are cut to ``label_chars`` each
  and to ``free_text_chars`` in total, in page order; a repeated line without digits (page
  furniture: "Add to cart", footer links) is kept once, while repeats with digits (prices,
  ratings, dates) are information and stay;
* a named subtree identical to an earlier one (same tag, name, attributes, label and children)
  is rendered once and counted in ``collapsed_duplicates``: its name is already in the text;
* scripts, styles, comments and processing instructions are dropped.

Nothing here looks at any action: the outline of a page is the same whatever the shopper did.

The page is parsed once into a :class:`PageOutline`; rendering at another detail level or with
a cap on the number of elements (for a tight budget) reuses it, so the renderer can step down
from labels to names only without parsing again. A whole (uncapped) rendering is kept on the
outline, so a past page that appears in every later step's history is rendered once.

Example:
    >>> page = compress_page('<div name="nav_bar"><a name="nav_bar.cart">Cart 2</a><p>x</p></div>')
    >>> page.names
    ('nav_bar', 'nav_bar.cart')
    >>> print(page.text)
    <div name="nav_bar">
     <a name="nav_bar.cart">Cart 2</a>
     x
    </div>
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Union

from customer_env.prompt.html_tree import ElementNode, PageTree

ELLIPSIS = "…"
_MAX_INDENT = 12
_INDENTS = tuple(" " * depth for depth in range(_MAX_INDENT + 1))
_BOOLEAN_ATTRIBUTES = frozenset({"checked", "selected", "disabled"})
_HAS_DIGIT = re.compile(r"\d")
_ASCII_DIGITS = b"0123456789"


@dataclass(frozen=True)
class PageDetail:
    """How much of each named element to render.

    Attributes:
        label_chars: Longest label (element text) kept, ellipsis included; 0 renders names only.
        attr_chars: Longest attribute value kept; 0 drops every attribute but ``name``.
        free_text_chars: Total characters of free-text lines (text that follows a named child, or
            lies outside every named element); 0 drops them.
    """

    label_chars: int = 80
    attr_chars: int = 40
    free_text_chars: int = 2000


#: The detail levels the renderer steps down through, richest first. The last is names only.
DETAIL_LEVELS: tuple[PageDetail, ...] = (
    PageDetail(80, 40, 2000),
    PageDetail(40, 24, 600),
    PageDetail(16, 0, 0),
    PageDetail(0, 0, 0),
)
NAMES_ONLY = DETAIL_LEVELS[-1]


def _has_digit(text: str) -> bool:
    if text.isascii():  # the common case, without the regex engine's per-character Unicode test
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_DIGITS)) != len(data)
    return _HAS_DIGIT.search(text) is not None


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def _quote(value: str) -> str:
    # Names are copied verbatim by the model, so never escape them: pick a free quote instead.
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


@dataclass(frozen=True)
class CompressedPage:
    """One page rendered as a compact outline.

    Attributes:
        text: The outline (simplified HTML, one named element or free-text line per line,
            nesting kept by closing tags and a one-space indent per level).
        names: Every non-empty ``name`` on the page, in page order, first occurrence kept.
        input_names: Names of text-entry elements (text inputs, text areas, search boxes).
        chars_in: Length of the source HTML.
        chars_out: Length of ``text``.
        detail: The detail level used.
        element_count: Named elements in the outline (collapsed duplicates not counted).
        elements_omitted: Elements left out by a ``max_elements`` cap (0 when uncapped).
        collapsed_duplicates: Named elements not rendered because an identical subtree precedes.
        outline: The parsed page, for re-rendering without parsing again.
    """

    text: str
    names: tuple[str, ...]
    input_names: tuple[str, ...]
    chars_in: int
    chars_out: int
    detail: PageDetail
    element_count: int
    elements_omitted: int = 0
    collapsed_duplicates: int = 0
    outline: "PageOutline | None" = field(default=None, repr=False, compare=False)

    @property
    def ratio(self) -> float:
        """``chars_out / chars_in`` (0 for an empty page)."""
        return self.chars_out / self.chars_in if self.chars_in else 0.0

    def at_detail(self, detail: PageDetail, max_elements: int | None = None) -> "CompressedPage":
        """The same page at another detail level, optionally capped to ``max_elements``."""
        if self.outline is None:
            raise ValueError("this CompressedPage was built without its outline")
        return self.outline.render(detail, max_elements=max_elements)


class PageOutline(PageTree):
    """A parsed page (:class:`~customer_env.prompt.html_tree.PageTree`) that renders itself at any
    detail level.

    Args:
        html: The page's simplified HTML (str or UTF-8 bytes). Empty or unparsable input gives an
            empty outline, never an exception.
    """

    def __init__(self, html: str | bytes | None) -> None:
        super().__init__(html)
        # The text of whole renderings by detail level: a page stays in a session's history for
        # every later step, which renders it again at the same level each time. (Texts, not
        # CompressedPages: those point back here, and a cycle would wait for the garbage collector.)
        self._texts: dict[PageDetail, str] = {}

    def render(self, detail: PageDetail = DETAIL_LEVELS[0], *, max_elements: int | None = None) -> CompressedPage:
        """Render the outline (a whole rendering is computed once per detail level, then reused).

        Args:
            detail: How much of each element to show.
            max_elements: Render only the first ``max_elements`` named elements in page order and
                end with ``<!-- N elements omitted to fit the budget -->``. None renders all.
        """
        omitted = 0
        if max_elements is None:
            text = self._texts.get(detail)
            if text is None:
                text = self._texts[detail] = self._render_text(detail, None)[0]
        else:
            text, omitted = self._render_text(detail, max_elements)
        return CompressedPage(
            text=text, names=self.names, input_names=self.input_names, chars_in=self.chars_in,
            chars_out=len(text), detail=detail, element_count=self.element_count,
            elements_omitted=omitted, collapsed_duplicates=self.collapsed_duplicates, outline=self,
        )

    def _render_text(self, detail: PageDetail, max_elements: int | None) -> tuple[str, int]:
        """The rendered text and how many elements ``max_elements`` left out."""
        label_chars, attr_chars = detail.label_chars, detail.attr_chars
        free_left = detail.free_text_chars
        capped = max_elements is not None
        lines: list[str] = []
        rendered = omitted = 0
        seen_free: set[str] = set()
        # Without free text (past pages, tight levels) its lines are not even put on the stack.
        elements_only = free_left <= 0 or label_chars <= 0
        # (item, depth); a string at depth -1 is a closing tag, already written out.
        stack: list[tuple[Union[ElementNode, str], int]] = [
            (c, 0) for c in reversed(self.root.children) if not (elements_only and isinstance(c, str))
        ]
        while stack:
            item, depth = stack.pop()
            indent = _INDENTS[min(depth, _MAX_INDENT)]
            if isinstance(item, str):
                if depth < 0:
                    lines.append(item)
                    continue
                if free_left <= 0 or label_chars <= 0 or (capped and rendered >= max_elements):  # type: ignore[operator]
                    continue
                text = " ".join(item.split())
                if not text or text in seen_free:
                    continue
                if not _has_digit(text):  # repeats with digits (prices, ratings) are information
                    seen_free.add(text)
                shown = _shorten(_shorten(text, label_chars), free_left)
                free_left -= len(shown)
                lines.append(indent + shown)
                continue
            if item.duplicate:
                continue
            if capped and rendered >= max_elements:  # type: ignore[operator]
                omitted += item.weight
                continue
            rendered += 1
            tag = item.tag
            attributes = self._attributes(item, detail) if attr_chars > 0 and item.attrs else ""
            head = f"{indent}<{tag} name={_quote(item.name)}{attributes}>"
            label = _shorten(item.label(), label_chars) if label_chars > 0 else ""
            kids = item.children  # named children and the free text between them
            if kids:
                lines.append(head + label)
                stack.append((f"{indent}</{tag}>", -1))
                depth += 1
                stack.extend([(c, depth) for c in reversed(kids)
                              if not (elements_only and isinstance(c, str))])
            elif label:
                lines.append(f"{head}{label}</{tag}>")
            else:
                lines.append(head[:-1] + "/>")
        if omitted:
            lines.append(f"<!-- {omitted} elements omitted to fit the budget -->")
        return "\n".join(lines), omitted

    @staticmethod
    def _attributes(node: ElementNode, detail: PageDetail) -> str:
        if detail.attr_chars <= 0 or not node.attrs:
            return ""
        label = node.label()
        out = []
        for key, value in node.attrs:
            if key in _BOOLEAN_ATTRIBUTES:
                out.append(f" {key}")
            elif value and value not in label:  # an aria-label repeating the text costs tokens for nothing
                out.append(f" {key}={_quote(_shorten(value, detail.attr_chars))}")
        return "".join(out)


def outline_page(html: str | bytes | None) -> PageOutline:
    """Parse a page once; render it with :meth:`PageOutline.render` at any detail level."""
    return PageOutline(html)


def compress_page(html: str | bytes | None, detail: PageDetail | None = None, *,
                  label_chars: int | None = None) -> CompressedPage:
    """Compress a page's simplified HTML into a compact outline of its named elements.

    Args:
        html: The page (``simplified_html``). Empty, None or malformed input never raises; an
            empty page gives an empty :class:`CompressedPage`.
        detail: Detail level; defaults to the richest of :data:`DETAIL_LEVELS`.
        label_chars: Shortcut to override ``detail.label_chars`` (0 = names only).

    Returns:
        The :class:`CompressedPage`; its ``outline`` re-renders at other detail levels cheaply.

    Example:
        >>> compress_page('<input name="nav_bar.search_input" type="text">').input_names
        ('nav_bar.search_input',)
        >>> compress_page("").text
        ''
    """
    chosen = detail or DETAIL_LEVELS[0]
    if label_chars is not None:
        chosen = replace(chosen, label_chars=label_chars)
    return PageOutline(html).render(chosen)
