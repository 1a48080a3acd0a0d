"""Tidy an extracted body: the boilerplate that extractors leave, and nothing else.

Each step is conservative, because a dropped paragraph is worse than a leftover line:

- lists that are nothing but links (menus, "related" teasers);
- captions that repeat an earlier block word for word, and copies of a caption (slideshows);
- short calls to action and link-only lines after the story's last long paragraph;
- blocks and loose lines that are only a URL in plain text (print-view leftovers);
- "less" / "... more" toggles that lead nowhere, and the truncated copy they reveal;
- lists of teasers (each item opens with a link) after the story's last long paragraph;
- the link columns of a page laid out as a table of one row (menu, story, other stories);
- headings that repeat the title, and an ``h1`` that says it in other words (the reader
  view prints the title itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from lxml.html import HtmlElement

from mirror.transform.reader.params import (
    CONTAINERS,
    DEFAULT_PARAMS,
    TEXT_BLOCKS,
    ExtractParams,
)
from mirror.transform.reader.words import words

_CALL_TO_ACTION = re.compile(
    r"(subscribe|sign up|follow (us|him|her|them|@)|get the latest|get .{0,40} delivered|"
    r"like this story|share this|click here|copyright|©|all rights reserved|"
    r"tell us what you think|have a tip|read more|see more|don'?t miss|you may also like|"
    r"related( stories| articles)?:|more from)",
    re.IGNORECASE,
)
_BARE_URL = re.compile(r"https?://\S+")
_TOGGLE = re.compile(r"\W*(less|more|show (less|more)|see (less|more)|expand|collapse)\W*", re.I)


def tidy(
    body: HtmlElement,
    steps: Collection[str] | None = None,
    params: ExtractParams = DEFAULT_PARAMS,
) -> int:
    """Apply the named steps (``STEPS``; all by default) but the title's to ``body`` in
    place, in ``STEPS`` order; how many blocks went.

    Steps are named so that the extraction benchmark can score the reader with each left
    out: a step earns its place on pages it was not tuned on.
    """
    chosen = STEPS if steps is None else steps
    return sum(step(body, params) for name, step in STEPS.items() if name in chosen)


def normal(text: str) -> str:
    """``text`` with runs of whitespace folded to one space."""
    return " ".join(text.split())


def link_density(element: HtmlElement) -> float:
    total = len(element.text_content())
    linked = sum(len(a.text_content()) for a in element.iter("a"))
    return linked / total if total else 1.0


def _drop_link_lists(body: HtmlElement, params: ExtractParams) -> int:
    """Drop menus and "related" teasers: lists that are nothing but links."""
    doomed = [
        e
        for e in body.iter("ul", "ol")
        if len(e) >= params.link_list_items and link_density(e) >= params.link_list_density
    ]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return len(doomed)


def _drop_bare_urls(body: HtmlElement, params: ExtractParams) -> int:
    """Drop blocks that are nothing but a URL in plain text (print-view leftovers).

    Most bodies hold no "http" at all; one look at the whole text spares them the walk.
    """
    if "http" not in body.text_content():
        return 0
    doomed = [
        b
        for b in body.iter(*TEXT_BLOCKS)
        if _BARE_URL.fullmatch(b.text_content().strip()) and b.find(".//a") is None
    ]
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed) + _drop_loose_urls(body)


def _drop_loose_urls(body: HtmlElement) -> int:
    """Drop lines of text lying loose in a container (not in a paragraph) that are only a URL.

    A print view writes the page's address between its logo and the story; a URL inside a
    paragraph is left alone, since there it is part of a sentence or a list of sources.
    """
    dropped = 0
    for element in body.iter():
        if element.tag in CONTAINERS and _BARE_URL.fullmatch((element.text or "").strip()):
            element.text, dropped = None, dropped + 1
        parent = element.getparent()
        loose = parent is not None and parent.tag in CONTAINERS
        if loose and _BARE_URL.fullmatch((element.tail or "").strip()):
            element.tail, dropped = None, dropped + 1
    return dropped


def _drop_toggles(body: HtmlElement, params: ExtractParams) -> int:
    """Drop "less" / "... more" links that lead nowhere, and the truncated copy they reveal.

    A caption that the page shortens on small screens is written twice, the full text and a
    prefix of it, with script-driven toggles between. A link without a destination is a
    control, not content; the text just before a "more" toggle goes only when the same block
    holds it twice, so the full caption stays.
    """
    doomed = [
        a
        for a in body.iter("a")
        if (a.get("href") or "").strip() in ("", "#") and _TOGGLE.fullmatch(a.text_content())
    ]
    for anchor in reversed(doomed):
        _drop_truncated_copy(anchor, params.prose_chars)
        holder = anchor.getparent()
        if holder is None:
            continue
        anchor.drop_tree()
        if holder.tag in TEXT_BLOCKS and not len(holder) and not holder.text_content().strip():
            holder.drop_tree()
    return len(doomed)


def _drop_truncated_copy(anchor: HtmlElement, min_chars: int) -> None:
    parent, before = anchor.getparent(), anchor.getprevious()
    if parent is None:
        return
    run = normal(before.tail or "") if before is not None else normal(parent.text or "")
    if len(run) < min_chars or normal(parent.text_content()).count(run) < 2:
        return
    if before is not None:
        before.tail = None
    else:
        parent.text = None


def _drop_tail_calls(body: HtmlElement, params: ExtractParams) -> int:
    """Drop the short calls to action and teaser links after the story's last long paragraph.

    Newsletter, follow, share and copyright lines and "related" links sit between the story
    and the page's footer, where the boilerplate heuristics often leave them. Only short
    blocks that open with such a call or are nothing but a link go, and only after the last
    long paragraph: the story's prose is never touched. Lists of teasers (a linked headline
    and a line of summary per item) go only when there is such a paragraph before them: a
    roundup whose story is a list of linked headlines has none.
    """
    doomed, teasers = [], []
    story = False
    for block in reversed(list(body.iter(*TEXT_BLOCKS))):
        text = normal(block.text_content())
        if len(text) >= params.tail_block_chars:
            story = True
            break
        if _CALL_TO_ACTION.match(text) or link_density(block) >= params.link_list_density:
            doomed.append(block)
        elif _is_teaser(block, params):
            teasers.append(block)
    doomed += teasers if story else []
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed)


def _is_teaser(block: HtmlElement, params: ExtractParams) -> bool:
    """An item of a list of short items that all open with a link: other stories' headlines.

    A roundup's items open with a linked headline too, but go on with a paragraph of story.
    """
    items = block.getparent()
    if block.tag != "li" or items is None or len(items) < params.teaser_items:
        return False
    return all(is_short_teaser(item, params) for item in items)


def is_short_teaser(item: HtmlElement, params: ExtractParams = DEFAULT_PARAMS) -> bool:
    """A short block that opens with a link: another story's headline and a line of summary."""
    return _opens_with_link(item) and len(normal(item.text_content())) < params.tail_block_chars


