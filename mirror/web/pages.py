"""The reader's pages: home, site index, article, about, downloads and re-published feeds.

Handlers gather what a page shows and hand it to ``render``; they hold no markup. Every
page knows its reader (language and low-bandwidth choice) from the request alone.

The heavy part of a page (rendering an article, building a download, re-publishing a feed)
runs in the transform processes (``mirror.pool``) once per stored version, and is kept in
memory: every later reader is answered from what was made.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from mirror import counters
from mirror.article import Served, StoredPage
from mirror.errors import NotFound
from mirror.links import Kind, LinkBuilder
from mirror.pool import off_loop
from mirror.render.html import (
    ALTERNATES,
    ArticleView,
    Entry,
    Reader,
    RemovedEntry,
    SiteListing,
    removal_note,
    render_about,
    render_article,
    render_home,
    render_removed,
    render_share,
    render_site,
)
from mirror.render.i18n import translations
from mirror.resources import static_bytes, static_names
from mirror.settings import Config, Site
from mirror.share.download import (
    Download,
    content_disposition,
    download_images,
    unsigned_single_file,
)
from mirror.share.epub import MEDIA_TYPE, epub_entries, pack_epub
from mirror.share.feeds import (
    RSS_TYPE,
    FeedError,
    FeedItem,
    FeedLinks,
    KeptFeed,
    KeptItem,
    kept_feed,
)
from mirror.share.signature import sign_html
from mirror.share.sitefeeds import Latest
from mirror.transform.rewrite import rewrite_body
from mirror.web.appkeys import (
    CONFIG,
    DOWNLOADS,
    FEEDS,
    LINKS,
    LISTINGS,
    MIRROR,
    POOL,
    RENDERED,
    SIGNING_KEY,
)
from mirror.web.onion import over_onion
from mirror.web.responses import Attachment, KeptListings, Rendered, RenderedPages, respond

HOME_ENTRIES = 5
PAGE_ENTRIES = 20
LIST_WAIT_SECONDS = 3.0  # longest a page waits for a slow feed; the fetch goes on behind it
MAX_PAGE = 1000
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}
STATIC_MAX_AGE = 3600
MANIFEST_PATH = "/.well-known/mirrors.json"
READER_CACHE = 1024  # distinct (query, Accept-Language) pairs whose parsed choices are kept
DOWNLOADS_SHARE = 4  # downloads are kept in this fraction of ``cache.memory_bytes``


def keep_in_memory(app: web.Application, config: Config) -> None:
    """The memories pages are answered from: rendered articles, downloads, listings."""
    app[RENDERED] = RenderedPages[Rendered](config.cache.memory_bytes)
    app[DOWNLOADS] = RenderedPages[Attachment](config.cache.memory_bytes // DOWNLOADS_SHARE)
    app[LISTINGS] = KeptListings()


def reader_of(request: web.Request) -> Reader:
    """The reader's choices, from the query string and ``Accept-Language`` only."""
    return replace(choices_of(request), path=request.path)


def choices_of(request: web.Request) -> Reader:
    """The reader's choices without the page's path: all a page kept in memory depends on."""
    return reader_choices(
        request.rel_url.raw_query_string,
        request.headers.get("Accept-Language", ""),
        request.app[CONFIG].reader.low_bandwidth,
    )


@lru_cache(maxsize=READER_CACHE)
def reader_choices(raw_query: str, accept_language: str, lite_default: bool) -> Reader:
    """Parsed once per query and ``Accept-Language``: readers send few distinct ones, and
    negotiating a language on every cache hit cost more than answering from memory."""
    query = MultiDict(parse_qsl(raw_query, keep_blank_values=True))
    return Reader.from_request("/", query, accept_language, lite_default)


def base_url(request: web.Request) -> str:
    """The mirror's address as readers reach it: configured, else the request's own."""
    return address_of(request.app[CONFIG], request)


def address_of(config: Config, request: web.BaseRequest) -> str:
    """The onion address over the onion service, else the configured or asked-for one."""
    if over_onion(config, request):
        return config.publisher.onion_url
    return config.server.public_url or f"{request.scheme}://{request.host}"


def html_page(text: str, cache_control: str = "no-cache") -> web.Response:
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Cache-Control": cache_control, "Vary": "Accept-Language"},
    )


def site_named(request: web.Request) -> Site:
    name = request.match_info["site"]
    for site in request.app[CONFIG].sites:
        if site.name == name:
            return site
    raise NotFound


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
        return render_home(reader, listings)

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
        return render_site(reader, site, entries, page, pages, latest.failed)

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
    return html_page(render_removed(reader, site, entries, page, pages))


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


