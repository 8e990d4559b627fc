"""PageTree: the skeleton walk gives the tree its definition gives, and keeps what it promises.

The builder only walks named elements and their ancestors one by one and stops reading text once
a label is full; ``reference_tree`` below is the definition written the slow, obvious way (every
element visited, every text routed to its nearest named ancestor, duplicates found by comparing
whole subtrees). The two must agree on every page, including random ones.
"""

from __future__ import annotations

import gc
import random
import weakref

import pytest
from lxml import etree

from customer_env.prompt import DETAIL_LEVELS, HISTORY_DETAIL, outline_page
from customer_env.prompt.html_tree import KEPT_ATTRIBUTES, PageTree, _parse
from opera_pages import CART_PAGE, PRODUCT_PAGE, SEARCH_PAGE

LIMIT = 400  # characters of text a node stores (html_tree._STORED_TEXT_CHARS)
NON_TEXT_TYPES = ("submit", "button", "checkbox", "radio", "image", "hidden", "reset", "file", "color", "range")


class RefNode:
    def __init__(self, tag: str, name: str, attrs: tuple) -> None:
        self.tag, self.name, self.attrs = tag, name, attrs
        self.parts: list[str] = []
        self.children: list = []

    def add(self, text: str, is_root: bool) -> None:
        if not is_root and not self.children:
            if sum(map(len, self.parts)) < LIMIT:
                self.parts.append(text)
        elif self.children and isinstance(self.children[-1], str):
            if len(self.children[-1]) < LIMIT:
                self.children[-1] = (self.children[-1] + " " + text)[:LIMIT]
        elif not text.isspace():
            self.children.append(text[:LIMIT])

    def label(self) -> str:
        return " ".join(" ".join(self.parts).split())[:LIMIT]

    def signature(self) -> tuple:
        kids = tuple(c.signature() if isinstance(c, RefNode) else c for c in self.children)
        return (self.tag, self.name, self.attrs, self.label(), kids)


def reference_tree(html: str) -> tuple:
    """(names, input names, element count, collapsed duplicates, dump of the tree), by definition."""
    root = RefNode("", "", ())
    names: dict[str, None] = {}
    inputs: dict[str, None] = {}
    tree = _parse(html)

    def visit(el: etree._Element, node: RefNode) -> None:
        name = el.get("name")
        if name and name.strip():
            attrs = tuple((k, " ".join(v.split())[:LIMIT]) for k, v in el.items() if k in KEPT_ATTRIBUTES)
            child = RefNode(el.tag, name, attrs if len(el.attrib) > 1 else ())
            node.children.append(child)
            node = child
            names.setdefault(name, None)
            if el.tag in ("input", "textarea"):
                is_input = el.tag == "textarea" or (el.get("type") or "text").lower() not in NON_TEXT_TYPES
            else:
                is_input = ((el.get("role") or "").lower() in ("searchbox", "textbox", "combobox")
                            or el.get("contenteditable") in ("", "true"))
            if is_input:
                inputs.setdefault(name, None)
        if el.text:
            node.add(el.text, node is root)
        for sub in el:
            visit(sub, node)
            if sub.tail:
                node.add(sub.tail, node is root)

    if tree is not None:
        etree.strip_elements(tree, "script", "style", "noscript", "template", with_tail=False)
        visit(tree, root)
    seen: set[tuple] = set()
    duplicate: set[int] = set()
    order: list[RefNode] = []

    def preorder(node: RefNode) -> None:
        for c in node.children:
            if isinstance(c, RefNode):
                order.append(c)
                preorder(c)

    preorder(root)
    for node in order:
        sig = node.signature()
        if sig in seen:
            duplicate.add(id(node))
        seen.add(sig)

    def size(node: RefNode) -> int:
        return 1 + sum(size(c) for c in node.children if isinstance(c, RefNode))

    def weight(node: RefNode) -> int:
        if id(node) in duplicate:
            return 0
        return 1 + sum(weight(c) for c in node.children if isinstance(c, RefNode))

    def collapsed(node: RefNode) -> int:
        return sum(size(c) if id(c) in duplicate else collapsed(c) for c in node.children if isinstance(c, RefNode))

    def dump(node: RefNode) -> tuple:
        kids = tuple(dump(c) if isinstance(c, RefNode) else c for c in node.children)
        return (node.tag, node.name, node.attrs, node.label(), id(node) in duplicate, weight(node), kids)

    return tuple(names), tuple(inputs), weight(root) - 1, collapsed(root), dump(root)


def named_nodes(node):
    for child in node.children:
        if not isinstance(child, str):
            yield child
            yield from named_nodes(child)


