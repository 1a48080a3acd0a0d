"""Cache hits answered at the server's front door, before routing, middleware and signals.

Most of a mirror's traffic is readers opening an article whose rendering is kept in memory
(``mirror.web.responses``). For those, aiohttp's application machinery (resolving the route,
the chain of middleware, the response-prepare signal) costs more than the answer itself.
The front door answers a ``GET /m/<token>`` whose rendering is kept, for this reader's
view and encoding, with what the article route would send: it calls the same functions
for the memory key and the response, whose headers carry every security header, and it
counts the request and the hit in the same metrics. Anything else, every miss included,
goes on to the application unchanged. With a rate limit configured the front door stays
shut, so that the limit is kept in one place.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from mirror import counters
from mirror.addresses.onion import misdirected, onion_location
from mirror.settings import Config
from mirror.web import metrics
from mirror.web.appkeys import ADDRESSES, CONFIG, RENDERED
from mirror.web.compress import choose_coding
from mirror.web.readers import memory_key
from mirror.web.responses import Rendered, RenderedPages, accepts_gzip, respond

ARTICLE_PREFIX = "/m/"
ARTICLE_ROUTE = "/m/{token}"

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


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
            response = None if misdirected(config, request) else kept_article(config, kept, request)
            if response is not None:
                location = onion_location(config, request)
                if location:
                    response.headers["Onion-Location"] = location
                if log_routes:
                    request[metrics.ROUTE_KEY] = ARTICLE_ROUTE
                counters.count_cache("hit")
                metrics.count_route(ARTICLE_ROUTE, response.status, time.perf_counter() - start)
                return response
        return await handler(request)

    return answer


def kept_article(
    config: Config, kept: RenderedPages[Rendered], request: web.BaseRequest
) -> web.Response | None:
    """The kept rendering of the article asked for, as the article route would send it; None
    when it is not kept or the answer needs more (a token in an unusual form, a reader who
    takes only an encoding that is made per request)."""
    path, _, raw_query = request.raw_path.partition("?")
    token = path[len(ARTICLE_PREFIX) :]
    if not token or "/" in token or "%" in token:
        return None
    accept_encoding = request.headers.get("Accept-Encoding", "")
    if choose_coding(accept_encoding) == "br" and not accepts_gzip(accept_encoding):
        return None
    _, key = memory_key(config, request, token, raw_query)
    rendered = kept.get(key)
    return None if rendered is None else respond(request, rendered, config.cache)
