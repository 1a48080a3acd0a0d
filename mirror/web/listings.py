"""The listing pages and feeds: home, a site's index, its removed articles, and the feeds
of both, re-published with mirror links."""

from __future__ import annotations

import asyncio
import datetime
import math
from collections.abc import Callable

from aiohttp import web

from mirror.article import StoredPage
from mirror.errors import NotFound
from mirror.links import Kind
from mirror.render.html import (
    Entry,
    Reader,
    RemovedEntry,
    SiteListing,
    removal_note,
    render_home,
    render_removed,
    render_site,
)
from mirror.render.i18n import translations
from mirror.share.feeds import (
    RSS_TYPE,
    FeedError,
    FeedItem,
    FeedLinks,
    KeptFeed,
    KeptItem,
    kept_feed,
)
from mirror.share.sitefeeds import Latest
from mirror.web.appkeys import (
    CONFIG,
    FEEDS,
    LINKS,
    LISTINGS,
    MIRROR,
)
from mirror.web.readers import base_url, html_page, reader_of, site_named, view_key
from mirror.web.search import box_for

HOME_ENTRIES = 5
PAGE_ENTRIES = 20
LIST_WAIT_SECONDS = 3.0  # longest a page waits for a slow feed; the fetch goes on behind it
MAX_PAGE = 1000


def entries_for(request: web.Request, items: tuple[FeedItem, ...], reader: Reader) -> list[Entry]:
    links = request.app[LINKS]
    mirrored = request.app[MIRROR].is_mirrored
    return [
        Entry(
            title=item.title or item.link,
            href=reader.link(links.path(item.link, Kind.PAGE)),
            published=item.published,
            summary=item.summary,
        )
        for item in items
        if item.link and mirrored(item.link)
    ]


async def home(request: web.Request) -> web.Response:
    reader = reader_of(request)
    sites = request.app[CONFIG].sites
    feeds = request.app[FEEDS]
    latest = await asyncio.gather(*(feeds.latest(site, LIST_WAIT_SECONDS) for site in sites))

    def render() -> str:
        listings = [
            SiteListing(
                site, tuple(entries_for(request, news.items[:HOME_ENTRIES], reader)), news.failed
            )
            for site, news in zip(sites, latest, strict=True)
        ]
        return render_home(reader, listings, box_for(request, None))

    return html_page(kept_listing(request, reader, tuple(latest), render))


def page_of(request: web.Request, count: int) -> tuple[int, int, slice]:
    """The list page asked for (``?page=``), how many there are, and which items it shows."""
    pages = max(1, math.ceil(count / PAGE_ENTRIES))
    page = int(request.query.get("page", "1")) if request.query.get("page", "").isdigit() else 1
    if not 1 <= page <= min(pages, MAX_PAGE):
        raise NotFound
    return page, pages, slice((page - 1) * PAGE_ENTRIES, page * PAGE_ENTRIES)


async def site_index(request: web.Request) -> web.Response:
    site = site_named(request)
    reader = reader_of(request)
    latest = await request.app[FEEDS].latest(site, LIST_WAIT_SECONDS)
    page, pages, shown = page_of(request, len(latest.items))

    def render() -> str:
        entries = entries_for(request, latest.items[shown], reader)
        box = box_for(request, site)
        return render_site(reader, site, entries, page, pages, latest.failed, box)

    return html_page(kept_listing(request, reader, (latest,), render))


def kept_listing(
    request: web.Request, reader: Reader, shown: tuple[Latest, ...], render: Callable[[], str]
) -> str:
    """A home or site index page, rendered once per view and set of lists it shows."""
    key = f"{request.path} {reader.params} {view_key(reader)} {base_url(request)}"
    kept = request.app[LISTINGS].get(key, shown)
    if kept is None:
        kept = render()
        request.app[LISTINGS].put(key, shown, kept)
    return kept


def removed_entries(
    request: web.Request, kept: list[tuple[str, StoredPage]], reader: Reader
) -> list[RemovedEntry]:
    links = request.app[LINKS]
    return [
        RemovedEntry(
            title=stored.article.title or url,
            href=reader.link(links.path(url, Kind.PAGE)),
            removed=moment(stored.removed_at or stored.fetched_at),
            saved=moment(stored.fetched_at),
        )
        for url, stored in kept
    ]


def moment(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


async def removed_index(request: web.Request) -> web.Response:
    """The articles a site removed that the mirror kept, newest removal first."""
    site = site_named(request)
    reader = reader_of(request)
    kept = await request.app[MIRROR].removed(site)
    page, pages, shown = page_of(request, len(kept))
    entries = removed_entries(request, kept[shown], reader)
    box = box_for(request, site, removed_only=True)
    return html_page(render_removed(reader, site, entries, page, pages, box))


async def removed_feed(request: web.Request) -> web.Response:
    """The site's removed articles as RSS 2.0, newest removal first, in the reader's language."""
    site = site_named(request)
    reader = reader_of(request)
    kept = (await request.app[MIRROR].removed(site))[:PAGE_ENTRIES]
    base = base_url(request)
    title = translations(reader.language.tag).gettext("Articles removed from %(site)s")
    channel = KeptFeed(
        title=title % {"site": site.display_name},
        site_url=f"{base}/s/{site.name}/removed",
        feed_url=f"{base}{request.path_qs}",
        language=reader.language.tag,
    )
    items = [
        KeptItem(
            title=entry.title,
            link=base + entry.href,
            moment=entry.removed,
            note=removal_note(reader.language, site.display_name, entry.removed, entry.saved),
            body_html=stored.article.body,
        )
        for entry, (_, stored) in zip(removed_entries(request, kept, reader), kept, strict=True)
    ]
    return web.Response(
        body=kept_feed(channel, items),
        content_type=RSS_TYPE,
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300", "Vary": "Accept-Language"},
    )


async def site_feed(request: web.Request) -> web.Response:
    """A site's feed (``?n=2`` for its second), in its own format, through the mirror."""
    site = site_named(request)
    number = request.query.get("n", "1")
    if not number.isdigit() or not 1 <= int(number) <= len(site.feeds):
        raise NotFound
    base = base_url(request)
    links = FeedLinks(base, request.app[LINKS], request.app[CONFIG].is_mirrored)
    # Its own address without the reader's other query words, so one copy serves them all.
    feed_url = f"{base}/s/{site.name}/feed" + ("" if number == "1" else f"?n={number}")
    try:
        out, kind = await request.app[FEEDS].republished(
            site.feeds[int(number) - 1], links, f"{base}/s/{site.name}/", feed_url
        )
    except FeedError as exc:
        raise NotFound from exc
    return web.Response(
        body=out,
        content_type=kind,
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
