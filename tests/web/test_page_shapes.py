"""Pages of every shape through the running mirror: XHTML served as ``text/html`` or as
``application/xhtml+xml`` and a page with control characters are served and stored; a page
the mirror cannot read gets its own error page, stores nothing, and the next page is served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from mirror import counters
from mirror.errors import FetchError, UnreadablePage
from mirror.links import Kind
from mirror.settings import Config
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_URL, ORIGIN_HOST, Origin, RunningMirror, open_cache, serve_mirror
from tests.support.paths import FIXTURES
from tests.support.text_checks import visible_text
from tests.support.unreadable import BROKEN_LINK_PAGE, UNRULY_PAGE, break_reader_mode

XHTML = (FIXTURES / "xhtml" / "news-xhtml-strict.html").read_bytes()
CONTROLS = XHTML.replace(b"nine days.", b"nine\x00 days.\x01\x0b\x0c\x1f")
SHAPES = {
    "xhtml-as-html": (XHTML, "text/html"),
    "xhtml-as-xhtml": (XHTML, "application/xhtml+xml"),
    "xhtml-as-xhtml-with-a-bom": (b"\xef\xbb\xbf" + XHTML, "application/xhtml+xml"),
    "control-characters": (CONTROLS, "text/html; charset=utf-8"),
}
UNREADABLE = {"unruly": (UNRULY_PAGE, "extract")}


def answering(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler


def url_of(name: str) -> str:
    return f"https://{ORIGIN_HOST}/2009/{name}/"


async def read(running: RunningMirror, url: str, **headers: str) -> tuple[int, str]:
    response, html = await running.get(running.app[LINKS].path(url, Kind.PAGE), headers=headers)
    return response.status, html


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_page_is_served_and_stored(
    shape: str, origin: Origin, config: Config, running_mirror: RunningMirror
) -> None:
    origin.routes[f"/2009/{shape}/"] = answering(*SHAPES[shape])
    status, html = await read(running_mirror, url_of(shape))
    assert status == 200
    text = visible_text(html)
    assert "ending a stoppage that left container ships" in text
    assert "independent mediator appointed" in text
    assert "xml version" not in text and "xml-stylesheet" not in text
    async with open_cache(config) as cache:
        stored = await cache.get_page(url_of(shape))
    assert stored is not None and "independent mediator appointed" in stored.article.body


async def test_a_link_no_browser_can_parse_is_dropped_and_the_page_served(
    origin: Origin, running_mirror: RunningMirror
) -> None:
    origin.routes["/2009/broken-link/"] = answering(BROKEN_LINK_PAGE, "text/html")
    status, html = await read(running_mirror, url_of("broken-link"))
    assert status == 200
    assert "the notes" in visible_text(html) and "[::1" not in html


async def test_a_page_the_mirror_cannot_read_gets_its_own_error_and_the_next_is_served(
    origin: Origin, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    break_reader_mode(config.server.data_dir)  # read by the transform processes at start
    for name, (body, _) in UNREADABLE.items():
        origin.routes[f"/2009/{name}/"] = answering(body, "text/html")
    before = {stage: counters.UNREADABLE_PAGES.value(stage) for _, stage in UNREADABLE.values()}
    with caplog.at_level(logging.DEBUG):
        async with serve_mirror(config) as running:
            for name, (_, stage) in UNREADABLE.items():
                status, html = await read(running, url_of(name))
                assert status == 500
                text = visible_text(html)
                assert UnreadablePage.title in text and FetchError.title not in text
                assert f"Reading stopped at its {stage} stage." in text
                assert counters.UNREADABLE_PAGES.value(stage) == before[stage] + 1
            status, html = await read(running, url_of("unruly"), **{"Accept-Language": "ru"})
            assert (status, "Зеркалу не удалось прочитать эту страницу" in html) == (500, True)
            status, html = await read(running, ARTICLE_URL)
            assert status == 200 and "Xinjiang" in visible_text(html)
            _, metrics = await running.get("/metrics")
    assert 'mirror_unreadable_pages_total{stage="extract"}' in metrics
    assert "/2009/" not in metrics
    async with open_cache(config) as cache:
        for name in UNREADABLE:
            assert await cache.get_page(url_of(name)) is None
            assert await cache.get_response(url_of(name)) is None
    assert "could not be read at its extract stage" in caplog.text
    for secret in ("/2009/", "/m/", "[::1"):
        assert secret not in caplog.text, secret
