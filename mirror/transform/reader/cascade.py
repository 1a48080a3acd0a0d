"""trafilatura's main extractor, run on a page we keep, with one copy of it instead of three.

``trafilatura.bare_extraction`` copies the tree it is handed (its caller may keep it),
copies it again before cleaning (its rescue stages read the raw tree) and copies the
cleaned tree once more for the comparison with other extractors that fast mode never
makes. Reader mode hands it a page of ~650 elements and each copy costs about half a
millisecond: a tenth of what our whole transform spends beside trafilatura's own work.

Here the page is copied once and cleaned in place. The raw tree the rescue stages read is
the page itself, unless the raw-tree prunes removed something, and then (as trafilatura
does) a copy made before cleaning. When trafilatura would rescue a short result (its
baseline, or the recall retry), ``bare_extraction`` is asked after all: those pages are
few, and the rescue then is trafilatura's own. The stages and their order are
trafilatura 2.3's ``trafilatura_sequence`` for our options (fast, no comments, balanced);
``tests/transform/test_cascade.py`` holds the result to ``bare_extraction``'s, so a
trafilatura that changes its sequence fails the suite, not a reader.
"""

from __future__ import annotations

from copy import copy

import trafilatura
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.core import (
    ESCALATION_MAX_LENGTH,
    ESCALATION_PAGE_SHARE,
    _forum_thread_page,
)
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.main_extractor import extract_content
from trafilatura.settings import Document, Extractor
from trafilatura.xml import delete_element
from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH

OPTIONS = Extractor(
    fast=True,
    output_format="html",
    formatting=True,
    links=True,
    images=True,
    tables=True,
    comments=False,
)
# The raw-tree prunes, in trafilatura's order; a forum thread keeps its comments (its posts).
PRUNES = (*RAW_TREE_PRUNE_XPATH, *REMOVE_COMMENTS_AND_LISTS_XPATH)
FORUM_PRUNES = tuple(RAW_TREE_PRUNE_XPATH)


def trafilatura_body(page: HtmlElement) -> _Element | None:
    """trafilatura's article body for ``page`` (left untouched), or None if it found none.

    Like ``bare_extraction``, a ``TypeError`` or ``ValueError`` inside means no body."""
    try:
        cleaned, raw = _cleaned(page)
        body, text = extract_content(cleaned, OPTIONS)
        rescued = _rescued(text, raw)
    except (TypeError, ValueError):
        return None
    if rescued:
        return _bare_extraction(page)
    return body if len(text) >= OPTIONS.min_output_size else None


def _cleaned(page: HtmlElement) -> tuple[HtmlElement, HtmlElement]:
    """The page cleaned and converted for the extractor, and the raw tree trafilatura's
    rescue stages would read: the page, or its pruned copy when the prunes removed some."""
    tree = copy(page)
    prunes = FORUM_PRUNES if _forum_thread_page(page) else PRUNES
    pruned = False
    for expression in prunes:
        for element in expression(tree):
            delete_element(element)
            pruned = True
    raw = page
    if pruned:
        raw, tree = tree, copy(tree)
    return convert_tags(tree_cleaning(tree, OPTIONS), OPTIONS), raw


def _rescued(text: str, raw: HtmlElement) -> bool:
    """Whether trafilatura would go on past its main extractor: the baseline for a short
    result, the recall retry for one covering little of the page's text. That text is
    ``html2txt``'s (4 ms on a typical page); a bound on its length settles most pages."""
    if len(text) < OPTIONS.min_extracted_size:
        return True
    return (
        len(text) < ESCALATION_MAX_LENGTH
        and len(text) < ESCALATION_PAGE_SHARE * _page_text_bound(raw)
        and len(text) < ESCALATION_PAGE_SHARE * len(trafilatura.html2txt(raw))
    )


def _page_text_bound(raw: HtmlElement) -> int:
    """At least ``len(trafilatura.html2txt(raw))``, which removes elements and characters,
    splits words only at the start and at the end of an element, and joins them with one
    space: so no more than the body's non-space characters, its words, and two per element."""
    body = raw.find(".//body")
    if body is None:
        body = raw
    words = body.text_content().split()
    return sum(map(len, words)) + len(words) + 2 * sum(1 for _ in body.iter())


def _bare_extraction(page: HtmlElement) -> _Element | None:
    document = trafilatura.bare_extraction(page, options=OPTIONS)
    return document.body if isinstance(document, Document) else None
