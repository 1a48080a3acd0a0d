"""Twenty real news pages through the mirror, in real Chromium: only the mirror is asked.

The benchmark pages (``paths.bench_data()``) are served at their real URLs by a local
origin, over TLS and plain HTTP, with every host they name pinned to it (``connect_to``),
so the mirror's fetches never leave the machine and the browser's requests are the only
thing measured. With JavaScript on and off, every request must go to the mirror.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import trustme
from aiohttp import web

from mirror.links import Kind
from mirror.settings import load_config
from mirror.web.server import LINKS, create_app
from mirror.web.tls import ensure_self_signed, fingerprint, server_context
from tests.conftest import start_site, tiny_png
from tests.support import paths
from tests.support.browser import chromium, visit

PAGE_COUNT = 20
_HOST = re.compile(rb"(?:https?:)?//([a-z0-9][a-z0-9.-]{0,200}\.[a-z]{2,24})(?![a-z0-9.-])", re.I)


@dataclass(frozen=True)
class RealPage:
    url: str
    body: bytes


def real_pages() -> list[RealPage]:
    """Twenty pages spread over the set (every ninth, by name)."""
    bench = paths.bench_data()
    truth = json.loads((bench / "ground-truth.json").read_text("utf-8"))
    chosen = sorted((bench / "pages").glob("*.html"))[::9][:PAGE_COUNT]
    return [RealPage(truth[p.stem]["url"], p.read_bytes()) for p in chosen]


def hosts_named(pages: list[RealPage]) -> set[str]:
    hosts = {urlsplit(p.url).hostname or "" for p in pages}
    for page in pages:
        hosts.update(m.decode("ascii").lower().rstrip(".") for m in _HOST.findall(page.body))
    return {h for h in hosts if all(0 < len(label) < 64 for label in h.split("."))}


@pytest.fixture
async def mirror_of_real_pages(
    test_ca: trustme.CA, ca_file: Path, write_config: Callable[..., Path]
) -> AsyncIterator[tuple[str, list[str]]]:
    """The mirror in open mode, every named host pinned to a local origin; its page paths."""
    pages = real_pages()
    by_url = {(urlsplit(p.url).hostname, urlsplit(p.url).path): p.body for p in pages}

    async def serve(request: web.Request) -> web.Response:
        body = by_url.get((request.host.split(":")[0], request.path))
        if body is not None:
            return web.Response(body=body, content_type="text/html")
        return web.Response(body=tiny_png(), content_type="image/png")

    hosts = sorted(hosts_named(pages))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert(*hosts).configure_cert(context)
    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    tls_runner, tls_port = await start_site(app, context)
    plain_runner, plain_port = await start_site(app)
    pins = [f"{h}:443:127.0.0.1:{tls_port}" for h in hosts]
    pins += [f"{h}:80:127.0.0.1:{plain_port}" for h in hosts]
    config = load_config(
        write_config(
            f'[server]\nlisten = "127.0.0.1:0"\ndata_dir = "data"\nopen_mode = true\n'
            "[limits]\nrate = 1000.0\nburst = 1000\n"
            f'[fetch]\nca_file = "{ca_file}"\ntimeout = 10.0\nconnect_to = {json.dumps(pins)}\n'
        ),
        environ={},
    )
    cert, key = ensure_self_signed(config.server.data_dir, ["127.0.0.1"])
    mirror_app = create_app(config)
    mirror_runner, port = await start_site(mirror_app, server_context(cert, key))
    base = f"https://127.0.0.1:{port}"
    pinned = aiohttp.Fingerprint(bytes.fromhex(fingerprint(cert).replace(":", "")))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pinned)) as client:
        paths = [mirror_app[LINKS].path(p.url, Kind.PAGE) for p in pages]
        for path in paths:  # fetch once, so the browser runs read from the store
            async with client.get(base + path) as response:
                assert response.status == 200, path
        yield base, paths
    await mirror_runner.cleanup()
    await tls_runner.cleanup()
    await plain_runner.cleanup()


def test_twenty_pages_name_many_hosts() -> None:
    pages = real_pages()
    assert len(pages) == PAGE_COUNT
    assert len(hosts_named(pages)) > PAGE_COUNT * 3


async def test_real_pages_request_only_the_mirror(
    mirror_of_real_pages: tuple[str, list[str]],
) -> None:
    base, paths = mirror_of_real_pages
    await asyncio.gather(*(browse(base, paths, javascript) for javascript in (True, False)))


async def browse(base: str, paths: list[str], javascript: bool) -> None:
    """Open every page in one browser (the two modes run side by side, to save time)."""
    mirror_host = urlsplit(base).netloc
    async with chromium(javascript=javascript) as context:
        for path in paths:
            loaded = await visit(context, base + path)
            elsewhere = {u for u in loaded.requests if urlsplit(u).netloc != mirror_host}
            assert elsewhere == set(), (javascript, path, sorted(elsewhere)[:5])
            assert len(loaded.requests) > 1  # the page and at least its stylesheet
            assert await loaded.page.title()
            await loaded.page.close()
