"""Parse simplified HTML into the tree of its named elements (the input of :mod:`.page`).

One pass of ``lxml.etree.iterwalk`` over the parsed document: every element with a non-empty
``name`` becomes an :class:`ElementNode` under its nearest named ancestor; every piece of text goes
to the nearest named ancestor: into its label when no named child precedes it, else as a free-text
child at its position (outside every named element, as a free-text child of the root). Identical repeated named subtrees are marked as duplicates. A 100k-character page takes a
few milliseconds; no pure-Python DOM is built.

Example:
    >>> tree = PageTree('<div name="a">x<b name="a.b">y</b></div>')
    >>> tree.names, tree.root.children[0].label(), tree.element_count
    (('a', 'a.b'), 'x', 2)
"""

from __future__ import annotations

from typing import Union

from lxml import etree

#: Attributes kept on named elements, in the page's order (others mean nothing to a shopper).
KEPT_ATTRIBUTES = (
    "type", "role", "aria-label", "placeholder", "value", "title", "alt",
    "checked", "selected", "disabled", "aria-checked", "aria-selected", "aria-expanded",
    "aria-current",
)
_KEPT_SET = frozenset(KEPT_ATTRIBUTES)
_DROPPED_TAGS = ("script", "style", "noscript", "template")
_INPUT_TAGS = frozenset({"input", "textarea"})
_INPUT_ROLES = frozenset({"searchbox", "textbox", "combobox"})
_NON_TEXT_INPUT_TYPES = frozenset(
    {"submit", "button", "checkbox", "radio", "image", "hidden", "reset", "file", "color", "range"}
)
#: How much text a node stores while parsing; labels are never rendered longer than this.
_STORED_TEXT_CHARS = 400


class ElementNode:
    """A named element (or the page root, with an empty tag): its label text and named children.

    ``children`` holds named child nodes and, in page order between them, the text that follows
    a named child (text before the first one is the element's own label, ``parts``).
    ``weight`` is how many named elements render for this subtree (0 for a duplicate).
    """

    __slots__ = ("tag", "name", "attrs", "parts", "size", "children", "duplicate", "weight")

    def __init__(self, tag: str, name: str, attrs: tuple[tuple[str, str], ...]) -> None:
        self.tag = tag
        self.name = name
        self.attrs = attrs
        self.parts: list[str] = []
        self.size = 0
        self.children: list[Union[ElementNode, str]] = []
        self.duplicate = False
        self.weight = 0  # rendered named elements in this subtree (itself included)

    def add_text(self, text: str) -> None:
        if self.size < _STORED_TEXT_CHARS:
            self.parts.append(text)
            self.size += len(text)

    def label(self) -> str:
        return " ".join(" ".join(self.parts).split())[:_STORED_TEXT_CHARS]


