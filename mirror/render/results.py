"""The search page: a reader's query and a page of the articles that hold its words.

The snippet arrives as (text, marked) pieces, never markup, so the template escapes every
piece and wraps only the marked ones in ``<mark>``: nothing an article says can become a
tag, and the page needs no script.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from mirror.render.html import Reader, SearchBox, render_page
from mirror.render.i18n import Language, translations


@dataclass(frozen=True)
class Result:
    """One article found: its mirror link, site, date, the label of its copy
    (``source_label``) and its marked snippet."""

    title: str
    href: str
    site: str
    saved: datetime.datetime
    label: str
    snippet: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Search:
    """What was asked and where: ``box`` the form, filled with the query; ``feed`` the same
    search as a feed; ``page`` counts from 1, ``newer`` and ``older`` link the pages
    either side (``""`` where there is none)."""

    box: SearchBox
    feed: str = ""
    site_name: str = ""
    page: int = 1
    newer: str = ""
    older: str = ""


def source_label(language: Language, source: str) -> str:
    """What a result says of where its copy came from (a stored page's ``provenance``);
    nothing for a live copy of the origin's page."""
    gettext = translations(language.tag).gettext
    labels = {
        "removed": gettext("Removed at origin"),
        "archive": gettext("Internet Archive copy"),
        "publisher": gettext("Sent by the publisher"),
        "contributor": gettext("Captured by a contributor"),
    }
    return labels.get(source, "")


def render_search(reader: Reader, search: Search, results: list[Result] | None) -> str:
    """The search page; ``results`` is ``None`` before anything is asked."""
    return render_page(reader, "search.html", search=search, results=results)
