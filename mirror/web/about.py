"""The pages that do not change: the about page and the static files."""

from __future__ import annotations

from pathlib import PurePosixPath

from aiohttp import web

from mirror.errors import NotFound
from mirror.render.html import (
    render_about,
)
from mirror.resources import static_bytes, static_names
from mirror.web.appkeys import (
    CONFIG,
)
from mirror.web.readers import html_page, reader_of

STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}
STATIC_MAX_AGE = 3600


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
