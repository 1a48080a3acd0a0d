"""The page parsed once for every stage, and what no stage reads dropped from it.

One parser (``PAGE_PARSER``) for every page; SVG and the scripts nothing reads go right after
parsing, and what no reader sees goes before extraction.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from mirror.transform.reader.linkeddata import SCRIPT_TYPE as LINKED_DATA_TYPE
from mirror.transform.reader.restore import (
    MATH_SCRIPT_TYPE,
)

PAGE_PARSER = lxml.html.HTMLParser(
    remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)
# lxml.html looks up each element's class in Python, once per element touched; this
# lookup runs in C. It gives up only the form-control classes, which nothing here uses.
PAGE_PARSER.set_element_class_lookup(
    lxml.etree.ElementDefaultClassLookup(
        element=HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)
UNSEEN = ("style", "noscript", "svg", "link", "meta")


# The processing instructions at the start (after a BOM or blanks), the XML declaration
# first: lxml refuses a str that starts with ``<?xml`` and names an ``encoding`` (so also
# ``<?xml-stylesheet encoding="..."?>``), and the HTML parsing algorithm reads each as a
# bogus comment, the encoding having been decided by WHATWG sniffing already.
_LEADING_INSTRUCTIONS = re.compile(r"\A\ufeff?(?:\s*<\?[^>]*>)+")
# Characters lxml refuses in a str; a browser reads NUL as U+FFFD (or drops it) and form
# feed as white space, and the other C0 controls are dropped here, as are the noncharacters
# U+FFFE and U+FFFF, which lxml refuses when a later stage sets them in an attribute.
_REFUSED_CONTROLS = {0: "\ufffd", 0x0C: " "} | {
    code: None for code in (*range(1, 9), 0x0B, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)
}


def parse_page(text: str) -> HtmlElement:
    """Parse a page once for every stage; comments and PIs go, since they split text runs.

    The text is first made what lxml accepts and a browser would read the same way: no XML
    declaration, no control characters (see ``_LEADING_INSTRUCTIONS``, ``_REFUSED_CONTROLS``);
    a page of white space alone is an empty page, as a browser shows it.
    """
    text = _LEADING_INSTRUCTIONS.sub("", text, count=1).translate(_REFUSED_CONTROLS)
    return lxml.html.document_fromstring(
        text if text.strip() else "<html></html>", parser=PAGE_PARSER
    )


def drop_never_read(page: HtmlElement) -> None:
    """Remove SVG and the scripts that no stage reads, right after parsing.

    ``extract_article`` drops them before extraction anyway; dropped first, every walk of
    the page before it (lazy images, absolutizing, hiding rules, metadata) is shorter.
    JSON-LD (metadata) and MathJax's TeX (formulas) stay until they are read, and so do
    ``style``, ``link`` and ``meta`` (metadata, text direction) and ``noscript``: the lead
    image's ``alt`` is often only on the copy of the image that lazy-loading pages put there.
    """
    lxml.etree.strip_elements(page, "svg", with_tail=False)
    drop_scripts(page, lambda kind: kind == LINKED_DATA_TYPE or MATH_SCRIPT_TYPE in kind)


def drop_unseen(work: HtmlElement) -> None:
    """Remove what no reader sees and every extractor drops; JSON-LD stays (trafilatura
    reads it to spot forums and to rescue a short extraction)."""
    lxml.etree.strip_elements(work, *UNSEEN, with_tail=False)
    drop_scripts(work, lambda kind: kind == LINKED_DATA_TYPE)


def drop_scripts(page: HtmlElement, keep: Callable[[str], bool]) -> None:
    """Remove every script but those whose ``type`` ``keep`` accepts (their text stays
    out of every extractor's reading; the tail around them stays)."""
    for script in list(page.iter("script")):
        if not keep(script.get("type") or ""):
            script.drop_tree()
