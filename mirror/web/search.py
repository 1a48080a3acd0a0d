"""The search pages: ``/search`` over every site, ``/s/<site>/search`` over one, and the
feed of each search.

A reader's query is what a censor would most like to read, so it is kept nowhere: the
pages are ``no-store`` and never kept in memory, the access log and the metrics name the
route template only (``metrics.py``), an error is logged as its type, never its message,
and the store never sees the query. Only the index of the articles is asked, off the
event loop. Query syntax cannot reach FTS5 (``mirror.search.query``), so any query is a
page: results, or a 400 that says why (too long, or no word in it).
"""

from __future__ import annotations

import asyncio
import datetime
import html
import re
import sqlite3
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from aiohttp import web

from mirror.errors import NotFound, QueryRefused, SearchUnavailable
from mirror.links import Kind
from mirror.render.html import Reader, SearchBox
from mirror.render.i18n import translations
from mirror.render.results import Result, Search, render_search, source_label
from mirror.search.index import PAGE_SIZE, Hit, SearchIndex
from mirror.search.query import MAX_QUERY_CHARS
from mirror.settings import Config, Site
from mirror.share.feeds import RSS_TYPE, KeptFeed, KeptItem, kept_feed
from mirror.web.appkeys import CONFIG, LINKS, MIRROR
from mirror.web.readers import base_url, reader_of, site_named

MAX_PAGE = 50  # 1,000 results: past that a reader narrows the words instead
NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept-Language"}
# Control characters (NUL included) mean nothing in a query and must not reach the page.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Asked:
    """A reader's search as the query string gives it."""

    query: str
    removed_only: bool
    page: int

    def words(self) -> dict[str, str]:
        """The query string of this search, without its page."""
        return {"q": self.query, **({"removed": "1"} if self.removed_only else {})}


def add_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/search", search_page),
            web.get("/search/feed", search_feed),
            web.get("/s/{site}/search", search_page),
            web.get("/s/{site}/search/feed", search_feed),
        ]
    )


def box_for(
    request: web.Request, site: Site | None, removed_only: bool = False
) -> SearchBox | None:
    """The empty search form of a page of ``site`` (``None``: of every site), or ``None``
    while search is off."""
    if _index(request) is None:
        return None
    return SearchBox(_path(site), MAX_QUERY_CHARS, removed_only=removed_only)


async def search_page(request: web.Request) -> web.Response:
    site, index, asked = _search_of(request)
    reader = replace(
        reader_of(request), params={**asked.words(), "page": str(asked.page)} if asked.query else {}
    )
    results = None
    if asked.query:
        hits = await _found(index, asked, site)
        results = [_result(request, reader, hit) for hit in hits]
    path = _path(site)
    search = Search(
        box=SearchBox(path, MAX_QUERY_CHARS, asked.query, asked.removed_only),
        feed=reader.link(f"{path}/feed", **asked.words()) if asked.query else "",
        site_name=site.display_name if site else "",
        page=asked.page,
        newer=reader.link(path, **asked.words(), page=asked.page - 1) if asked.page > 1 else "",
        older=(
            reader.link(path, **asked.words(), page=asked.page + 1)
            if results and len(results) == PAGE_SIZE and asked.page < MAX_PAGE
            else ""
        ),
    )
    text = render_search(reader, search, results)
    return web.Response(text=text, content_type="text/html", headers=NO_STORE)


async def search_feed(request: web.Request) -> web.Response:
    """The first page of a search as RSS 2.0, so a reader can follow a topic through the
    mirror; written as the removed articles' feed is, from the index's plain text."""
    site, index, asked = _search_of(request)
    if not asked.query:
        raise QueryRefused
    reader = reader_of(request)
    results = [_result(request, reader, hit) for hit in await _found(index, asked, site)]
    base, path = base_url(request), _path(site)
    title = translations(reader.language.tag).gettext("Search: %(query)s")
    channel = KeptFeed(
        title=title % {"query": asked.query},
        site_url=base + reader.link(path, **asked.words()),
        feed_url=base + reader.link(f"{path}/feed", **asked.words()),
        language=reader.language.tag,
    )
    items = [
        KeptItem(
            title=result.title,
            link=base + result.href,
            moment=result.saved,
            note=" · ".join(part for part in (result.site, result.label) if part),
            body_html=html.escape("".join(text for text, _ in result.snippet)),
        )
        for result in results
    ]
    return web.Response(
        body=kept_feed(channel, items), content_type=RSS_TYPE, charset="utf-8", headers=NO_STORE
    )


def _search_of(request: web.Request) -> tuple[Site | None, SearchIndex, Asked]:
    """The site searched (``None``: every site), the index, and what was asked; a 404
    while search is off, as for any page that does not exist."""
    site = site_named(request) if "site" in request.match_info else None
    index = _index(request)
    if index is None:
        raise NotFound
    return site, index, _asked(request)


def _index(request: web.Request) -> SearchIndex | None:
    """The mirror's index: ``None`` while ``search.enabled`` is off (it is never opened)."""
    return request.app[MIRROR].search_index


def _asked(request: web.Request) -> Asked:
    query = _CONTROL.sub(" ", request.query.get("q", "")).strip()
    if len(query) > MAX_QUERY_CHARS:
        raise QueryRefused
    number = request.query.get("page", "1")
    page = int(number) if number.isascii() and number.isdigit() else 0
    if not 1 <= page <= MAX_PAGE:
        raise NotFound
    return Asked(query, request.query.get("removed") == "1", page)


def _path(site: Site | None) -> str:
    return "/search" if site is None else f"/s/{site.name}/search"


async def _found(index: SearchIndex, asked: Asked, site: Site | None) -> list[Hit]:
    """A page of hits, searched in a thread: SQLite must not hold up the event loop."""
    name = site.name if site else None
    try:
        hits = await asyncio.to_thread(
            index.search, asked.query, name, asked.removed_only, asked.page - 1
        )
    except sqlite3.Error as exc:
        raise SearchUnavailable from exc
    if hits is None:
        raise QueryRefused
    return hits


def _result(request: web.Request, reader: Reader, hit: Hit) -> Result:
    entry = hit.entry
    return Result(
        title=entry.title or entry.url,
        href=reader.link(request.app[LINKS].path(entry.url, Kind.PAGE)),
        site=_site_title(request.app[CONFIG], entry.site, entry.url),
        saved=datetime.datetime.fromtimestamp(entry.saved_at, datetime.UTC),
        label=source_label(reader.language, entry.source),
        snippet=hit.snippet,
    )


def _site_title(config: Config, name: str, url: str) -> str:
    """A configured site's title, else (open mode) the host the article is on."""
    for site in config.sites:
        if site.name == name:
            return site.display_name
    return urlsplit(url).hostname or ""