def _opens_with_link(item: HtmlElement) -> bool:
    if (item.text or "").strip():
        return False
    for child in item:
        if child.text_content().strip():
            return child.tag == "a" or _opens_with_link(child)
        if (child.tail or "").strip():
            return False
    return False


def drop_title_heading(
    body: HtmlElement, title: str, params: ExtractParams = DEFAULT_PARAMS
) -> None:
    """The reader view prints the title itself; headings that repeat it go.

    An ``h1`` that says it in other words goes too: the page's ``<title>`` is often a
    shorter or search-engine wording of the headline ("HS Roundup: ..." for "High School
    Roundup: ..."), and a story's text has one ``h1``, its headline.
    """
    wanted = normal(title).casefold()
    title_words = _words(title)
    for heading in list(body.iter("h1", "h2")):
        text = normal(heading.text_content()).casefold()
        similar = text == wanted or (len(text) > params.title_part * len(wanted) and text in wanted)
        if heading.tag == "h1" and not similar:
            similar = _same_words(_words(text), title_words, params)
        if text and similar and heading.getparent() is not None:
            heading.drop_tree()


def _words(text: str) -> set[str]:
    return set(words(text.casefold()))


def _same_words(heading: set[str], title: set[str], params: ExtractParams) -> bool:
    """Most words shared (Jaccard), and enough of them that a one-word heading never counts."""
    if len(heading) < params.headline_min_words:
        return False
    return len(heading & title) >= params.headline_share * len(heading | title)


