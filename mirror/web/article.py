"""The article route: a kept rendering when there is one, else the pipeline's copy,
rendered once per stored version in a transform process and kept in memory.

Most of a mirror's traffic is readers opening an article whose rendering is kept. For those,
aiohttp's application machinery (resolving the route, the middleware, the response-prepare
signal) costs more than the answer itself, so the server's front door (``front_door``,
installed by ``mirror.web.server.start_runner``) answers them before the application. The
door and the route answer a kept article with one function, ``kept_article``: the same
memory key, the same response and headers (every security header is set by ``respond``), the
same onion checks and the same hit count. The door counts the request as the route would;
anything it cannot answer, every miss included, goes on to the application unchanged. With a
rate limit configured the door stays shut, so that the limit is kept in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from aiohttp import web

from mirror import counters
from mirror.addresses.onion import misdirected, onion_location
from mirror.article import PictureInfo, Served
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import Mirror
from mirror.pool import off_loop
from mirror.render.html import (
    ALTERNATES,
    ArticleView,
    Reader,
    render_article,
)
from mirror.render.i18n import translations
from mirror.settings import Config
from mirror.transform.responsive import Cost, Labels, Offering, picture_sources, size_text
from mirror.transform.rewrite import offered_body
from mirror.transform.variants import Offer
from mirror.web import metrics
from mirror.web.appkeys import (
    ADDRESSES,
    CONFIG,
    LINKS,
    MIRROR,
    POOL,
    RENDERED,
)
from mirror.web.compress import choose_coding
from mirror.web.readers import base_url, memory_key
from mirror.web.responses import Rendered, RenderedPages, accepts_gzip, respond


async def served_for(request: web.Request) -> tuple[str, Served]:
    url = request.app[LINKS].open(request.match_info["token"], Kind.PAGE)
    return url, await request.app[MIRROR].page(url)


ARTICLE_PREFIX = "/m/"
# How long a rendering whose pictures are still being made is kept before it is made
# again, now saying what they cost.
PICTURES_PENDING_SECONDS = 10
ARTICLE_ROUTE = "/m/{token}"

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def kept_article(
    config: Config, kept: RenderedPages[Rendered], request: web.BaseRequest, token: str, query: str
) -> web.Response | None:
    """The kept rendering of ``token`` for this reader's view (``query`` as it came), as it
    is sent, the hit counted; None when it is not kept, or the request came to an onion
    listener under another name (the application answers that with a 421)."""
    if misdirected(config, request):
        return None
    _, key = memory_key(config, request, token, query)
    rendered = kept.get(key)
    if rendered is None:
        return None
    response = respond(request, rendered, config.cache)
    location = onion_location(config, request)
    if location:
        response.headers["Onion-Location"] = location
    counters.count_cache("hit")
    return response


def front_door(app: web.Application, handler: Handler, log_routes: bool = False) -> Handler:
    """``handler`` (the application's), with kept articles answered before it;
    ``log_routes`` when an access log names each request's route."""
    config, kept, book = app[CONFIG], app[RENDERED], app[ADDRESSES]
    if config.limits.rate > 0:
        return handler

    async def answer(request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "GET" and request.raw_path.startswith(ARTICLE_PREFIX):
            start = time.perf_counter()
            book.refresh()  # a changed address list drops the kept pages that name the old one
            path, _, query = request.raw_path.partition("?")
            token = path[len(ARTICLE_PREFIX) :]
            response = (
                kept_article(config, kept, request, token, query)
                if _plain(request, token)
                else None
            )
            if response is not None:
                if log_routes:
                    request[metrics.ROUTE_KEY] = ARTICLE_ROUTE
                metrics.count_route(ARTICLE_ROUTE, response.status, time.perf_counter() - start)
                return response
        return await handler(request)

    return answer


def _plain(request: web.BaseRequest, token: str) -> bool:
    """Whether the door may answer: a token in its usual form (the route decodes any other),
    and a reader who takes an encoding that is kept (brotli alone is made per request, by
    the application's middleware)."""
    if not token or "/" in token or "%" in token:
        return False
    accept_encoding = request.headers.get("Accept-Encoding", "")
    return choose_coding(accept_encoding) != "br" or accepts_gzip(accept_encoding)


async def article(request: web.Request) -> web.Response:
    """``/m/<token>``: a page token or a share token, both onto the kept rendering of the
    URL. A token that is kept is answered without opening it; any other is opened and its
    URL's page token names the rendering, so every share link of an article reads the one
    stored copy and the one rendering (no fetch, no memory of its own)."""
    token = request.match_info["token"]
    links = request.app[LINKS]
    response = _kept(request, token)
    if response is not None:
        return response
    url = links.open(token, Kind.PAGE)
    return await _article(request, url, links.path(url, Kind.PAGE))


async def page_response(request: web.Request, url: str) -> web.Response:
    """The article at ``url`` (the publisher's path form), through the same memory."""
    return await _article(request, url, request.path)


def _kept(request: web.Request, token: str) -> web.Response | None:
    app = request.app
    return kept_article(
        app[CONFIG], app[RENDERED], request, token, request.rel_url.raw_query_string
    )


async def _article(request: web.Request, url: str, path: str) -> web.Response:
    """A page rendered once per stored version and reader view, kept under its URL's page
    token, then answered from memory while fresh, with a strong ETag and a 304 for a reader
    who has it already. ``path`` is where the page's own links (languages, images on or
    off) lead: the page link, never a share link, since the rendering serves them all."""
    app = request.app
    token = app[LINKS].seal(url, Kind.PAGE)
    response = _kept(request, token)
    if response is not None:
        return response
    choices, key = memory_key(app[CONFIG], request, token, request.rel_url.raw_query_string)
    rendered = await _render(request, token, url, replace(choices, path=path))
    app[RENDERED].put(key, rendered)
    return respond(request, rendered, app[CONFIG].cache)


async def _render(request: web.Request, token: str, url: str, reader: Reader) -> Rendered:
    links, mirror, config = request.app[LINKS], request.app[MIRROR], request.app[CONFIG]
    pool = request.app.get(POOL)
    served = await mirror.page(url)
    view = ArticleView(
        share_url=base_url(request) + links.path(url, Kind.PAGE),
        site=config.site_for(url),
        download_path=f"/d/{token}",
        share_action=f"/share/{token}",
    )
    fresh_until = fresh_until_for(config, url, served)
    sources = await off_loop(pool, picture_sources, served.stored.article.body)
    infos = await picture_infos(mirror, sources)
    # Kept briefly only while a picture may still be measured: one that failed lately is
    # not waited for, or every cache hit of its page would be a rendering every few seconds.
    pending = [u for u in sources if u not in infos and not mirror.pictures.failed(u)]
    if pending:
        mirror.warm_pictures(pending)
        fresh_until = min(fresh_until, time.time() + PICTURES_PENDING_SECONDS)
    job = ArticleJob(reader, served, view, links, config, ALTERNATES.get(), infos)
    return await off_loop(pool, rendered_article, job, fresh_until)


async def picture_infos(mirror: Mirror, sources: list[str]) -> dict[str, PictureInfo]:
    """What the mirror knows of each picture (made already), by origin URL."""
    known = await asyncio.gather(*(mirror.pictures.info(url) for url in sources))
    return {url: info for url, info in zip(sources, known, strict=True) if info is not None}


def fresh_until_for(config: Config, url: str, served: Served) -> float:
    """Until when what is made of ``served`` may be kept: its freshness, or for a saved copy
    standing in for a failing origin, the time errors are remembered. A removed article's
    copy never becomes fresh (``fetched_at`` is when it was last seen live): like a stale
    one, it is kept in memory until its origin may be asked again."""
    if is_standing_in(served):
        return time.time() + config.cache.error_seconds
    return served.stored.fetched_at + config.fresh_seconds(url)


def is_standing_in(served: Served) -> bool:
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
    pictures: Mapping[str, PictureInfo] = field(default_factory=dict)


def rendered_article(job: ArticleJob, fresh_until: float) -> Rendered:
    """The article page, links made mirror links and pictures offered in the reader's
    mode, in both encodings: run in a transform process (the page's alternate addresses
    come along, as the request's context var)."""
    ALTERNATES.set(job.alternates)
    gettext = translations(job.reader.language.tag).gettext
    labels = Labels(gettext("Picture left out: %(alt)s"), gettext("Picture left out"))
    offering = Offering(job.reader.pictures, Offer.of(job.config.images), job.pictures, labels)
    body, cost = offered_body(
        job.served.stored.article.body, job.links, job.config.is_mirrored, offering
    )
    view = replace(job.view, pictures_note=pictures_note(cost, gettext))
    html = render_article(job.reader, job.served, body, view)
    return Rendered.of(html, fresh_until, is_standing_in(job.served))


def pictures_note(cost: Cost, gettext: Callable[[str], str]) -> str:
    """What the page says its pictures will cost, before the reader opens them."""
    if not cost.count:
        return ""
    if cost.measured < cost.count:
        return gettext("Pictures: %(count)s; the mirror has not measured them all yet.") % {
            "count": cost.count
        }
    note = gettext("Pictures: %(count)s, up to %(light)s in light mode and %(full)s in full mode.")
    return note % {
        "count": cost.count,
        "light": size_text(cost.light),
        "full": size_text(cost.full),
    }