async def _served(request: web.Request) -> tuple[str, Served]:
    url = request.app[LINKS].open(request.match_info["token"], Kind.PAGE)
    return url, await request.app[MIRROR].page(url)


async def article(request: web.Request) -> web.Response:
    """``/m/<token>``: a page token or a share token, both onto the kept rendering of the
    URL. A token that is kept is answered without opening it; any other is opened and its
    URL's page token names the rendering, so every share link of an article reads the one
    stored copy and the one rendering (no fetch, no memory of its own)."""
    token = request.match_info["token"]
    links = request.app[LINKS]
    rendered = _kept(request, token)
    if rendered is not None:
        return respond(request, rendered, request.app[CONFIG].cache)
    url = links.open(token, Kind.PAGE)
    return await _article(request, url, links.path(url, Kind.PAGE))


async def page_response(request: web.Request, url: str) -> web.Response:
    """The article at ``url`` (the publisher's path form), through the same memory."""
    return await _article(request, url, request.path)


def _kept(request: web.Request, token: str) -> Rendered | None:
    """The rendering kept under ``token`` for this reader's view, counted as a hit."""
    _, key = memory_key(request.app[CONFIG], request, token, request.rel_url.raw_query_string)
    rendered = request.app[RENDERED].get(key)
    if rendered is not None:
        counters.count_cache("hit")
    return rendered


async def _article(request: web.Request, url: str, path: str) -> web.Response:
    """A page rendered once per stored version and reader view, kept under its URL's page
    token, then answered from memory while fresh, with a strong ETag and a 304 for a reader
    who has it already. ``path`` is where the page's own links (languages, images on or
    off) lead: the page link, never a share link, since the rendering serves them all."""
    app = request.app
    token = app[LINKS].seal(url, Kind.PAGE)
    rendered = _kept(request, token)
    if rendered is None:
        choices, key = memory_key(app[CONFIG], request, token, request.rel_url.raw_query_string)
        rendered = await _render(request, token, url, replace(choices, path=path))
        app[RENDERED].put(key, rendered)
    return respond(request, rendered, app[CONFIG].cache)


def memory_key(
    config: Config, request: web.BaseRequest, token: str, raw_query: str
) -> tuple[Reader, str]:
    """The reader's choices, and the key of the page's rendering kept in memory for them."""
    accept_language = request.headers.get("Accept-Language", "")
    choices, view = reader_view(raw_query, accept_language, config.reader.low_bandwidth)
    return choices, f"{token} {view} {address_of(config, request)}"


@lru_cache(maxsize=READER_CACHE)
def reader_view(raw_query: str, accept_language: str, lite_default: bool) -> tuple[Reader, str]:
    """The reader's choices and their ``view_key``, made once per query and language."""
    choices = reader_choices(raw_query, accept_language, lite_default)
    return choices, view_key(choices)


def view_key(reader: Reader) -> str:
    """What of the reader's choices a rendered page depends on, as part of its memory key."""
    return (
        f"{reader.language.tag} {reader.lite:d}{reader.explicit_language:d}{reader.explicit_lite:d}"
    )


async def _render(request: web.Request, token: str, url: str, reader: Reader) -> Rendered:
    links, mirror, config = request.app[LINKS], request.app[MIRROR], request.app[CONFIG]
    served = await mirror.page(url)
    view = ArticleView(
        share_url=base_url(request) + links.path(url, Kind.PAGE),
        site=config.site_for(url),
        download_path=f"/d/{token}",
        share_action=f"/share/{token}",
    )
    fresh_until = _fresh_until(config, url, served)
    return await off_loop(
        request.app.get(POOL),
        rendered_article,
        ArticleJob(reader, served, view, links, config, ALTERNATES.get()),
        fresh_until,
    )


def _fresh_until(config: Config, url: str, served: Served) -> float:
    """Until when what is made of ``served`` may be kept: its freshness, or for a saved copy
    standing in for a failing origin, the time errors are remembered. A removed article's
    copy never becomes fresh (``fetched_at`` is when it was last seen live): like a stale
    one, it is kept in memory until its origin may be asked again."""
    if _standing_in(served):
        return time.time() + config.cache.error_seconds
    return served.stored.fetched_at + config.fresh_seconds(url)


def _standing_in(served: Served) -> bool:
    return served.stale or served.stored.removed_at is not None


@dataclass(frozen=True)
class ArticleJob:
    """What rendering an article needs, as plain values a transform process can take."""

    reader: Reader
    served: Served
    view: ArticleView
    links: LinkBuilder
    config: Config
    alternates: tuple[str, ...]


