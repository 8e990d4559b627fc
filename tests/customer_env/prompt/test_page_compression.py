"""compress_page: every named element survives, the rest shrinks, nothing raises."""

from __future__ import annotations

import re
import time

import pytest
from lxml import html as lxml_html

from customer_env.prompt.page import (
    DETAIL_LEVELS,
    ELLIPSIS,
    NAMES_ONLY,
    PageDetail,
    compress_page,
    outline_page,
)
from opera_pages import CART_PAGE, LONG_SLUG, PRODUCT_PAGE, SEARCH_PAGE, SEARCH_PAGE_NAMES


def _names_in_text(text: str) -> list[str]:
    return re.findall(r' name="([^"]*)"', text)


def test_names_are_every_named_element_in_page_order_without_duplicates():
    page = compress_page(SEARCH_PAGE)
    assert page.names == SEARCH_PAGE_NAMES
    assert "" not in page.names
    product = compress_page(PRODUCT_PAGE)
    assert product.names.count("nav_bar.search_input") == 1


@pytest.mark.parametrize("html", [SEARCH_PAGE, PRODUCT_PAGE, CART_PAGE])
@pytest.mark.parametrize("detail", DETAIL_LEVELS)
def test_every_name_is_in_the_text_at_every_detail_level(html, detail):
    page = compress_page(html, detail)
    assert set(_names_in_text(page.text)) == set(page.names)
    # The same name set as an independent lxml query finds.
    expected = {n for n in lxml_html.fromstring(html).xpath("//*/@name") if n.strip()}
    assert set(page.names) == expected


def test_long_names_are_kept_whole():
    page = compress_page(SEARCH_PAGE, NAMES_ONLY)
    assert len(LONG_SLUG) > 300
    assert f'name="4_stars_and_above.{LONG_SLUG}.product_title"' in page.text


def test_unnamed_text_joins_the_nearest_named_ancestor():
    text = compress_page(SEARCH_PAGE).text
    lines = text.splitlines()
    card = next(i for i, line in enumerate(lines) if f'name="4_stars_and_above.{LONG_SLUG}"' in line)
    # Text after the card's named title stays right after the title, inside the card.
    assert f"{LONG_SLUG}.product_title" in lines[card + 1]
    assert lines[card + 2] == "  4.6 out of 5 stars (1,234) $ 139 .99"
    assert lines[card + 3] == " </div>"
    aroma = next(line for line in text.splitlines() if "aroma_housewares" in line)
    assert aroma.strip().endswith(">Aroma Housewares ARC-914SBD $29.99</div>")


def test_nesting_is_kept_and_wrappers_are_dropped():
    text = compress_page(SEARCH_PAGE).text
    lines = text.splitlines()
    start = lines.index('<div name="nav_bar" role="navigation" aria-label="Primary">')
    assert lines[start + 1] == ' <div name="nav_bar.homepage">Homepage</div>'
    assert "</div>" in lines[start + 1:]
    assert "<form" not in text and "<h2" not in text and "<span" not in text


def test_scripts_styles_and_comments_are_dropped():
    text = compress_page(SEARCH_PAGE).text
    for leaked in ("window.ue", "color: red", "a comment that must vanish"):
        assert leaked not in text


def test_free_text_outside_named_elements_is_kept_once():
    text = compress_page(SEARCH_PAGE).text
    assert 'results for "rice cooker"' in text
    assert text.count("Conditions of Use") == 1
    assert "Conditions of Use" not in compress_page(SEARCH_PAGE, DETAIL_LEVELS[2]).text


def test_labels_are_shortened_with_an_ellipsis_and_names_only_has_none():
    detail = PageDetail(label_chars=12, attr_chars=10, free_text_chars=0)
    text = compress_page(SEARCH_PAGE, detail).text
    title = next(line for line in text.splitlines() if f"{LONG_SLUG}.product_title" in line)
    label = title.split(">", 1)[1].rsplit("</", 1)[0]
    assert len(label) <= 12 and label.endswith(ELLIPSIS)
    names_only = compress_page(SEARCH_PAGE, NAMES_ONLY).text
    assert "Tiger" not in names_only and "aria-label" not in names_only
    assert compress_page(SEARCH_PAGE, label_chars=0).text.count("Tiger") == 0


