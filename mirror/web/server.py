"""The aiohttp application: routes, security headers, and the one place errors are rendered.

Readers' safety shapes it: every response (errors and static files included) carries a
CSP that forbids scripts and any host but this one, no referrer, and HSTS over HTTPS; the
access log is off by default and, when on, names only the route template (``metrics.py``),
so reader addresses and the URLs they read are never written down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from mirror.addresses import checks, manifest, onion
from mirror.addresses.alternates import AddressBook, address_book
from mirror.errors import (
    BadRequest,
    MirrorError,
    NotAtOrigin,
    NotFound,
    SiteNotMirrored,
    SiteRefused,
    described,
)
from mirror.fetch.client import Fetcher
from mirror.keys import load_cache_key, load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import Mirror
from mirror.reading import transform_pool
from mirror.render.html import ALTERNATES, render_error
from mirror.settings import Config
from mirror.share import schedule
from mirror.share.sitefeeds import SiteFeeds
from mirror.store.cache import PageCache, open_store
from mirror.transform.variants import Variant
from mirror.web import (
    about,
    article,
    ask,
    downloads,
    limits,
    listings,
    metrics,
    publisher,
    push,
    readers,
    search,
)
from mirror.web.appkeys import (
    ADDRESSES,
    AFTER_COPIES,
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
from mirror.web.article import front_door
from mirror.web.compress import compressed
from mirror.web.responses import (
    Attachment,
    KeptListings,
    Rendered,
    RenderedPages,
    add_security_headers,
)

log = logging.getLogger(__name__)

IMAGE_MAX_AGE = 86400
DOWNLOADS_SHARE = 4  # downloads are kept in this fraction of ``cache.memory_bytes``
MAX_FORM_URL = 8192


__all__ = ["CONFIG", "LINKS", "MIRROR", "POOL", "RENDERED", "create_app", "start_runner"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config) -> web.Application:
    guard = limits.Guard(config)

    def forget_made() -> None:
        """Pages and downloads name the live addresses: forget them when those change."""
        app[RENDERED].clear()
        app[DOWNLOADS].clear()

    book = address_book(config, on_change=forget_made)
    app = web.Application(
        middlewares=[front(config, guard, book)],
        client_max_size=64 * 1024,
    )
    app.on_cleanup.append(guard.close)
    app[CONFIG] = config
    app[LINKS] = LinkBuilder(load_token_ring(config.server.data_dir, config.server.token_key))
    _keep_in_memory(app, config)
    app[SIGNING_KEY] = manifest.load_signing_key(config.server.data_dir)
    app[ADDRESSES] = book
    app.cleanup_ctx.append(_mirror_context)
    app.cleanup_ctx.append(lambda app: checks.periodic_checks(app[CONFIG]))
    app.cleanup_ctx.append(lambda app: schedule.periodic_publish(app[CONFIG]))
    app[AFTER_COPIES] = schedule.AfterCopies(config)
    app.cleanup_ctx.append(lambda app: app[AFTER_COPIES].running())
    app.on_response_prepare.append(_security_headers)
    app.add_routes(
        [
            web.get("/", listings.home),
            web.get("/about", about.about),
            web.get("/s/{site}/", listings.site_index),
            web.get("/s/{site}/feed", listings.site_feed),
            web.get("/s/{site}/removed", listings.removed_index),
            web.get("/s/{site}/removed/feed", listings.removed_feed),
            web.post("/open", open_url),
            web.get("/m/{token}", article.article),
            web.post("/share/{token}", downloads.share),
            web.get("/d/{token:[A-Za-z0-9_-]+}.{format:html|epub}", downloads.download),
            web.get("/r/{token}", image),
            web.get("/r/{token}/{variant}", image),
            web.get("/healthz", healthz),
            web.get("/favicon.ico", favicon),
            web.get("/static/{name}", about.static_file),
        ]
    )
    app.add_routes(limits.keyed_routes(config, {"GET /": listings.home, "POST /open": open_url}))
    metrics.add_routes(app, readiness)
    push.add_routes(app)
    search.add_routes(app)
    ask.add_routes(app, config, book)
    publisher.add_routes(app, config, book, article.page_response)
    return app


def _keep_in_memory(app: web.Application, config: Config) -> None:
    """The memories pages are answered from: rendered articles, downloads, listings."""
    app[RENDERED] = RenderedPages[Rendered](config.cache.memory_bytes)
    app[DOWNLOADS] = RenderedPages[Attachment](config.cache.memory_bytes // DOWNLOADS_SHARE)
    app[LISTINGS] = KeptListings()


async def start_runner(app: web.Application, **kwargs: Any) -> web.AppRunner:
    """Set up ``app`` for serving, with the front door before it (``article.front_door``)."""
    runner = web.AppRunner(app, **kwargs)
    await runner.setup()
    server = runner.server
    assert server is not None
    log_routes = "access_log" not in kwargs or kwargs["access_log"] is not None
    server.request_handler = front_door(app, server.request_handler, log_routes)
    return runner


async def _mirror_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    data_dir = config.server.data_dir
    secret = load_cache_key(data_dir)
    async with (
        transform_pool(config) as pool,
        Fetcher(config.fetch, sites=config.sites) as fetcher,
        PageCache(open_store(config.cache, data_dir), secret) as cache,
        Mirror(config, fetcher, cache, pool) as mirror,
    ):
        app[POOL] = pool
        app[MIRROR] = mirror
        app[FEEDS] = SiteFeeds(fetcher, config.reader.feed_fresh_seconds, pool)
        yield


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    add_security_headers(response.headers, request.secure)
    location = onion.onion_location(request.app[CONFIG], request)
    if location:
        response.headers["Onion-Location"] = location


def front(config: Config, guard: limits.Guard, book: AddressBook) -> Middleware:
    """The one middleware: what used to be five layers (metrics, compression, alternates,
    error pages, guard) cost a coroutine and a handler partial each on every request.

    Outermost first: count the final status (error pages and redirects included), compress,
    set the alternate addresses that pages show (``book``'s, live, then the onion service's;
    none over the onion service, whose links stay on it), render errors as pages, then the
    guard.
    """
    onion_address = (config.publisher.onion_url,) if config.publisher.onion else ()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            shown = () if onion.over_onion(config, request) else (*book.shown(), *onion_address)
            ALTERNATES.set(shown)
            response = await _answer(request, handler, guard)
            compressed(request, response)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.count_request(request, status, time.perf_counter() - start)

    return middleware


async def _answer(
    request: web.Request, handler: Handler, guard: limits.Guard
) -> web.StreamResponse:
    """Render every error, ours or aiohttp's, as a page with the right status."""
    try:
        onion.admit(request.app[CONFIG], request)
        await guard.admit(request)
        return await handler(request)
    except MirrorError as error:
        return _error_response(request, error)
    except web.HTTPNotFound:
        return _error_response(request, NotFound())
    except web.HTTPMethodNotAllowed:
        return _error_response(request, BadRequest("That kind of request is not served here."), 405)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.error("internal error: %s", described(exc))
        return _error_response(request, MirrorError())