class PageTree:
    """The named elements of a page as a tree.

    Args:
        html: The page's simplified HTML (str or UTF-8 bytes). Empty or unparsable input gives an
            empty tree, never an exception.

    Attributes:
        root: The root node (tag ""), whose children are the top-level named elements and the
            free text around them.
        names: Every non-empty name, page order, first occurrence kept.
        input_names: Names of text-entry elements.
        chars_in: Length of the source.
        element_count: Named elements that render (duplicates excluded).
        collapsed_duplicates: Named elements inside subtrees identical to an earlier one.
    """

    def __init__(self, html: str | bytes | None) -> None:
        self.chars_in = len(html) if html else 0
        self.root = ElementNode("", "", ())
        self.names: tuple[str, ...] = ()
        self.input_names: tuple[str, ...] = ()
        self.collapsed_duplicates = 0
        tree = _parse(html)
        if tree is not None:
            self._build(tree)
        self.element_count = self._weigh(self.root) - 1

    def _build(self, tree: etree._Element) -> None:
        etree.strip_elements(tree, *_DROPPED_TAGS, with_tail=False)
        names: dict[str, None] = {}
        inputs: dict[str, None] = {}
        root = self.root
        nodes = [root]
        # The lxml proxies of open named elements: iterwalk hands back the same proxy object at
        # "end" while we hold a reference, so an identity test replaces a second attribute read.
        open_elements: list[etree._Element] = [tree]
        for event, el in etree.iterwalk(tree, events=("start", "end")):
            if event == "start":
                tag = el.tag
                if not isinstance(tag, str):  # a comment or PI the parser kept
                    continue
                name = el.get("name")
                if name and not name.isspace():
                    node = ElementNode(tag, name, _kept_attributes(el))
                    nodes[-1].children.append(node)
                    nodes.append(node)
                    open_elements.append(el)
                    names.setdefault(name, None)
                    if _is_input(tag, el):
                        inputs.setdefault(name, None)
                text = el.text
                if text:
                    _add_text(nodes[-1], root, text)
            else:
                if el is open_elements[-1] and len(nodes) > 1:
                    nodes.pop()
                    open_elements.pop()
                tail = el.tail
                if tail:
                    _add_text(nodes[-1], root, tail)
        self.names = tuple(names)
        self.input_names = tuple(inputs)
        self._mark_duplicates()

    def _mark_duplicates(self) -> None:
        seen: set[tuple] = set()
        signatures: dict[int, tuple] = {}
        # Post-order so a node's signature can use its children's.
        order: list[ElementNode] = []
        todo = [self.root]
        while todo:
            node = todo.pop()
            order.append(node)
            todo.extend(c for c in reversed(node.children) if isinstance(c, ElementNode))
        for node in reversed(order):
            kids = tuple(signatures[id(c)] if isinstance(c, ElementNode) else c for c in node.children)
            signatures[id(node)] = (node.tag, node.name, node.attrs, node.label(), kids)
        for node in order:  # pre-order: the first occurrence in page order wins
            if node is self.root:
                continue
            sig = signatures[id(node)]
            if sig in seen:
                node.duplicate = True
            else:
                seen.add(sig)

    def _weigh(self, node: ElementNode) -> int:
        order: list[ElementNode] = []
        todo = [node]
        while todo:
            current = todo.pop()
            order.append(current)
            todo.extend(c for c in current.children if isinstance(c, ElementNode))
        for current in reversed(order):
            if current.duplicate:
                current.weight = 0
            else:
                current.weight = 1 + sum(c.weight for c in current.children if isinstance(c, ElementNode))
        # Count each collapsed subtree once, not once more for every duplicate nested in it.
        todo = [node]
        while todo:
            current = todo.pop()
            if current.duplicate:
                self.collapsed_duplicates += _subtree_size(current)
            else:
                todo.extend(c for c in current.children if isinstance(c, ElementNode))
        return node.weight


def _subtree_size(node: ElementNode) -> int:
    total, todo = 0, [node]
    while todo:
        current = todo.pop()
        total += 1
        todo.extend(c for c in current.children if isinstance(c, ElementNode))
    return total


def _add_text(node: ElementNode, root: ElementNode, text: str) -> None:
    children = node.children
    if node is not root and not children:
        node.add_text(text)  # text before the first named child labels the element itself
        return
    # Text after a named child (or outside every named element) stays where it occurs, so a
    # price that follows a product's title is rendered next to it, not pooled in the container.
    if children and isinstance(children[-1], str):
        if len(children[-1]) < _STORED_TEXT_CHARS:
            children[-1] = (children[-1] + " " + text)[:_STORED_TEXT_CHARS]
    elif not text.isspace():
        children.append(text[:_STORED_TEXT_CHARS])


def _kept_attributes(el: etree._Element) -> tuple[tuple[str, str], ...]:
    attrib = el.attrib
    if len(attrib) <= 1:
        return ()
    return tuple(
        (key, " ".join(value.split())[:_STORED_TEXT_CHARS])
        for key, value in attrib.items()
        if key in _KEPT_SET
    )


def _is_input(tag: str, el: etree._Element) -> bool:
    if tag in _INPUT_TAGS:
        return tag != "input" or (el.get("type") or "text").lower() not in _NON_TEXT_INPUT_TYPES
    return (el.get("role") or "").lower() in _INPUT_ROLES or el.get("contenteditable") in ("", "true")


_PARSER = etree.HTMLParser(
    remove_comments=True, remove_pis=True, no_network=True, recover=True, huge_tree=True
)


def _parse(html: str | bytes | None) -> etree._Element | None:
    if not html:
        return None
    try:
        return etree.fromstring(html, _PARSER)
    except ValueError:
        # A str with an XML encoding declaration: lxml wants bytes for those.
        if isinstance(html, str):
            try:
                return etree.fromstring(html.encode("utf-8"), _PARSER)
            except (ValueError, etree.LxmlError):
                return None
        return None
    except etree.LxmlError:
        return None
