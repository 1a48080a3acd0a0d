"""The fetcher against real local servers: pins, address policy, limits, content types."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    NotAnArticle,
    OriginStatus,
    OriginTimeout,
    TooLarge,
    TooManyRedirects,
)
from mirror.fetch import IMAGE_TYPES, PAGE_TYPES, Fetcher, is_public_address
from mirror.settings import Config
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin

SITE = "https://chinadigitaltimes.net"


@pytest.fixture
async def fetcher(config: Config) -> AsyncIterator[Fetcher]:
    async with Fetcher(config.fetch) as opened:
        yield opened


async def test_pinned_origin_is_fetched_with_its_real_name(
    fetcher: Fetcher, origin: Origin, article_html: bytes
) -> None:
    fetched = await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert fetched.body == article_html
    assert fetched.content_type == "text/html"
    assert fetched.charset == "utf-8"
    assert origin.hits[ARTICLE_PATH] == 1


async def test_nothing_of_the_reader_reaches_the_origin(
    fetcher: Fetcher, origin: Origin, config: Config
) -> None:
    seen: dict[str, str] = {}

    async def record(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.Response(
            text="<p>x</p>", content_type="text/html", headers={"Set-Cookie": "id=tracked"}
        )

    origin.routes["/headers/"] = record
    await fetcher.fetch(f"{SITE}/headers/", PAGE_TYPES)
    await fetcher.fetch(f"{SITE}/headers/", PAGE_TYPES)
    assert seen["User-Agent"] == config.fetch.user_agent
    for header in ("Cookie", "Referer", "X-Forwarded-For", "Accept-Language", "Forwarded"):
        assert header not in seen


async def test_redirects_are_followed_and_checked(fetcher: Fetcher, origin: Origin) -> None:
    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(ARTICLE_PATH)

    async def to_loopback(request: web.Request) -> web.Response:
        raise web.HTTPFound("https://127.0.0.1/admin")

    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/")

    origin.routes.update(
        {"/hop/": hop, "/to-loopback/": to_loopback, "/to-metadata/": to_metadata, "/loop/": loop}
    )
    fetched = await fetcher.fetch(f"{SITE}/hop/", PAGE_TYPES)
    assert fetched.final_url == ARTICLE_URL
    assert fetched.url == f"{SITE}/hop/"
    with pytest.raises(AddressNotAllowed):
        await fetcher.fetch(f"{SITE}/to-loopback/", PAGE_TYPES)
    with pytest.raises(AddressNotAllowed):
        await fetcher.fetch(f"{SITE}/to-metadata/", PAGE_TYPES)
    with pytest.raises(TooManyRedirects):
        await fetcher.fetch(f"{SITE}/loop/", PAGE_TYPES)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://127.0.0.1/", AddressNotAllowed),
        ("https://[::1]/", AddressNotAllowed),
        ("http://10.0.0.1/", AddressNotAllowed),
        ("http://localhost/", AddressNotAllowed),
        ("http://127.1/", BadRequest),
        ("http://2130706433/", BadRequest),
        ("https://chinadigitaltimes.net:8443/", AddressNotAllowed),
        ("ftp://chinadigitaltimes.net/", BadRequest),
        ("https://user:pw@chinadigitaltimes.net/", BadRequest),
        ("file:///etc/passwd", BadRequest),
    ],
)
async def test_refused_urls(fetcher: Fetcher, url: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await fetcher.fetch(url, PAGE_TYPES)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
    ],
)
def test_public_address_policy(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_wrong_content_type_and_error_status(fetcher: Fetcher, origin: Origin) -> None:
    async def json_answer(request: web.Request) -> web.Response:
        return web.json_response({"a": 1})

    origin.routes["/json/"] = json_answer
    with pytest.raises(NotAnArticle):
        await fetcher.fetch(f"{SITE}/json/", PAGE_TYPES)
    with pytest.raises(NotAnArticle):
        await fetcher.fetch(ARTICLE_URL, IMAGE_TYPES)
    with pytest.raises(OriginStatus):
        await fetcher.fetch(f"{SITE}/missing/", PAGE_TYPES)


async def test_body_cap_while_streaming_and_by_length(config: Config, origin: Origin) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(10_000):
            await response.write(b"x" * 65536)
        return response

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 200_000, content_type="text/html")

    origin.routes.update({"/endless/": endless, "/declared/": declared})
    small = replace(config.fetch, max_bytes=100_000)
    async with Fetcher(small) as fetcher:
        with pytest.raises(TooLarge):
            await fetcher.fetch(f"{SITE}/endless/", PAGE_TYPES)
        with pytest.raises(TooLarge):
            await fetcher.fetch(f"{SITE}/declared/", PAGE_TYPES)


async def test_total_deadline(config: Config, origin: Origin) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x")
            await asyncio.sleep(0.1)
        return response

    origin.routes["/trickle/"] = trickle
    async with Fetcher(replace(config.fetch, timeout=0.5)) as fetcher:
        with pytest.raises(OriginTimeout):
            await fetcher.fetch(f"{SITE}/trickle/", PAGE_TYPES)


async def test_untrusted_certificate_is_refused(config: Config, origin: Origin) -> None:
    from mirror.errors import OriginUnreachable

    async with Fetcher(replace(config.fetch, ca_file="")) as fetcher:
        with pytest.raises(OriginUnreachable):
            await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)


def test_ca_file_must_exist(config: Config, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Fetcher(replace(config.fetch, ca_file=str(tmp_path / "none.pem")))._ssl_context()
