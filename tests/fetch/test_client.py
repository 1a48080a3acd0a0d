"""The fetcher against real local servers: pins, address policy, limits, content types."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import resource
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path

import brotli
import pytest
from aiohttp import web
from backports.zstd import ZstdCompressor

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    FetchError,
    NotAnArticle,
    NotAtOrigin,
    OriginBroken,
    OriginChallenged,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
    TooManyRedirects,
)
from mirror.fetch.client import (
    IMAGE_TYPES,
    PAGE_TYPES,
    PROXY_FAILED,
    Fetcher,
)
from mirror.fetch.decode import decode_html
from mirror.keys import load_cache_key
from mirror.links import Kind
from mirror.pipeline import Mirror
from mirror.settings import Config, ConnectPin, FetchConfig
from mirror.store.cache import PageCache, open_store
from mirror.web.server import LINKS
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    CHINESE_URL,
    ORIGIN_HOST,
    Origin,
    RunningMirror,
)
from tests.fetch.test_decode import UYGHUR
from tests.support.fetch_fixtures import (
    MIB,
    Attempts,
    InFlight,
    TableResolver,
    TunnelProxy,
    brotli_bomb,
    failing_proxy,
    gzip_bomb,
    tunnel_proxy_fixture,
    zstd_bomb,
)

__all__ = ["tunnel_proxy_fixture"]

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


async def test_an_xhtml_answer_is_a_page(fetcher: Fetcher, origin: Origin) -> None:
    async def xhtml(request: web.Request) -> web.Response:
        body = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>'
        return web.Response(
            body=body, headers={"Content-Type": "Application/XHTML+XML; charset=ISO-8859-1"}
        )

    origin.routes["/xhtml/"] = xhtml
    fetched = await fetcher.fetch(f"{SITE}/xhtml/", PAGE_TYPES)
    assert (fetched.content_type, fetched.charset) == ("application/xhtml+xml", "ISO-8859-1")


async def test_nothing_of_the_reader_reaches_the_origin(
    fetcher: Fetcher, origin: Origin, config: Config, client_name: str
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
    if client_name == "browser":
        # The impersonated browser's own, as the rest of its fingerprint says it is.
        assert "Chrome/" in seen["User-Agent"] and "Sec-CH-UA" in seen
    else:
        assert seen["User-Agent"] == config.fetch.user_agent
    for header in ("Cookie", "Referer", "X-Forwarded-For", "Accept-Language", "Forwarded"):
        assert header not in seen


async def test_the_answer_is_recorded_as_sent_less_its_cookies(
    fetcher: Fetcher, origin: Origin
) -> None:
    async def answer(request: web.Request) -> web.Response:
        response = web.Response(text="<p>x</p>", content_type="text/html", reason="Fine")
        response.headers.add("Set-Cookie", "id=tracked")
        response.headers.add("set-cookie2", "id=tracked")
        response.headers.add("Link", "</a>; rel=preload")
        response.headers.add("Link", "</b>; rel=preload")
        return response

    origin.routes["/answer/"] = answer
    fetched = await fetcher.fetch(f"{SITE}/answer/", PAGE_TYPES)
    assert (fetched.status, fetched.reason) == (200, "Fine")
    names = [name.lower() for name, _ in fetched.headers]
    assert "set-cookie" not in names and "set-cookie2" not in names
    assert [v for n, v in fetched.headers if n == "Link"] == [
        "</a>; rel=preload",
        "</b>; rel=preload",
    ]
    assert "tracked" not in repr(fetched.headers)


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


async def test_wrong_content_type_and_error_status(fetcher: Fetcher, origin: Origin) -> None:
    async def json_answer(request: web.Request) -> web.Response:
        return web.json_response({"a": 1})

    origin.routes["/json/"] = json_answer
    with pytest.raises(NotAnArticle):
        await fetcher.fetch(f"{SITE}/json/", PAGE_TYPES)
    with pytest.raises(NotAnArticle):
        await fetcher.fetch(ARTICLE_URL, IMAGE_TYPES)
    origin.routes["/gone/"] = answer_status(410)
    origin.routes["/broken/"] = answer_status(500)
    for absent in ("/missing/", "/gone/"):
        with pytest.raises(NotAtOrigin) as missing:
            await fetcher.fetch(f"{SITE}{absent}", PAGE_TYPES)
        assert (missing.value.status, missing.value.url) == (404, f"{SITE}{absent}")
    with pytest.raises(OriginStatus) as broken:
        await fetcher.fetch(f"{SITE}/broken/", PAGE_TYPES)
    assert not isinstance(broken.value, NotAtOrigin) and broken.value.status == 502


@pytest.mark.parametrize("status", [200, 403, 503])
async def test_a_cdn_challenge_is_told_by_its_header_whatever_the_status(
    fetcher: Fetcher, origin: Origin, status: int
) -> None:
    async def challenge(request: web.Request) -> web.Response:
        headers = {"cf-mitigated": "challenge"}
        return web.Response(status=status, text="<p>one moment</p>", headers=headers)

    origin.routes["/walled/"] = challenge
    with pytest.raises(OriginChallenged):
        await fetcher.fetch(f"{SITE}/walled/", PAGE_TYPES)


def answer_status(status: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text="the origin's own error page")

    return handler


async def test_untrusted_certificate_is_refused(config: Config, origin: Origin) -> None:
    async with Fetcher(replace(config.fetch, ca_file="")) as fetcher:
        with pytest.raises(OriginUnreachable):
            await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)


async def test_ca_file_must_exist(config: Config, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        async with Fetcher(replace(config.fetch, ca_file=str(tmp_path / "none.pem"))):
            pass


# The fault-injecting origin: each fault is a route, a limit it must end within, and an error.

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CAP = 1 * MIB


def limited(config: Config) -> FetchConfig:
    return replace(
        config.fetch, max_bytes=CAP, timeout=2.0, header_timeout=0.5, connect_timeout=1.0
    )


def encoded(body: bytes, encoding: str, content_type: str = "text/html") -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Content-Encoding": encoding}
        )

    return handler


async def slow_headers(request: web.Request) -> web.Response:
    await asyncio.sleep(1.5)
    return web.Response(text="<p>late</p>", content_type="text/html")


async def streamed(request: web.Request, pieces: Iterable[bytes], delay: float = 0) -> None:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    for piece in pieces:
        await response.write(piece)
        await asyncio.sleep(delay)


async def trickle(request: web.Request) -> web.StreamResponse:
    await streamed(request, itertools.repeat(b"x", 1000), delay=0.05)
    return web.StreamResponse()


async def endless(request: web.Request) -> web.StreamResponse:
    await streamed(request, itertools.repeat(b"x" * 65536))
    return web.StreamResponse()


async def page_64_mib(request: web.Request) -> web.StreamResponse:
    await streamed(request, itertools.repeat(b"<p>" + b"x" * 65533, 1024))
    return web.StreamResponse()


async def huge_length(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    response.content_length = 10 * 1024 * MIB
    await response.prepare(request)
    for _ in range(1000):
        await response.write(b"x" * 65536)
        await asyncio.sleep(0.01)
    return response


async def truncated(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    response.content_length = 1000
    await response.prepare(request)
    await response.write(b"<p>only part of the page")
    assert request.transport is not None
    request.transport.close()
    return response


def redirect_to(target: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    return handler


def chain(hop: int) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/chain/{hop + 1}/")

    return handler


GZIP_PAGE = gzip.compress(b"<p>" + b"x" * 10_000)
FAULTS: dict[str, tuple[Handler, type[FetchError], float]] = {
    "/slow-headers/": (slow_headers, OriginTimeout, 1.0),
    "/trickle/": (trickle, OriginTimeout, 2.5),
    "/endless/": (endless, TooLarge, 2.0),
    "/64mib/": (page_64_mib, TooLarge, 2.0),
    "/huge-length/": (huge_length, TooLarge, 1.0),
    "/gzip-bomb/": (encoded(gzip_bomb(1024 * MIB), "gzip"), TooLarge, 2.0),
    "/brotli-bomb/": (encoded(brotli_bomb(1024 * MIB), "br"), TooLarge, 2.0),
    "/zstd-bomb/": (encoded(zstd_bomb(1024 * MIB), "zstd"), TooLarge, 2.0),
    "/deflate-bomb/": (encoded(zlib.compress(bytes(64 * MIB)), "deflate"), TooLarge, 2.0),
    "/stacked-bomb/": (
        encoded(brotli.compress(gzip_bomb(1024 * MIB)), "gzip, br"),
        TooLarge,
        2.0,
    ),
    "/loop/": (redirect_to("/loop/"), TooManyRedirects, 1.0),
    "/chain/0/": (chain(0), TooManyRedirects, 1.0),
    "/to-loopback/": (redirect_to("https://127.0.0.1/admin"), AddressNotAllowed, 1.0),
    "/to-metadata/": (
        redirect_to("http://169.254.169.254/latest/meta-data/"),
        AddressNotAllowed,
        1.0,
    ),
    "/json/": (encoded(b'{"a": 1}', "identity", "application/json"), NotAnArticle, 1.0),
    "/corrupt-gzip/": (encoded(b"\x1f\x8b\x08\x00garbage" * 100, "gzip"), OriginBroken, 1.0),
    "/cut-gzip/": (encoded(GZIP_PAGE[: len(GZIP_PAGE) // 2], "gzip"), OriginBroken, 1.0),
    "/unknown-encoding/": (encoded(b"<p>x</p>", "compress"), OriginBroken, 1.0),
    "/truncated/": (truncated, OriginBroken, 1.0),
}


@pytest.fixture
def faulty(origin: Origin) -> Origin:
    origin.routes.update({path: handler for path, (handler, _, _) in FAULTS.items()})
    origin.routes.update({f"/chain/{hop}/": chain(hop) for hop in range(1, 8)})
    return origin


@pytest.mark.parametrize("path", list(FAULTS))
async def test_each_fault_ends_within_its_limit_with_its_error(
    config: Config, faulty: Origin, path: str
) -> None:
    _, error, seconds = FAULTS[path]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    async with Fetcher(limited(config)) as fetcher:
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(error):
                await fetcher.fetch(f"{SITE}{path}", PAGE_TYPES)
            elapsed = time.monotonic() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert elapsed < seconds, f"{path} took {elapsed:.2f} s"
    assert peak < 8 * CAP, f"{path} peaked at {peak / MIB:.1f} MiB"
    # The whole process too (C allocations included): its high-water mark barely moves.
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert rss_after - rss_before < 64 * MIB


async def test_refresh_header_is_not_followed(fetcher: Fetcher, origin: Origin) -> None:
    async def refresh(request: web.Request) -> web.Response:
        return web.Response(
            text="<p>here</p>",
            content_type="text/html",
            headers={"Refresh": "0; url=https://chinadigitaltimes.net/elsewhere/"},
        )

    origin.routes["/refresh/"] = refresh
    fetched = await fetcher.fetch(f"{SITE}/refresh/", PAGE_TYPES)
    assert fetched.body == b"<p>here</p>"
    assert origin.hits["/elsewhere/"] == 0


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),
        ("br", brotli.compress),
        ("zstd", lambda data: ZstdCompressor().compress(data, ZstdCompressor.FLUSH_FRAME)),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("identity", lambda data: data),
    ],
)
async def test_encodings_are_undone(
    fetcher: Fetcher,
    origin: Origin,
    article_html: bytes,
    encoding: str,
    compress: Callable[[bytes], bytes],
) -> None:
    origin.routes["/encoded/"] = encoded(compress(article_html), encoding)
    fetched = await fetcher.fetch(f"{SITE}/encoded/", PAGE_TYPES)
    assert fetched.body == article_html


async def test_charset_only_in_the_header_or_only_in_meta(fetcher: Fetcher, origin: Origin) -> None:
    russian = "<p>Свобода слова</p>".encode("windows-1251")
    origin.routes["/header-only/"] = encoded(russian, "identity", "text/html; charset=windows-1251")
    header_only = await fetcher.fetch(f"{SITE}/header-only/", PAGE_TYPES)
    assert decode_html(header_only.body, header_only.charset) == "<p>Свобода слова</p>"
    meta_only = await fetcher.fetch(CHINESE_URL, PAGE_TYPES)
    assert meta_only.charset is None
    text = decode_html(meta_only.body, meta_only.charset)
    assert "新疆" in text
    assert UYGHUR in text


@pytest.mark.parametrize(("per_origin", "in_all", "most_expected"), [(2, 16, 2), (16, 3, 3)])
async def test_per_origin_and_global_limits(
    config: Config, origin: Origin, per_origin: int, in_all: int, most_expected: int
) -> None:
    flight = InFlight()

    async def counted(request: web.Request) -> web.Response:
        await flight.hold()
        return web.Response(text="<p>x</p>", content_type="text/html")

    origin.routes["/counted/"] = counted
    limits = replace(config.fetch, per_origin_connections=per_origin, max_concurrent=in_all)
    async with Fetcher(limits) as fetcher:
        await asyncio.gather(*(fetcher.fetch(f"{SITE}/counted/", PAGE_TYPES) for _ in range(10)))
    assert origin.hits["/counted/"] == 10
    assert flight.most == most_expected


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_respected_and_bounded(
    config: Config, origin: Origin, status: int
) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Retry-After": "86400"})

    origin.routes["/busy/"] = busy
    now = [1000.0]
    async with Fetcher(replace(config.fetch, max_retry_after=1), clock=lambda: now[0]) as fetcher:
        for _ in range(3):
            with pytest.raises(OriginStatus):
                await fetcher.fetch(f"{SITE}/busy/", PAGE_TYPES)
        now[0] += 0.95  # not yet the bound: still waiting
        with pytest.raises(OriginStatus):
            await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
        assert origin.hits["/busy/"] == 1
        assert origin.hits[ARTICLE_PATH] == 0
        now[0] += 0.1  # past max_retry_after, though the origin asked for a day
        await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)


async def test_accept_language_only_when_configured(config: Config, origin: Origin) -> None:
    seen: list[str | None] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Accept-Language"))
        return web.Response(text="<p>x</p>", content_type="text/html")

    origin.routes["/lang/"] = record
    for language in ("", "zh-CN"):
        async with Fetcher(replace(config.fetch, accept_language=language)) as fetcher:
            await fetcher.fetch(f"{SITE}/lang/", PAGE_TYPES)
    assert seen == [None, "zh-CN"]


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
async def test_upstream_proxy_from_config_only(
    config: Config,
    origin: Origin,
    tunnel_proxy: TunnelProxy,
    attempts: Attempts,
    article_html: bytes,
    scheme: str,
) -> None:
    proxied = replace(
        config.fetch, proxy=f"{scheme}://127.0.0.1:{tunnel_proxy.listen_port}", connect_to=()
    )
    names = {"localhost": [["127.0.0.1"]], ORIGIN_HOST: [["93.184.216.34"]]}
    async with Fetcher(proxied, TableResolver(names)) as fetcher:
        fetched = await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
        for refused in ("https://127.0.0.1/", "http://0x7f000001/", "https://user@example.com/"):
            with pytest.raises((AddressNotAllowed, BadRequest)):
                await fetcher.fetch(refused, PAGE_TYPES)
        if scheme != "socks5h":
            with pytest.raises(AddressNotAllowed):
                await fetcher.fetch("http://localhost/", PAGE_TYPES)
    assert fetched.body == article_html
    assert tunnel_proxy.targets == [f"{ORIGIN_HOST}:443"]
    proxy, through_proxy = ("127.0.0.1", tunnel_proxy.listen_port), ("127.0.0.1", origin.port)
    if config.fetch.client == "default":
        assert sorted(attempts.made) == sorted([proxy, through_proxy])
    else:  # curl connects to the proxy (out of sight); the proxy's own connection is seen
        assert attempts.made == []


@pytest.mark.parametrize(
    ("scheme", "behaviour", "aiohttp_words", "curl_words"),
    [
        ("http", "refuse", "407", "407"),
        ("http", "hang up", "Invalid proxy response", "CONNECT aborted"),
        ("http", "closed", "connect to proxy", "over proxy"),
        ("socks5h", "refuse", "authentication", "rejected by the SOCKS5"),
        ("socks5h", "closed", "connect to proxy", "over proxy"),
    ],
)
async def test_a_failing_proxy_is_a_plain_error_without_its_words_or_credentials(
    config: Config, scheme: str, behaviour: str, aiohttp_words: str, curl_words: str
) -> None:
    names = TableResolver({ORIGIN_HOST: [["93.184.216.34"]]})
    async with failing_proxy(behaviour) as port:
        proxied = replace(config.fetch, proxy=f"{scheme}://user:s3cret@127.0.0.1:{port}")
        async with Fetcher(replace(proxied, connect_to=()), names) as fetcher:
            with pytest.raises(OriginUnreachable) as failed:
                await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert failed.value.detail == PROXY_FAILED == str(failed.value)
    its_words = aiohttp_words if config.fetch.client == "default" else curl_words
    assert its_words.lower() in str(failed.value.__cause__).lower()  # what is kept back


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/slow-headers/", 504, "0.5 s"),
        ("/trickle/", 504, "2 s"),
        ("/gzip-bomb/", 502, str(CAP)),
        ("/huge-length/", 502, str(CAP)),
        ("/json/", 415, "application/json"),
        ("/to-metadata/", 403, "169.254.169.254"),
        ("/loop/", 502, "redirects"),
        ("/truncated/", 502, "cut short"),
        ("/unreachable/", 502, ""),
    ],
)
async def test_failed_fetches_reach_the_reader_with_their_status_and_store_nothing(
    config: Config, faulty: Origin, path: str, status: int, words: str
) -> None:
    faulty.routes["/unreachable/"] = redirect_to("https://closed.test/")
    closed_port = ConnectPin("closed.test", 443, "127.0.0.1", 1)
    fetch = replace(limited(config), connect_to=(*config.fetch.connect_to, closed_port))
    url = f"{SITE}{path}"
    secret = load_cache_key(config.server.data_dir)
    async with (
        Fetcher(fetch) as fetcher,
        PageCache(open_store(config.cache, config.server.data_dir), secret) as cache,
    ):
        with pytest.raises(FetchError) as failed:
            await Mirror(replace(config, fetch=fetch), fetcher, cache).page(url)
        assert await cache.get_page(url) is None
    assert failed.value.status == status
    assert words in failed.value.detail


async def test_connect_deadline(config: Config) -> None:
    """A listener whose backlog is full drops SYNs, as a black-holed origin does."""
    with socket.socket() as listener, socket.socket() as first:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        first.connect(("127.0.0.1", port))
        stalled = ConnectPin("stalled.test", 443, "127.0.0.1", port)
        fetch = replace(limited(config), connect_timeout=0.3, connect_to=(stalled,))
        async with Fetcher(fetch) as fetcher:
            started = time.monotonic()
            with pytest.raises(OriginTimeout, match=r"No connection within 0\.3 s"):
                await fetcher.fetch("https://stalled.test/", PAGE_TYPES)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/json/", 415, NotAnArticle.title),
        ("/to-metadata/", 403, AddressNotAllowed.title),
        ("/loop/", 502, TooManyRedirects.title),
        ("/corrupt-gzip/", 502, OriginBroken.title),
    ],
)
async def test_the_reader_sees_an_error_page_with_the_status(
    running_mirror: RunningMirror, faulty: Origin, path: str, status: int, title: str
) -> None:
    page = running_mirror.app[LINKS].path(f"{SITE}{path}", Kind.PAGE)
    response, text = await running_mirror.get(page)
    assert response.status == status
    assert title in text
    assert response.headers["Cache-Control"] == "no-store"
