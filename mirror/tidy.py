"""Tidy an extracted body: the boilerplate that extractors leave, and nothing else.

Each step is conservative, because a dropped paragraph is worse than a leftover line:

- lists that are nothing but links (menus, "related" teasers);
- captions that repeat an earlier block word for word (slideshows, "less/more" toggles);
- short calls to action and link-only lines after the story's last long paragraph;
- blocks that are only a URL in plain text (print-view leftovers);
- headings that repeat the title (the reader view prints the title itself).
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

LINK_LIST_DENSITY = 0.9
LINK_LIST_ITEMS = 3
REPEAT_MIN_CHARS = 40
TAIL_BLOCK_CHARS = 250
TITLE_PART = 0.6
TEXT_BLOCKS = ("p", "li", "blockquote", "h2", "h3", "h4", "pre", "table")
_CALL_TO_ACTION = re.compile(
    r"(subscribe|sign up|follow (us|him|her|them|@)|get the latest|get .{0,40} delivered|"
    r"like this story|share this|click here|copyright|©|all rights reserved|"
    r"tell us what you think|have a tip|read more|see more|don'?t miss|you may also like|"
    r"related( stories| articles)?:|more from)",
    re.IGNORECASE,
)
_BARE_URL = re.compile(r"https?://\S+")


def tidy(body: HtmlElement) -> int:
    """Apply every step but the title's to ``body`` in place; how many blocks went."""
    steps = (_drop_link_lists, _drop_repeats, _drop_tail_calls, _drop_bare_urls)
    return sum(step(body) for step in steps)


def normal(text: str) -> str:
    """``text`` with runs of whitespace folded to one space."""
    return " ".join(text.split())


def link_density(element: HtmlElement) -> float:
    total = len(element.text_content())
    linked = sum(len(a.text_content()) for a in element.iter("a"))
    return linked / total if total else 1.0


def _drop_link_lists(body: HtmlElement) -> int:
    """Drop menus and "related" teasers: lists that are nothing but links."""
    doomed = [
        e
        for e in body.iter("ul", "ol")
        if len(e) >= LINK_LIST_ITEMS and link_density(e) >= LINK_LIST_DENSITY
    ]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return len(doomed)


def _drop_bare_urls(body: HtmlElement) -> int:
    """Drop blocks that are nothing but a URL in plain text (print-view leftovers)."""
    doomed = [
        b
        for b in body.iter(*TEXT_BLOCKS)
        if _BARE_URL.fullmatch(b.text_content().strip()) and b.find(".//a") is None
    ]
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed)


def _drop_tail_calls(body: HtmlElement) -> int:
    """Drop the short calls to action and teaser links after the story's last long paragraph.

    Newsletter, follow, share and copyright lines and "related" links sit between the story
    and the page's footer, where the boilerplate heuristics often leave them. Only short
    blocks that open with such a call or are nothing but a link go, and only after the last
    long paragraph: the story's prose is never touched.
    """
    doomed = []
    for block in reversed(list(body.iter(*TEXT_BLOCKS))):
        text = normal(block.text_content())
        if len(text) >= TAIL_BLOCK_CHARS:
            break
        if _CALL_TO_ACTION.match(text) or link_density(block) >= LINK_LIST_DENSITY:
            doomed.append(block)
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed)


def drop_title_heading(body: HtmlElement, title: str) -> None:
    """The reader view prints the title itself; headings that repeat it go."""
    wanted = normal(title).casefold()
    for heading in list(body.iter("h1", "h2")):
        text = normal(heading.text_content()).casefold()
        similar = text == wanted or (len(text) > TITLE_PART * len(wanted) and text in wanted)
        if text and similar and heading.getparent() is not None:
            heading.drop_tree()


def _drop_repeats(body: HtmlElement) -> int:
    """Drop captions that repeat an earlier block word for word (slideshows, "less/more").

    Only captions (``figcaption``, or a paragraph right after an image): repeated lines of
    prose, like a meal plan's, are content.
    """
    seen: set[str] = set()
    doomed = []
    for block in body.iter("p", "figcaption", "li"):
        text = normal(block.text_content())
        if len(text) < REPEAT_MIN_CHARS:
            continue
        if not _is_caption(block):
            seen.add(text)
            continue
        if text in seen:
            doomed.append(block)
        seen.add(text)
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed)


def _is_caption(block: HtmlElement) -> bool:
    if block.tag == "figcaption":
        return True
    before = block.getprevious()
    return block.tag == "p" and before is not None and before.tag in ("img", "figure")
