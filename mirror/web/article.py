"""The article route: a kept rendering when there is one, else the pipeline's copy,
rendered once per stored version in a transform process and kept in memory."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from aiohttp import web

from mirror import counters
from mirror.article import Served
from mirror.links import Kind, LinkBuilder
from mirror.pool import off_loop
from mirror.render.html import (
    ALTERNATES,
    ArticleView,
    Reader,
    render_article,
)
from mirror.settings import Config
from mirror.transform.rewrite import rewrite_body
from mirror.web.appkeys import (
    CONFIG,
    LINKS,
    MIRROR,
    POOL,
    RENDERED,
)
from mirror.web.readers import base_url, memory_key
from mirror.web.responses import Rendered, respond


async def served_for(request: web.Request) -> tuple[str, Served]:
    url = request.app[LINKS].open(request.match_info["token"], Kind.PAGE)
    return url, await request.app[MIRROR].page(url)


async def article(request: web.Request) -> web.Response:
    """``/m/<token>``: a page token or a share token, both onto the kept rendering of the
    URL. A token that is kept is answered without opening it; any other is opened and its
    URL's page token names the rendering, so every share link of an article reads the one
    stored copy and the one rendering (no fetch, no memory of its own)."""
    token = request.match_info["token"]
    links = request.app[LINKS]
    rendered = kept_rendering(request, token)
    if rendered is not None:
        return respond(request, rendered, request.app[CONFIG].cache)
    url = links.open(token, Kind.PAGE)
    return await _article(request, url, links.path(url, Kind.PAGE))


async def page_response(request: web.Request, url: str) -> web.Response:
    """The article at ``url`` (the publisher's path form), through the same memory."""
    return await _article(request, url, request.path)


def kept_rendering(request: web.Request, token: str) -> Rendered | None:
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
    rendered = kept_rendering(request, token)
    if rendered is None:
        choices, key = memory_key(app[CONFIG], request, token, request.rel_url.raw_query_string)
        rendered = await _render(request, token, url, replace(choices, path=path))
        app[RENDERED].put(key, rendered)
    return respond(request, rendered, app[CONFIG].cache)


async def _render(request: web.Request, token: str, url: str, reader: Reader) -> Rendered:
    links, mirror, config = request.app[LINKS], request.app[MIRROR], request.app[CONFIG]
    served = await mirror.page(url)
    view = ArticleView(
        share_url=base_url(request) + links.path(url, Kind.PAGE),
        site=config.site_for(url),
        download_path=f"/d/{token}",
        share_action=f"/share/{token}",
    )
    fresh_until = fresh_until_for(config, url, served)
    return await off_loop(
        request.app.get(POOL),
        rendered_article,
        ArticleJob(reader, served, view, links, config, ALTERNATES.get()),
        fresh_until,
    )


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


def rendered_article(job: ArticleJob, fresh_until: float) -> Rendered:
    """The article page, links made mirror links, in both encodings: run in a transform
    process (the page's alternate addresses come along, as the request's context var)."""
    ALTERNATES.set(job.alternates)
    body = rewrite_body(job.served.stored.article.body, job.links, job.config.is_mirrored)
    html = render_article(job.reader, job.served, body, job.view)
    return Rendered.of(html, fresh_until, is_standing_in(job.served))
