"""Put back what the boilerplate heuristics left out between two paragraphs they kept.

trafilatura judges each block on its own, and drops some that a reader sees as part of the
story: pictures, and a gallery's or list article's numbered headings. When such a block
sits in the page *between* two paragraphs that the body kept, inside the element that holds
them all, the evidence says it belongs to the story: it is copied back, in place, just
before the kept paragraph that follows it. Blocks before the first or after the last kept
paragraph (bylines, "related" boxes, comments) are never touched, nor blocks that are
mostly links, nor pictures whose ``src`` is still a lazy loader's ``data:`` placeholder.

A heading comes back only from an item of a list: an element that holds a kept paragraph
and repeats the class of at least ``list_items - 1`` siblings (a gallery's slides). A
subheading that trafilatura dropped from a plain story, a caption or a table is, on the
benchmark pages, as often a teaser as story, and the benchmark's cross-validation says
putting them back costs more than it gains.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import lxml.html
from lxml.html import HtmlElement

from mirror.transform.reader.params import DEFAULT_PARAMS, HEADINGS, TEXT_BLOCKS, ExtractParams
from mirror.transform.reader.tidy import link_density, normal

_CANDIDATES = (*HEADINGS, "img")
_IMAGE_ATTRIBUTES = ("src", "srcset", "alt", "width", "height")


Paragraphs = list[tuple[HtmlElement, str]]


def page_paragraphs(page: HtmlElement) -> Paragraphs:
    """The page's ``<p>`` elements with their texts, whitespace folded: read once, since
    reading every paragraph's text is a good part of the cost of the stages that use them."""
    return [(p, normal(p.text_content())) for p in page.iter("p")]


def restore_left_out(
    paragraphs: Paragraphs, body: HtmlElement, params: ExtractParams = DEFAULT_PARAMS
) -> int:
    """Copy back into ``body`` the page's blocks that lie between two kept paragraphs
    (``paragraphs``: ``page_paragraphs(page)``, which the reader reads once for its stages).
    """
    kept: dict[str, HtmlElement] = {}
    for block in body.iter(*TEXT_BLOCKS):
        text = normal(block.text_content())
        if len(text) >= params.prose_chars:
            kept.setdefault(text, block)
    anchors = {p: kept[t] for p, t in paragraphs if t in kept}
    holder = _common_ancestor(list(anchors))
    if holder is None:
        return 0
    pending: list[HtmlElement] = []
    restored = 0
    # Read only when a block is worth checking against it: most pages have none.
    have_text = functools.cache(lambda: normal(body.text_content()))
    have_images = _sources(body)
    seen_anchor = False
    for element in holder.iterdescendants(*_CANDIDATES, "p"):
        target = anchors.get(element)
        if target is not None:
            restored += _insert_before(target, pending) if seen_anchor else 0
            pending, seen_anchor = [], True
        elif seen_anchor and _left_out(element, anchors, have_text, have_images, params):
            pending.append(element)
    return restored


def _left_out(
    element: HtmlElement,
    anchors: dict[HtmlElement, HtmlElement],
    text: Callable[[], str],
    images: set[str],
    params: ExtractParams,
) -> bool:
    """A picture the body lacks, or a block of a list item whose text the body (``text``)
    lacks and that is not mostly links."""
    if any(a in anchors for a in element.iterancestors()):
        return False
    if element.tag == "img":
        src = element.get("src") or ""
        return bool(src) and not src.startswith("data:") and src not in images
    item = element.getparent()
    if item is None or not _is_list_item(item, anchors, params.list_items):
        return False
    own = normal(element.text_content())
    return bool(own) and own not in text() and link_density(element) < params.max_link_density


def _is_list_item(
    item: HtmlElement, anchors: dict[HtmlElement, HtmlElement], list_items: int
) -> bool:
    """An element holding a kept paragraph, whose class ``list_items - 1`` siblings repeat."""
    name, parent = item.get("class"), item.getparent()
    if not name or parent is None or not any(p in anchors for p in item.iter("p")):
        return False
    return sum(1 for s in parent if s.get("class") == name) >= list_items


def _insert_before(target: HtmlElement, blocks: list[HtmlElement]) -> int:
    inserted = 0
    for block in blocks:
        if any(b in blocks for b in block.iterancestors()):
            continue
        target.addprevious(_clean_copy(block))
        inserted += 1
    return inserted


def _clean_copy(block: HtmlElement) -> HtmlElement:
    if block.tag == "img":
        image = lxml.html.Element("img")
        for name in _IMAGE_ATTRIBUTES:
            if block.get(name):
                image.set(name, block.get(name) or "")
        return image
    piece = copy.deepcopy(block)
    piece.tail = None
    piece.attrib.clear()
    for node in list(piece.iter("script", "style", "noscript", "form", "button")):
        if node is not piece:
            node.drop_tree()
    return piece


def _sources(body: HtmlElement) -> set[str]:
    return {img.get("src") or "" for img in body.iter("img")}


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement | None:
    if len(elements) < 2:
        return None
    common = list(elements[0].iterancestors())
    for element in elements[1:]:
        ancestors = set(element.iterancestors())
        common = [a for a in common if a in ancestors]
    return common[0] if common else None