def _drop_repeats(body: HtmlElement, params: ExtractParams) -> int:
    """Drop captions that repeat an earlier block word for word (slideshows, "less/more"),
    and blocks that repeat an earlier caption, since the caption already says it.

    Only captions (``figcaption``, or a paragraph right after an image or figure) and copies
    of sure ones go: repeated lines of prose, like a meal plan's, are content. A list item
    holding paragraphs is left to them, or its caption would look like its own repeat. A
    caption written twice in one run of text is written once. Without a caption nothing can
    go, and the blocks' texts are not read.
    """
    blocks = list(body.iter("p", "figcaption", "li"))
    if not any(map(_is_caption, blocks)):
        return _undouble_captions(body, params)
    seen: set[str] = set()
    captions: set[str] = set()
    doomed = []
    for block in blocks:
        text = normal(block.text_content())
        if len(text) < params.prose_chars or (block.tag == "li" and block.find(".//p") is not None):
            continue
        caption = _is_caption(block)
        if text in captions or (caption and text in seen):
            doomed.append(block)
        seen.add(text)
        if caption and _is_sure_caption(block):
            captions.add(text)
    for block in doomed:
        if block.getparent() is not None:
            block.drop_tree()
    return len(doomed) + _undouble_captions(body, params)


def _undouble_captions(body: HtmlElement, params: ExtractParams) -> int:
    """Write once a caption that a slideshow wrote twice in a row, in the run after an image."""
    undoubled = 0
    for image in body.iter("img"):
        run = (image.tail or "").strip()
        length = _doubled_prefix(run[: params.max_caption_chars], params.prose_chars)
        if length:
            image.tail = (image.tail or "").replace(run, run[length:], 1)
            undoubled += 1
    return undoubled


def _doubled_prefix(run: str, min_chars: int) -> int:
    """The length of a text of ``min_chars`` or more that ``run`` opens with twice in a row,
    or 0."""
    for length in range(min_chars, len(run) // 2 + 1):
        if run.startswith(run[:length], length):
            return length
    return 0


def _is_sure_caption(block: HtmlElement) -> bool:
    """A ``figcaption`` or a paragraph right after an image; not one after a whole figure,
    which is as often the story going on."""
    before = block.getprevious()
    return block.tag == "figcaption" or (before is not None and before.tag == "img")


def _is_caption(block: HtmlElement) -> bool:
    if block.tag == "figcaption":
        return True
    before = block.getprevious()
    return block.tag == "p" and before is not None and before.tag in ("img", "figure")


def _drop_layout_columns(body: HtmlElement, params: ExtractParams) -> int:
    """Drop the link columns of a page laid out as a table of one row.

    Older sites, Chinese column pages and portals among them, lay a page out as one table
    row: a menu, the story, a list of other stories; trafilatura keeps the whole table when
    the story is in it. A cell that is mostly links goes when another cell of its row holds
    a story's worth of text outside links: a data table's row of links has no such cell.
    """
    doomed = []
    for table in body.iter("table"):
        rows = table.xpath("./tr | ./*/tr")
        if len(rows) != 1:
            continue
        cells = [cell for cell in rows[0] if cell.tag in ("td", "th")]
        if len(cells) < 2 or not any(
            _unlinked_chars(cell) >= params.tail_block_chars for cell in cells
        ):
            continue
        doomed += [cell for cell in cells if link_density(cell) > params.max_link_density]
    for cell in doomed:
        if cell.getparent() is not None:
            cell.drop_tree()
    return len(doomed)


def _unlinked_chars(element: HtmlElement) -> int:
    linked = sum(len(a.text_content()) for a in element.iter("a"))
    return len(element.text_content()) - linked


STEPS: dict[str, Callable[[HtmlElement, ExtractParams], int]] = {
    "toggles": _drop_toggles,
    "link_lists": _drop_link_lists,
    "repeats": _drop_repeats,
    "tail_calls": _drop_tail_calls,
    "bare_urls": _drop_bare_urls,
    "layout_columns": _drop_layout_columns,
}