def rendered_article(job: ArticleJob, fresh_until: float) -> Rendered:
    """The article page, links made mirror links, in both encodings: run in a transform
    process (the page's alternate addresses come along, as the request's context var)."""
    ALTERNATES.set(job.alternates)
    body = rewrite_body(job.served.stored.article.body, job.links, job.config.is_mirrored)
    html = render_article(job.reader, job.served, body, job.view)
    return Rendered.of(html, fresh_until, _standing_in(job.served))


async def share(request: web.Request) -> web.Response:
    """``POST /share/<token>``: a page with a link to the article made for this share alone.

    Pages carry no script and the article's rendering is kept for every reader, so a link
    that is new each time cannot sit in the page itself: the article's "new link" button
    posts here, and the answer, rendered for this request and never stored by any cache
    (POST, ``no-store``), shows a fresh share token (``LinkBuilder.seal_fresh``). Nothing is
    kept per link: the token carries its URL, and opening it lands on the article's one
    kept rendering. The page's own links lead to the article's page link, not back here.
    """
    links = request.app[LINKS]
    url = links.open(request.match_info["token"], Kind.PAGE)
    page_path = links.path(url, Kind.PAGE)
    reader = replace(choices_of(request), path=page_path)
    fresh = f"{base_url(request)}/{Kind.PAGE.value}/{links.seal_fresh(url, Kind.PAGE)}"
    return html_page(render_share(reader, fresh, page_path), cache_control="no-store")


async def download(request: web.Request) -> web.Response:
    """The article as one HTML file or an EPUB, images inside, named after its title: made
    once per stored version, reader view and format, then answered from memory."""
    app = request.app
    extension = request.match_info["format"]
    url = app[LINKS].open(request.match_info["token"], Kind.PAGE)
    token = app[LINKS].seal(url, Kind.PAGE)
    choices, key = memory_key(app[CONFIG], request, token, request.rel_url.raw_query_string)
    key = f"{token} {extension} {key.removeprefix(token + ' ')}"
    attachment = app[DOWNLOADS].get(key)
    if attachment is None:
        attachment = await _made_download(request, replace(choices, path=request.path))
        app[DOWNLOADS].put(key, attachment)
    return web.Response(
        body=attachment.body,
        content_type=attachment.content_type,
        charset="utf-8" if attachment.content_type.startswith("text/") else None,
        headers={"Content-Disposition": attachment.disposition, "Cache-Control": "no-cache"},
    )


async def _made_download(request: web.Request, reader: Reader) -> Attachment:
    config = request.app[CONFIG]
    mirror = request.app[MIRROR]
    links = request.app[LINKS]
    url, served = await _served(request)
    stored = served.stored
    site = config.site_for(url)
    base = base_url(request)
    details = Download(
        stored=stored,
        share_url=base + links.path(url, Kind.PAGE),
        manifest_url=f"{base}{MANIFEST_PATH}",
        key=request.app[SIGNING_KEY],
        site_name=site.display_name if site else stored.article.site_name,
    )
    images = await download_images(stored.article, mirror.image, config.reader.download_image_bytes)

    href_for = FeedLinks(base, links, config.is_mirrored).page
    extension = request.match_info["format"]
    pool = request.app.get(POOL)
    disposition = content_disposition(stored.article.title, extension)
    fresh_until = _fresh_until(config, url, served)
    # The transform process renders the file from the details without the key; it is
    # signed here, where the key stays (a signature is a hash and one Ed25519 operation).
    unsigned = details.unsigned()
    if extension == "epub":
        entries = await off_loop(
            pool, epub_entries, reader, unsigned, stored.article.body, images, href_for
        )
        return Attachment(pack_epub(entries, details), MEDIA_TYPE, disposition, fresh_until)
    css = static_bytes("mirror.css").decode("utf-8")
    page = await off_loop(
        pool, unsigned_single_file, reader, unsigned, stored.article.body, images, css, href_for
    )
    signed = sign_html(page, stored, details.key)
    return Attachment(signed, "text/html", disposition, fresh_until)


async def about(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    return html_page(render_about(reader_of(request), config.reader, config.sites))


async def static_file(request: web.Request) -> web.Response:
    """Served from memory so the compression middleware can compress it; a name the package
    does not hold is a 404, whatever the reason it is missing."""
    return static_response(request.match_info["name"])


def static_response(name: str) -> web.Response:
    """A packaged static file by name (``/static/NAME``, and the favicon)."""
    suffix = PurePosixPath(name).suffix
    if suffix not in STATIC_TYPES or name not in static_names():
        raise NotFound
    return web.Response(
        body=static_bytes(name),
        content_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": f"public, max-age={STATIC_MAX_AGE}"},
    )
