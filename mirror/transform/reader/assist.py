"""Helping trafilatura before and after it reads a page.

Before: social embeds (tweets, Instagram posts) lose the wrapper classes that make it throw
them away, since a quoted post is part of the story. After: continuation chunks, elements
that repeat the class of the element holding the chosen paragraphs (stories cut into several
``body`` blocks), are added back.
"""

from __future__ import annotations

import copy

from lxml.html import HtmlElement

from mirror.transform.reader.leftout import Paragraphs
from mirror.transform.reader.params import DEFAULT_PARAMS, ExtractParams
from mirror.transform.reader.tidy import (
    link_density,
    normal,
)

EMBED_CLASSES = ("twitter-tweet", "instagram-media", "tiktok-embed", "reddit-card")
INVISIBLE = ("script", "style", "noscript", "template", "iframe", "form", "button", "select")


def add_continuations(
    work: HtmlElement,
    body: HtmlElement,
    holder: HtmlElement | None,
    kept: set[str],
    params: ExtractParams = DEFAULT_PARAMS,
) -> int:
    """Add chunks that repeat the class of ``holder``, the element of ``work`` holding the
    paragraphs chosen (``kept`` holds their texts).

    Only near cousins (sharing the holder's parent or grandparent) that read as prose —
    several real paragraphs, few links — and that the body does not already hold.
    """
    if holder is None or not holder.get("class"):
        return 0
    scope = ancestor(holder, params.continuation_depth)
    added = 0
    for chunk in scope.iterdescendants(str(holder.tag)):
        if chunk.get("class") != holder.get("class") or chunk is holder or inside(chunk, holder):
            continue
        prose = [p for p in chunk.iter("p") if len(p.text_content()) >= params.prose_chars]
        if len(prose) < 2 or link_density(chunk) > params.max_link_density:
            continue
        if any(normal(p.text_content()) in kept for p in prose):
            continue
        piece = copy.deepcopy(chunk)
        drop_invisible(piece)
        piece.tag = "div"
        piece.attrib.clear()
        body.append(piece)
        added += 1
    return added


def ancestor(element: HtmlElement, levels: int) -> HtmlElement:
    for _ in range(levels):
        parent = element.getparent()
        if parent is None:
            break
        element = parent
    return element


def paragraph_holder(
    paragraphs: Paragraphs, kept: set[str], params: ExtractParams = DEFAULT_PARAMS
) -> HtmlElement | None:
    """The nearest common ancestor, in the page, of the paragraphs the body kept (``kept``
    holds their texts; ``paragraphs``, the page's)."""
    chosen = [p for p, t in paragraphs if len(t) >= params.prose_chars and t in kept]
    if len(chosen) < 2:
        return None
    common = [a for a in chosen[0].iterancestors()]
    for p in chosen[1:]:
        ancestors = set(p.iterancestors())
        common = [a for a in common if a in ancestors]
    return common[0] if common else None


def paragraph_texts(body: HtmlElement) -> set[str]:
    return {normal(p.text_content()) for p in body.iter("p")}


def inside(element: HtmlElement, ancestor: HtmlElement) -> bool:
    return any(a is ancestor for a in element.iterancestors())


def free_embeds(work: HtmlElement) -> None:
    """Unmark social embeds and their wrappers so the heuristics keep them.

    A wrapper is an ancestor whose only other children are scripts (the embed's loader).
    """
    for quote in social_embeds(work):
        element: HtmlElement | None = quote
        while element is not None and element.tag not in ("body", "article"):
            element.attrib.pop("class", None)
            element.attrib.pop("id", None)
            parent = element.getparent()
            if parent is None or (parent.text or "").strip() or has_other_content(parent, element):
                break
            element = parent


def social_embeds(page: HtmlElement) -> list[HtmlElement]:
    """Quoted social posts: blockquotes with an embed's class (lxml finds them in C)."""
    return [
        quote
        for quote in page.iter("blockquote")
        if any(name in (quote.get("class") or "") for name in EMBED_CLASSES)
    ]


def has_other_content(parent: HtmlElement, child: HtmlElement) -> bool:
    return any(c is not child and c.tag not in INVISIBLE for c in parent)


def drop_invisible(element: HtmlElement) -> None:
    for node in list(element.iter(*INVISIBLE)):
        if node is not element and node.getparent() is not None:
            node.drop_tree()
