"""Parse simplified HTML into the tree of its named elements (the input of :mod:`.page`).

Every element with a non-empty ``name`` becomes an :class:`ElementNode` under its nearest named
ancestor; every piece of text goes to the nearest named ancestor: into its label when no named
child precedes it, else as a free-text child at its position (outside every named element, as a
free-text child of the root). Identical repeated named subtrees are marked as duplicates.

Only the *skeleton* (the named elements and their ancestors, found by one XPath query) is walked
element by element in Python; a subtree without named elements is read with ``itertext()``, and
only until the node it feeds can take no more text. No pure-Python DOM is built.

Example:
    >>> tree = PageTree('<div name="a">x<b name="a.b">y</b></div>')
    >>> tree.names, tree.root.children[0].label(), tree.element_count
    (('a', 'a.b'), 'x', 2)
"""

from __future__ import annotations

from collections.abc import Iterable
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
#: Every element that has a ``name`` attribute and their ancestors, in document order. (Starting
#: from the attributes is twice as fast in libxml2 as ``//*[@name]``, which tests every element.)
_SKELETON = etree.XPath("descendant-or-self::*/@name/ancestor-or-self::*")
_ELEMENT = etree._Element  # what the parser makes of a tag (comments and PIs are subclasses)


class ElementNode:
    """A named element (or the page root, with an empty tag): its label text and named children.

    ``children`` holds named child nodes and, in page order between them, the text that follows
    a named child (text before the first one is the element's own label, ``parts``).
    ``weight`` is how many named elements render for this subtree (0 for a duplicate).
    Both are lists while the page is parsed, and tuples once the node is finished (:meth:`freeze`).
    """

    __slots__ = ("tag", "name", "attrs", "parts", "size", "children", "duplicate", "weight", "_label")

    def __init__(self, tag: str, name: str, attrs: tuple[tuple[str, str], ...]) -> None:
        self.tag = tag
        self.name = name
        self.attrs = attrs
        self.parts: list[str] | tuple[str, ...] = []
        self.size = 0
        self.children: list[Union[ElementNode, str]] | tuple[Union[ElementNode, str], ...] = []
        self.duplicate = False
        self.weight = 0  # rendered named elements in this subtree (itself included)
        self._label: str | None = None

    def add_text(self, text: str) -> None:
        if self.size < _STORED_TEXT_CHARS:
            self.parts.append(text)
            self.size += len(text)
            self._label = None

    def label(self) -> str:
        # Computed once: duplicate marking and every rendering of the page read it again.
        label = self._label
        if label is None:
            label = self._label = " ".join(" ".join(self.parts).split())[:_STORED_TEXT_CHARS]
        return label

    def freeze(self) -> None:
        """Finish the node: its text and children become tuples.

        Besides making a parsed page read-only, this spares the garbage collector: an outline
        stays cached for a whole session, and two lists per node made it scan them over and over.
        """
        self.parts = tuple(self.parts)
        self.children = tuple(self.children)


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
        self.root.weight = 1
        tree = _parse(html)
        if tree is not None:
            builder = _Builder(self.root)
            builder.build(tree)
            self.names = tuple(builder.names)
            self.input_names = tuple(builder.inputs)
            self.root.weight = 1 + builder.totals[0][0]
            self.collapsed_duplicates = builder.totals[0][2]
        self.root.freeze()
        self.element_count = self.root.weight - 1


