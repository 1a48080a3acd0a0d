"""How an origin removes an article, for the tests of removed-at-origin copies.

Sites take a post down in one of three ways: a 404, a 410, or a redirect of its address to
the front page. ``remove_at_origin`` makes the test origin do one of them for a path.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from mirror.settings import Config
from tests.conftest import Origin

REASONS = ("404", "410", "front_page")
FRONT_PAGE = (
    b"<!doctype html><html><head><title>China Digital Times</title></head><body>"
    b"<h1>China Digital Times</h1><p>Latest news and the front page of the site.</p>"
    b"</body></html>"
)


def remove_at_origin(origin: Origin, path: str, reason: str) -> None:
    """From now on the origin answers ``path`` with a 404, a 410, or a 302 to ``/``."""

    async def removed(request: web.Request) -> web.Response:
        if reason == "front_page":
            raise web.HTTPFound("/")
        return web.Response(status=int(reason), text="gone")

    async def front_page(request: web.Request) -> web.Response:
        return web.Response(body=FRONT_PAGE, content_type="text/html", charset="utf-8")

    origin.routes[path] = removed
    origin.routes["/"] = front_page


def always_ask(config: Config) -> Config:
    """``config`` with no freshness and no remembered errors: every read asks the origin, so
    a test sees the removal on its next read."""
    cache = replace(
        config.cache, fresh_seconds=0, stale_while_revalidate_seconds=0, error_seconds=0
    )
    return replace(config, cache=cache)
