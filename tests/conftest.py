"""Shared test fixtures: a real TLS origin on loopback under real host names, and configs.

The origin serves ``tests/fixtures/cdt`` at their real URLs with certificates from a
test CA made by trustme; the mirror reaches it through ``connect_to`` and ``ca_file``.
"""

from __future__ import annotations

import json
import ssl
import struct
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from mirror.fetch.client import Fetcher
from mirror.keys import load_cache_key
from mirror.pipeline import Mirror
from mirror.settings import Config, load_config
from mirror.store.cache import PageCache
from mirror.store.sqlite import SqliteStore
from mirror.web.server import create_app, start_runner
from mirror.web.tls import ensure_self_signed, fingerprint, server_context
from tests.support.configs import ORIGIN_HOST as ORIGIN_HOST  # where the tests import it from
from tests.support.configs import config_toml
from tests.support.paths import CDT
from tests.support.tiers import mark_by_use

pytest_plugins = ["tests.support.cache_fixtures", "tests.support.filter_fixtures"]


ARTICLE_URL = (
    "https://chinadigitaltimes.net/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"
)
ARTICLE_PATH = "/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"
CHINESE_URL = "https://chinadigitaltimes.net/chinese/2018/11/xinjiang-families/"
CHINESE_PATH = "/chinese/2018/11/xinjiang-families/"
LEAD_IMAGE_PATH = "/wp-content/uploads/2018/11/xinjiang-camp-1024x576.jpg"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the tiers it needs, from the fixtures and helpers it uses, so that
    ``make check`` leaves out what needs a browser, a daemon or the benchmark pages."""
    mark_by_use(items)


def tiny_png() -> bytes:
    """A valid 1x1 PNG, made here so no binary fixture is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        payload = kind + data
        return struct.pack(">I", len(data)) + payload + struct.pack(">I", zlib.crc32(payload))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CDT / "expected.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def article_html() -> bytes:
    return (CDT / "article.html").read_bytes()


@pytest.fixture(scope="session", autouse=True)
def no_public_cas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """OpenSSL's default trust store (``SSL_CERT_FILE``, ``SSL_CERT_DIR``) emptied for the
    session: the tests' TLS clients trust the test CA (``fetch.ca_file``) and nothing
    else, so no test can verify a real site; and a ``Fetcher``'s context no longer parses
    the system's certificates (30 ms of CPU for each of hundreds)."""
    empty = tmp_path_factory.mktemp("no-public-cas")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(empty / "none.pem"))
        patch.setenv("SSL_CERT_DIR", str(empty))
        yield


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return path


@dataclass
class Origin:
    """A running TLS origin: its port, and how many requests each path received."""

    port: int
    hits: Counter[str] = field(default_factory=Counter)
    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(
        default_factory=dict
    )
    runner: web.AppRunner | None = None

    @property
    def pin(self) -> str:
        return f"{ORIGIN_HOST}:443:127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Stop serving, as an origin that went dark: its port refuses connections."""
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()


