"""What the index keeps of a stored article: its plain text, title, site, date and label."""

from __future__ import annotations

import re

import lxml.html
from lxml.etree import ParserError

from mirror.article import StoredPage
from mirror.search.index import Entry

_SPACES = re.compile(r"\s+")


def plain_text(body_html: str) -> str:
    """The words of an article's (sanitised) body, one space between pieces of text, so
    two paragraphs never run together into one word."""
    if not body_html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    except ParserError:
        return ""
    return _SPACES.sub(" ", " ".join(root.itertext())).strip()


def entry_of(url: str, site: str, page: StoredPage) -> Entry:
    """The index's entry for ``page``, stored under ``url`` (the key readers open it by,
    which an archive copy's article URL is not); labelled as a reader sees it."""
    return Entry(
        url=url,
        site=site,
        title=page.article.title,
        text=plain_text(page.article.body),
        saved_at=page.fetched_at,
        source=page.provenance,
        removed=page.removed_at is not None,
    )