def test_attributes_are_kept_short_and_not_repeated():
    text = compress_page(SEARCH_PAGE).text
    assert '<input name="nav_bar.search_input" type="text" aria-label="Search Amazon" value="rice cooker"/>' in text
    assert 'aria-label="2 items in cart"' in text
    product = compress_page(PRODUCT_PAGE).text
    assert '<li name="product_options.color.button_list.stainless" aria-selected="true">Stainless</li>' in product


def test_identical_repeated_subtrees_are_collapsed_and_counted():
    page = compress_page(PRODUCT_PAGE)
    assert page.collapsed_duplicates == 3  # the repeated nav bar and its two children
    assert page.text.count('name="nav_bar.search_input"') == 1
    assert page.element_count == len(_names_in_text(page.text))


def test_same_name_with_different_content_is_kept_twice():
    html = '<a name="pagination.next">Next</a><p>x</p><a name="pagination.next">Next page</a>'
    page = compress_page(html)
    assert page.text.count('name="pagination.next"') == 2 and page.collapsed_duplicates == 0


def test_input_names_are_text_entry_elements_only():
    assert compress_page(SEARCH_PAGE).input_names == ("nav_bar.search_input",)
    assert compress_page('<div name="q" role="searchbox"></div><textarea name="t"></textarea>').input_names == ("q", "t")


def test_max_elements_keeps_the_first_elements_closes_tags_and_marks_the_rest():
    outline = outline_page(SEARCH_PAGE)
    capped = outline.render(NAMES_ONLY, max_elements=3)
    assert _names_in_text(capped.text) == list(SEARCH_PAGE_NAMES[:3])
    assert capped.elements_omitted == outline.element_count - 3
    assert capped.text.endswith(f"<!-- {capped.elements_omitted} elements omitted to fit the budget -->")
    assert capped.text.count("<div name=\"nav_bar\"") == capped.text.count("</div>")
    assert outline.render(NAMES_ONLY, max_elements=0).elements_omitted == outline.element_count


@pytest.mark.parametrize("html", [
    "", None, b"", "   ", "<", "</div>", "plain text only", "<!-- only a comment -->", b"\xff\xfe\x00",
    '<?xml version="1.0" encoding="utf-8"?><div name="a">x</div>',
    '<div name="a"><span name="b">unclosed <p>tags <div name="c">',
    "<div>" * 3000 + '<a name="deep">x</a>' + "</div>" * 3000,
    '<div name="   ">blank name</div>',
])
def test_malformed_or_empty_input_never_raises(html):
    page = compress_page(html)
    assert isinstance(page.text, str)
    if not html or not str(html).strip():
        assert page.text == "" and page.names == () and page.element_count == 0
    assert set(_names_in_text(page.text)) == set(page.names)


def test_unclosed_tags_still_give_every_name():
    page = compress_page('<div name="a"><span name="b">unclosed <p>tags <div name="c">')
    assert page.names == ("a", "b", "c")


def test_compression_is_deterministic(big_page):
    assert compress_page(big_page).text == compress_page(big_page).text


def test_big_page_compresses_well_and_fast(big_page):
    assert len(big_page) >= 100_000
    compress_page(big_page)  # warm-up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        page = compress_page(big_page)
        times.append(time.perf_counter() - start)
    expected = {n for n in lxml_html.fromstring(big_page).xpath("//*/@name") if n.strip()}
    assert set(page.names) == expected
    assert set(_names_in_text(page.text)) == expected
    names_only = page.at_detail(NAMES_ONLY)
    print(f"\n100k page: {len(big_page)} chars -> {page.chars_out} ({page.ratio:.2f}) full detail, "
          f"{names_only.chars_out} names only; {len(page.names)} names; "
          f"median {1000 * sorted(times)[2]:.1f} ms")
    assert page.ratio < 0.5
    assert names_only.chars_out < page.chars_out