def tree_facts(tree: PageTree) -> tuple:
    def dump(node) -> tuple:
        kids = tuple(dump(c) if not isinstance(c, str) else c for c in node.children)
        return (node.tag, node.name, node.attrs, node.label(), node.duplicate, node.weight, kids)

    return tree.names, tree.input_names, tree.element_count, tree.collapsed_duplicates, dump(tree.root)


_WORDS = ["", " ", "\n  ", "Add to cart", "$", "12.99", "4.5 out of 5", "word " * 60, "a" * 450, "&amp; é…"]
_TAGS = ["div", "span", "a", "b", "p", "li", "input", "textarea", "script", "template", "td", "br"]


def random_page(rng: random.Random, depth: int = 0) -> str:
    """A random fragment: text, named and unnamed elements, repeated subtrees, blank names."""
    out = []
    for _ in range(rng.randint(0, 4 if depth < 5 else 1)):
        roll = rng.random()
        if roll < 0.3:
            out.append(rng.choice(_WORDS) * rng.randint(1, 3))
        elif roll > 0.9 and depth < 5:
            out.append(random_page(rng, depth + 1) * rng.randint(2, 3))  # identical siblings
        else:
            tag = rng.choice(_TAGS)
            attrs = ""
            if rng.random() < 0.4:
                attrs += f' name="{rng.choice(["n1", "n2", "n3", "", "  ", "list.item"])}"'
            if rng.random() < 0.2:
                attrs += f' type="{rng.choice(["text", "submit", "Checkbox"])}" aria-label="{rng.choice(_WORDS[3:6])}"'
            if rng.random() < 0.1:
                attrs += rng.choice([' role="searchbox"', " checked", " contenteditable"])
            inner = random_page(rng, depth + 1) if depth < 7 else rng.choice(_WORDS)
            out.append(f"<{tag}{attrs}>{inner}</{tag}>")
    return "".join(out)


@pytest.mark.parametrize("html", [SEARCH_PAGE, PRODUCT_PAGE, CART_PAGE])
def test_hand_made_pages_match_the_definition(html):
    assert tree_facts(PageTree(html)) == reference_tree(html)


def test_a_big_page_matches_the_definition(big_page):
    assert tree_facts(PageTree(big_page)) == reference_tree(big_page)


def test_random_pages_match_the_definition():
    rng = random.Random(20240611)
    checked = with_duplicates = with_full_labels = 0
    for _ in range(400):
        html = random_page(rng)
        if rng.random() < 0.5:
            html = f"<html><body>{html}</body></html>"
        tree = PageTree(html)
        assert tree_facts(tree) == reference_tree(html), html
        checked += 1
        with_duplicates += tree.collapsed_duplicates > 0
        with_full_labels += any(node.size >= LIMIT for node in named_nodes(tree.root))
    assert checked == 400 and with_duplicates > 20 and with_full_labels > 20  # the cases were exercised


def test_text_after_a_full_label_is_not_read_but_later_names_are():
    html = ('<div name="card"><span>' + "x" * 500 + '</span><span>never shown</span>'
            '<b name="card.title">Title</b>after the title</div>')
    card = PageTree(html).root.children[0]
    assert card.label() == "x" * LIMIT
    assert [c.name if not isinstance(c, str) else c for c in card.children] == ["card.title", "after the title"]


def test_blank_names_change_nothing_but_the_names():
    with_blank = '<div name=" "><p name="">a<span>b</span></p>c<i name="x">d</i></div>e'
    without = '<div><p>a<span>b</span></p>c<i name="x">d</i></div>e'
    assert tree_facts(PageTree(with_blank)) == tree_facts(PageTree(without))


def test_finished_nodes_are_read_only():
    root = PageTree(PRODUCT_PAGE).root
    node = root.children[0]
    assert isinstance(root.children, tuple) and isinstance(node.children, tuple) and isinstance(node.parts, tuple)


def test_nesting_deeper_than_the_python_recursion_limit():
    depth = 1500
    html = "".join(f'<div name="d{i}">{i} ' for i in range(depth)) + "</div>" * depth
    tree = PageTree(html)
    assert tree.element_count == depth and tree.names[-1] == f"d{depth - 1}"


def test_renderings_are_reused_and_leave_no_reference_cycle():
    outline = outline_page(SEARCH_PAGE)
    first = outline.render(HISTORY_DETAIL)
    again = outline.render(HISTORY_DETAIL)
    assert again.text is first.text  # rendered once
    assert outline.render(DETAIL_LEVELS[0]).text != first.text
    capped = outline.render(HISTORY_DETAIL, max_elements=2)
    assert capped.elements_omitted == outline.element_count - 2
    assert outline.render(HISTORY_DETAIL).elements_omitted == 0  # a capped rendering is not reused
    alive = weakref.ref(outline)
    gc.disable()
    try:  # freed by reference counting alone, with no garbage collection needed
        del outline, first, again, capped
        assert alive() is None
    finally:
        gc.enable()