class _Builder:
    """One walk over a parsed page's skeleton, filling ``root``.

    A named node is finished when its element closes: its label and children are final then, so
    its signature (tag, name, attributes, label, children's signatures and free text, interned as
    an int), duplicate flag, weight and collapsed count are set there. Two nodes with the same
    signature are disjoint subtrees, so the first to close is also the first in page order: the
    one that is kept.
    """

    def __init__(self, root: ElementNode) -> None:
        self.root = root
        self.nodes = [root]  # open named nodes, innermost last
        # Per open node, over its finished named children: [weights, named elements, collapsed].
        self.totals = [[0, 0, 0]]
        self.names: dict[str, None] = {}
        self.inputs: dict[str, None] = {}
        self.next_signature = 0
        self.signature_of: dict[int, int] = {}  # id(node) -> its interned signature
        # name -> (the only node of that name so far, its signature), or {key: signature}
        self.by_name: dict[str, Union[tuple[ElementNode, int], dict[tuple, int]]] = {}

    def build(self, tree: etree._Element) -> None:
        etree.strip_elements(tree, *_DROPPED_TAGS, with_tail=False)
        # The skeleton: elements with a name attribute and their ancestors (one blank name
        # brings in ancestors that need not be walked one by one, which changes nothing).
        # Holding their proxies keeps them alive, so lxml hands back these same objects while
        # iterating, and membership is by identity.
        skeleton = _SKELETON(tree)
        named = {el: name for el in skeleton if (name := el.get("name")) and name.strip()}
        skeleton = set(skeleton)
        skeleton.add(tree)
        root, nodes, open_element = self.root, self.nodes, self._open
        open_element(tree, named.get(tree))
        stack = [(tree, iter(tree))]
        while stack:
            el, children = stack[-1]
            for child in children:
                if child in skeleton:
                    open_element(child, named.get(child))
                    stack.append((child, iter(child)))
                    break
                # A subtree without named elements only feeds text to the open node; once that
                # node is full, nothing more it holds (nor its tail) can change it.
                target = nodes[-1]
                if _is_full(target, root):
                    continue
                if child.__class__ is _ELEMENT and not len(child):  # most are leaves: one text
                    text = child.text
                    if text:
                        _add_text(target, root, text)
                elif child.__class__ is _ELEMENT or isinstance(child.tag, str):
                    _add_texts(target, root, child.itertext())  # (a comment has no itertext)
                tail = child.tail
                if tail:
                    _add_text(target, root, tail)
            else:
                stack.pop()
                if el in named:
                    self._close()
                tail = el.tail
                if tail:
                    _add_text(nodes[-1], root, tail)

    def _open(self, el: etree._Element, name: str | None) -> None:
        """Enter a skeleton element: a named one becomes the open node; its own text follows."""
        nodes = self.nodes
        if name is not None:
            tag = el.tag
            items = el.items()
            if len(items) > 1:
                node = ElementNode(tag, name, _kept_attributes(items))
                is_input = _is_input(tag, el)
            else:  # the name alone: no attribute to keep, and only the tag can make it an input
                node = ElementNode(tag, name, ())
                is_input = tag in _INPUT_TAGS
            nodes[-1].children.append(node)
            nodes.append(node)
            self.totals.append([0, 0, 0])
            self.names.setdefault(name, None)
            if is_input:
                self.inputs.setdefault(name, None)
        text = el.text
        if text:
            _add_text(nodes[-1], self.root, text)

    def _close(self) -> None:
        node = self.nodes.pop()
        node.freeze()
        weights, sizes, collapsed = self.totals.pop()
        size = 1 + sizes
        signature = self._signature(node)
        if signature is None:
            signature = self.next_signature
            self.next_signature += 1
            node.weight = 1 + weights
        else:
            node.duplicate = True
            collapsed = size  # the whole subtree, counted once even if duplicates nest in it
        self.signature_of[id(node)] = signature
        parent = self.totals[-1]
        parent[0] += node.weight
        parent[1] += size
        parent[2] += collapsed

    def _signature(self, node: ElementNode) -> int | None:
        """The signature of an earlier node identical to ``node``, or None (then ``node`` is new).

        Identical nodes share their name, and most names occur once: the full signature of a
        node is only computed once a second node with its name closes.
        """
        seen = self.by_name.get(node.name)
        if seen is None:
            self.by_name[node.name] = (node, self.next_signature)
            return None
        if isinstance(seen, tuple):  # the one earlier node of that name: key it now
            first, first_signature = seen
            seen = self.by_name[node.name] = {self._key(first): first_signature}
        key = self._key(node)
        signature = seen.get(key)
        if signature is None:
            seen[key] = self.next_signature
        return signature

    def _key(self, node: ElementNode) -> tuple:
        signature_of = self.signature_of
        kids = tuple([signature_of[id(c)] if c.__class__ is ElementNode else c for c in node.children])
        return (node.tag, node.name, node.attrs, node.label(), kids)


def _is_full(node: ElementNode, root: ElementNode) -> bool:
    """Whether no more text can change ``node`` until its next named child (see ``_add_text``)."""
    children = node.children
    if not children:
        return node is not root and node.size >= _STORED_TEXT_CHARS
    last = children[-1]
    return last.__class__ is str and len(last) >= _STORED_TEXT_CHARS


def _add_texts(node: ElementNode, root: ElementNode, texts: Iterable[str]) -> None:
    """``_add_text`` for each of ``texts`` in turn; stops reading them once ``node`` is full."""
    for text in texts:
        if text:
            _add_text(node, root, text)
            if _is_full(node, root):
                break


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


def _kept_attributes(items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, " ".join(value.split())[:_STORED_TEXT_CHARS])
        for key, value in items
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
    except ValueError:  # a str with an XML encoding declaration: lxml wants bytes for those
        return _parse(html.encode("utf-8")) if isinstance(html, str) else None
    except etree.LxmlError:
        return None