def _static(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler


async def start_site(
    app: web.Application,
    context: ssl.SSLContext | None = None,
    front_door: bool = False,
    **runner_options: Any,
) -> tuple[web.AppRunner, int]:
    """``app`` on a free loopback port, over TLS with ``context``; with ``front_door``, set
    up as ``mirror serve`` does; ``runner_options`` (an access log) go to the runner, which
    logs no access otherwise. Returns the runner (clean it up) and the port."""
    options = {"access_log": None, **runner_options}
    if front_door:
        runner = await start_runner(app, **options)
    else:
        runner = web.AppRunner(app, **options)
        await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server = site._server
    assert server is not None
    port: int = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return runner, port


@pytest.fixture
async def origin(test_ca: trustme.CA) -> AsyncIterator[Origin]:
    """The CDT-like origin, with a route table that tests may extend."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert(ORIGIN_HOST, "www." + ORIGIN_HOST).configure_cert(context)
    state = Origin(port=0)
    state.routes.update(
        {
            ARTICLE_PATH: _static((CDT / "article.html").read_bytes(), "text/html; charset=utf-8"),
            CHINESE_PATH: _static((CDT / "article-zh-gb18030.html").read_bytes(), "text/html"),
            "/feed/": _static((CDT / "feed.xml").read_bytes(), "application/rss+xml"),
        }
    )

    async def dispatch(request: web.Request) -> web.StreamResponse:
        state.hits[request.path] += 1
        handler = state.routes.get(request.path)
        if handler is None:
            if request.path.startswith("/wp-content/"):
                return web.Response(body=tiny_png(), content_type="image/png")
            raise web.HTTPNotFound
        return await handler(request)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", dispatch)
    state.runner, state.port = await start_site(app, context)
    yield state
    await state.stop()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a TOML config into a temp dir and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "mirror.toml"
        path.write_text(text, "utf-8")
        return path

    return write


@pytest.fixture
def config(origin: Origin, ca_file: Path, write_config: Callable[..., Path]) -> Config:
    """A mirror config for the CDT site, reaching the test origin."""
    return load_config(write_config(config_toml([origin.pin], ca_file)), environ={})


@dataclass
class RunningMirror:
    """The mirror served over HTTPS on loopback, and a client pinned to its certificate."""

    base: str
    client: aiohttp.ClientSession
    app: web.Application
    runner: web.AppRunner | None = None  # more listeners may be started on it

    async def get(self, path: str, **kwargs: Any) -> tuple[aiohttp.ClientResponse, str]:
        async with self.client.get(self.base + path, **kwargs) as response:
            return response, await response.text()

    async def get_bytes(self, path: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.client.get(self.base + path) as response:
            return response, await response.read()


@asynccontextmanager
async def serve_mirror(config: Config, **runner_options: Any) -> AsyncIterator[RunningMirror]:
    """The mirror for ``config`` over HTTPS on loopback, with a client pinned to it."""
    cert, key = ensure_self_signed(config.server.data_dir, ["127.0.0.1"])
    app = create_app(config)
    runner, port = await start_site(
        app, server_context(cert, key), front_door=True, **runner_options
    )
    pinned = aiohttp.Fingerprint(bytes.fromhex(fingerprint(cert).replace(":", "")))
    connector = aiohttp.TCPConnector(ssl=pinned)
    try:
        async with aiohttp.ClientSession(connector=connector) as client:
            yield RunningMirror(f"https://127.0.0.1:{port}", client, app, runner)
    finally:
        await runner.cleanup()


@pytest.fixture
async def running_mirror(config: Config) -> AsyncIterator[RunningMirror]:
    async with serve_mirror(config) as running:
        yield running


@asynccontextmanager
async def open_cache(config: Config) -> AsyncIterator[PageCache]:
    """The config's SQLite cache, as a running mirror of the same config opens it: a test
    reads what the mirror stored through it, as another process would."""
    secret = load_cache_key(config.server.data_dir)
    store = SqliteStore(config.server.data_dir / "cache.sqlite3", 1 << 30, 0)
    async with PageCache(store, secret) as cache:
        yield cache


@asynccontextmanager
async def open_mirror(config: Config) -> AsyncIterator[Mirror]:
    """The orchestrator alone over the config's data dir, with a real fetcher and a real
    SQLite store (the one a running mirror of the same config writes). Opened again with
    another config, it is the same mirror restarted with new settings (and an empty memory
    of origin errors)."""
    async with (
        Fetcher(config.fetch, sites=config.sites) as fetcher,
        open_cache(config) as cache,
        Mirror(config, fetcher, cache) as mirror,
    ):
        yield mirror


@pytest.fixture
async def mirror_service(config: Config) -> AsyncIterator[Mirror]:
    """The orchestrator alone, with a real fetcher and a real SQLite store."""
    async with open_mirror(config) as mirror:
        yield mirror
