"""The front door answers kept articles exactly as the article route does, and only them."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from mirror.links import Kind
from mirror.settings import Config
from mirror.web.article import front_door
from mirror.web.server import LINKS, create_app
from tests.conftest import ARTICLE_URL, Origin, start_site

# Headers that differ between any two responses, whoever answers.
PER_RESPONSE = {"Date", "Cache-Control"}


class Door:
    """The mirror served as ``mirror serve`` serves it, counting what reaches the app."""

    def __init__(self, app: web.Application, client: aiohttp.ClientSession, base: str) -> None:
        self.app = app
        self.client = client
        self.base = base
        self.reached_app: list[str] = []

    async def get(self, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
        """``path`` with ``headers`` (no compression unless asked for), as it came."""
        headers.setdefault("Accept-Encoding", "identity")
        async with self.client.get(
            self.base + path, headers=headers, auto_decompress=False
        ) as response:
            kept = CIMultiDict((k, v) for k, v in response.headers.items() if k not in PER_RESPONSE)
            return response.status, kept, await response.read()


@pytest.fixture
async def door(config: Config, origin: Origin) -> AsyncIterator[Door]:
    app = create_app(config)
    runner, port = await start_site(app)
    assert runner.server is not None
    app_handler = runner.server.request_handler
    async with aiohttp.ClientSession() as client:
        door = Door(app, client, f"http://127.0.0.1:{port}")

        async def counted(request: web.BaseRequest) -> web.StreamResponse:
            door.reached_app.append(request.raw_path)
            return await app_handler(request)

        runner.server.request_handler = front_door(app, counted)
        try:
            yield door
        finally:
            await runner.cleanup()


async def test_a_kept_article_is_answered_at_the_door_as_the_route_answers(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    first = await door.get(path)
    second = await door.get(path)
    assert door.reached_app == [path]  # the first rendered it; the second came from memory
    assert first == second
    assert first[0] == 200 and "Content-Security-Policy" in first[1]


async def test_the_gzip_copy_is_kept_with_the_page(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    plain = await door.get(path)
    zipped = await door.get(path, **{"Accept-Encoding": "gzip, br"})
    assert door.reached_app == [path]
    assert zipped[1]["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped[2]) == plain[2]


async def test_each_language_is_rendered_once_then_kept(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    english = await door.get(path)
    first = await door.get(path, **{"Accept-Language": "zh-Hans"})
    second = await door.get(path, **{"Accept-Language": "zh-Hans"})
    assert door.reached_app == [path, path]
    assert first == second and first[2] != english[2]


async def test_a_current_copy_gets_304_at_the_door(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    _, headers, _ = await door.get(path)
    status, again, body = await door.get(path, **{"If-None-Match": headers["ETag"]})
    assert (status, body, door.reached_app) == (304, b"", [path])
    assert again["ETag"] == headers["ETag"]


async def test_what_the_door_cannot_answer_goes_on_to_the_app(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    await door.get(path)
    status, headers, _ = await door.get(path, **{"Accept-Encoding": "br"})
    assert (status, headers["Content-Encoding"]) == (200, "br")  # made per request
    await door.get(path + "/more")
    await door.get("/m/" + "A" * 40)  # not kept: a miss, or a bad token
    assert door.reached_app == [path, path, path + "/more", "/m/" + "A" * 40]


async def test_door_hits_are_counted_as_the_route(door: Door) -> None:
    path = door.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    for _ in range(3):
        await door.get(path)
    _, _, metrics = await door.get("/metrics")
    line = 'mirror_requests_total{route="/m/{token}",status="200"}'
    counted = [row for row in metrics.decode().splitlines() if row.startswith(line)]
    assert counted and float(counted[0].split()[-1]) >= 3


def test_with_a_rate_limit_the_door_stays_shut(config: Config) -> None:
    limited = replace(config, limits=replace(config.limits, rate=1.0))
    app = create_app(limited)

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    assert front_door(app, handler) is handler