def _error_response(
    request: web.Request, error: MirrorError, status: int | None = None
) -> web.Response:
    status = status or error.status
    # The language links of an error page lead home: the failed path may hold a wrong key or
    # a token, and an error page must not echo either.
    reader = replace(readers.reader_of(request), path="/", params={})
    site = _site_name(request.app[CONFIG], error)
    return web.Response(
        text=render_error(reader, error, status, site, request.app[CONFIG].archive.capture_url),
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Vary": "Accept-Language"},
    )


def _site_name(config: Config, error: MirrorError) -> str:
    """The name an error page gives the site an article was asked of: its configured title,
    else (open mode) its host name."""
    if not isinstance(error, NotAtOrigin | SiteRefused):
        return ""
    site = config.site_for(error.url)
    return error.host if site is None else site.display_name


async def open_url(request: web.Request) -> web.Response:
    """The home page's form: a URL in, a 303 to its opaque mirror link out."""
    form = await request.post()
    url = str(form.get("url", "")).strip()
    if len(url) > MAX_FORM_URL or urlsplit(url).scheme not in {"http", "https"}:
        raise BadRequest
    config = request.app[CONFIG]
    if config.site_for(url) is None and not limits.may_open_any_site(request, config):
        raise SiteNotMirrored
    reader = readers.reader_of(request)
    raise web.HTTPSeeOther(reader.link(request.app[LINKS].path(url, Kind.PAGE)))


async def image(request: web.Request) -> web.Response:
    """A picture's file, made of its pixels by the mirror: the plain one, or the variant
    its URL names (``/r/<token>/720.webp``); one URL is one file, so no ``Vary``."""
    url = request.app[LINKS].open(request.match_info["token"], Kind.IMAGE)
    name = request.match_info.get("variant")
    variant = None if name is None else Variant.parse(name)
    if name is not None and variant is None:
        raise NotFound
    stored = await request.app[MIRROR].pictures.file(url, variant)
    return web.Response(
        body=stored.body,
        content_type=stored.content_type,
        headers={"Cache-Control": f"public, max-age={IMAGE_MAX_AGE}, immutable"},
    )


async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for it whatever the page says; answer rather than log a 404."""
    return about.static_response("favicon.svg")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})


async def readiness(app: web.Application) -> dict[str, bool]:
    """``/readyz``: the page store answers and a token key is loaded."""
    mirror = app.get(MIRROR)
    return {
        "cache": mirror is not None and await mirror.ready(),
        "token_key": app[LINKS].ring.current in app[LINKS].ring.keys,
    }
