"""The Internet Archive as a source, against a local stand-in under the archive's real names.

The stand-in speaks the availability API (``/wayback/available``) and serves raw captures
(``/web/<timestamp>id_/<url>``) as the Wayback Machine documents them, over TLS with a test
CA certificate for ``archive.org`` and ``web.archive.org``, reached through ``connect_to``
pins: the mirror's own default addresses are what is fetched. The origin refuses the mirror
in each way the brief names (403, a reset connection, a challenge page); the copy then comes
from the archive, labelled with its capture date, in every interface language.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
import socket
import ssl
import struct
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from mirror.article import StoredPage
from mirror.errors import (
    OriginBroken,
    OriginChallenged,
    OriginStatus,
    OriginUnreachable,
    SiteRefused,
)
from mirror.fetch.archive import Capture, Wayback, _closest
from mirror.fetch.client import Fetcher
from mirror.pipeline import refused
from mirror.render.i18n import LANGUAGES, long_date, translations
from mirror.settings import Config, load_config
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    Origin,
    open_mirror,
    serve_mirror,
    start_site,
)
from tests.support.configs import config_toml
from tests.support.paths import CDT

TIMESTAMP = "20190102030405"
CAPTURED = datetime.date(2019, 1, 2)
CHALLENGE = b"""<!DOCTYPE html><html><head><title>Just a moment...</title></head>
<body><p>Checking your browser before accessing the site.</p>
<script>window._cf_chl_opt = {cvId: "3", cType: "managed"};</script></body></html>"""
ARCHIVE_LABEL = "From the Internet Archive's copy of %(date)s."


@dataclass
class Archive:
    """The running stand-in: captures by URL and timestamp, what it was asked, how it fails."""

    port: int = 0
    captures: dict[tuple[str, str], bytes] = field(default_factory=dict)
    asked: list[dict[str, str]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    down: bool = False

    @property
    def pins(self) -> list[str]:
        return [f"{host}:443:127.0.0.1:{self.port}" for host in ("archive.org", "web.archive.org")]


@pytest.fixture
async def archive(test_ca: trustme.CA) -> AsyncIterator[Archive]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("archive.org", "web.archive.org").configure_cert(context)
    state = Archive()
    state.captures[(ARTICLE_URL, TIMESTAMP)] = (CDT / "article.html").read_bytes()

    async def available(request: web.Request) -> web.Response:
        state.hits[request.host] += 1
        if state.down:
            raise web.HTTPServiceUnavailable
        url = request.query.get("url", "")
        state.asked.append(dict(request.query))
        held = [ts for (captured, ts) in state.captures if captured == url]
        snapshots = {}
        if held:
            snapshots["closest"] = {
                "status": "200",
                "available": True,
                "url": f"http://web.archive.org/web/{held[0]}/{url}",
                "timestamp": held[0],
            }
        return web.json_response({"url": url, "archived_snapshots": snapshots})

    async def capture(request: web.Request) -> web.Response:
        state.hits[request.host] += 1
        if state.down:
            raise web.HTTPServiceUnavailable
        key = (request.match_info["url"], request.match_info["timestamp"])
        if key not in state.captures:
            raise web.HTTPNotFound
        return web.Response(body=state.captures[key], content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/wayback/available", available)
    app.router.add_get("/web/{timestamp:[0-9]{14}}id_/{url:.+}", capture)
    runner, state.port = await start_site(app, context)
    yield state
    await runner.cleanup()


@pytest.fixture
def archive_config(
    origin: Origin, archive: Archive, ca_file: Path, write_config: Callable[[str], Path]
) -> Callable[..., Config]:
    """The CDT config with the archive as its source; ``origin_pin`` may point elsewhere."""

    def make(origin_pin: str = "", sources: str = '["archive"]', fetch: str = "") -> Config:
        pins = [origin_pin or origin.pin, *archive.pins]
        toml = config_toml(
            pins,
            ca_file,
            fetch=fetch,
            sections="[cache]\nerror_seconds = 0",
            site=f"sources = {sources}",
            with_feed=False,
        )
        return load_config(write_config(toml), environ={})

    return make


@contextmanager
def resetting_port() -> Iterator[int]:
    """A loopback port whose every connection is reset at once (SO_LINGER 0, then close)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    stop = False

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        while not stop:
            connection, _ = await loop.sock_accept(listener)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    task = asyncio.get_event_loop().create_task(serve())
    try:
        yield listener.getsockname()[1]
    finally:
        stop = True
        task.cancel()
        listener.close()


def refuse_with_403(origin: Origin) -> None:
    async def forbidden(request: web.Request) -> web.Response:
        raise web.HTTPForbidden

    origin.routes[ARTICLE_PATH] = forbidden


def refuse_with_challenge(origin: Origin) -> None:
    async def challenge(request: web.Request) -> web.Response:
        return web.Response(body=CHALLENGE, content_type="text/html")

    origin.routes[ARTICLE_PATH] = challenge


async def read_through_mirror(config: Config) -> tuple[int, str]:
    async with serve_mirror(config) as running:
        response, text = await running.get(f"/s/cdt{ARTICLE_PATH}")
        return response.status, text


def archive_label(tag: str) -> str:
    words = translations(tag).gettext(ARCHIVE_LABEL)
    return words % {"date": long_date(CAPTURED, LANGUAGES[tag])}


async def test_origin_refusing_with_403_is_read_from_the_archive(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    refuse_with_403(origin)
    status, page = await read_through_mirror(archive_config())
    assert status == 200
    assert "Western Countries Turn Up the Heat on Xinjiang" in page
    assert archive_label("en") in page
    assert origin.hits[ARTICLE_PATH] == 1
    assert archive.asked[0]["url"] == ARTICLE_URL
    assert archive.hits == {"archive.org": 1, "web.archive.org": 1}


async def test_a_reset_connection_is_read_from_the_archive(
    archive: Archive, archive_config: Callable[..., Config]
) -> None:
    with resetting_port() as port:
        config = archive_config(origin_pin=f"chinadigitaltimes.net:443:127.0.0.1:{port}")
        status, page = await read_through_mirror(config)
    assert status == 200
    assert archive_label("en") in page
    assert archive.hits["web.archive.org"] == 1


async def test_a_challenge_page_is_never_stored_and_the_archive_copy_is(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    refuse_with_challenge(origin)
    config = archive_config()
    status, page = await read_through_mirror(config)
    assert status == 200
    assert "Just a moment" not in page
    assert "Checking your browser" not in page
    assert archive_label("en") in page
    stored = await stored_copy(config)
    assert stored is not None
    assert stored.source == "archive"
    assert stored.fetched_at == Capture(ARTICLE_URL, TIMESTAMP).captured_at


async def test_the_archive_label_in_every_interface_language(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    refuse_with_403(origin)
    async with serve_mirror(archive_config()) as running:
        for tag in LANGUAGES:
            label = archive_label(tag)
            assert tag == "en" or translations(tag).gettext(ARCHIVE_LABEL) != ARCHIVE_LABEL, tag
            _, page = await running.get(f"/s/cdt{ARTICLE_PATH}", headers={"Accept-Language": tag})
            assert label in page, tag
    assert archive.hits["web.archive.org"] == 1  # stored once, then served from the store


@pytest.mark.parametrize("failure", ["down", "no capture"])
async def test_archive_also_failing_gives_the_origin_error_of_today(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config], failure: str
) -> None:
    refuse_with_403(origin)
    if failure == "down":
        archive.down = True
    else:
        archive.captures.clear()
    config = archive_config()
    status, page = await read_through_mirror(config)
    assert status == 502
    assert "China Digital Times refused this mirror" in page
    assert "could not be reached" not in page
    assert "status 403" in page
    assert archive_label("en") not in page  # no copy is shown as if it were one
    assert await stored_copy(config) is None


REFUSAL_WORDS = (
    SiteRefused.title,
    "If you can open the page, save it and send the mirror a copy.",
    "Look for older copies at the Internet Archive.",
)


async def test_a_refusal_is_explained_in_every_interface_language(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    refuse_with_challenge(origin)
    archive.captures.clear()
    async with serve_mirror(archive_config()) as running:
        for tag in LANGUAGES:
            gettext = translations(tag).gettext
            words = [gettext(text) for text in REFUSAL_WORDS]
            assert tag == "en" or all(w != t for w, t in zip(words, REFUSAL_WORDS, strict=True))
            response, page = await running.get(
                f"/s/cdt{ARTICLE_PATH}", headers={"Accept-Language": tag}
            )
            assert response.status == 502
            assert html.escape(words[0] % {"site": "China Digital Times"}) in page, tag
            assert all(html.escape(w) in page for w in words[1:]), tag
            assert 'href="/contribute' in page
            assert f'href="https://web.archive.org/web/*/{ARTICLE_URL}"' in page


@pytest.mark.parametrize(
    ("fetch", "captures_asked"),
    [
        ("max_bytes = 4000\n", 1),  # asked, and cut at the fetch limit
        ('[archive]\napi_url = "https://127.0.0.1/wayback/available"\n', 0),  # not public
        ('[archive]\ncapture_url = "https://10.1.2.3/web"\n', 0),
    ],
)
async def test_the_archive_is_fetched_under_the_limits_and_address_policy_of_origins(
    origin: Origin,
    archive: Archive,
    archive_config: Callable[..., Config],
    fetch: str,
    captures_asked: int,
) -> None:
    refuse_with_403(origin)
    config = archive_config(fetch=fetch)
    status, page = await read_through_mirror(config)
    assert status == 502
    assert "status 403" in page
    assert archive.hits["web.archive.org"] == captures_asked
    assert await stored_copy(config) is None


async def test_without_the_archive_source_the_archive_is_never_asked(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    refuse_with_403(origin)
    status, _ = await read_through_mirror(archive_config(sources="[]"))
    assert status == 502
    assert archive.hits == {}


async def test_a_missing_article_is_not_looked_up_in_the_archive(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    async with serve_mirror(archive_config()) as running:
        response, _ = await running.get("/s/cdt/no/such/page/")
    assert response.status == 404
    assert archive.hits == {}


async def test_a_stored_origin_copy_stands_in_before_the_archive(
    origin: Origin, archive: Archive, archive_config: Callable[..., Config]
) -> None:
    config = archive_config()
    async with open_mirror(config) as mirror:
        await mirror.page(ARTICLE_URL)
    no_freshness = replace(config.cache, fresh_seconds=0, stale_while_revalidate_seconds=0)
    async with open_mirror(replace(config, cache=no_freshness)) as mirror:
        refuse_with_403(origin)
        served = await mirror.page(ARTICLE_URL)
    assert served.stale
    assert served.stored.source == "origin"
    assert archive.hits == {}


def test_which_errors_are_refusals() -> None:
    assert refused(OriginStatus(403))
    assert refused(OriginStatus(429))
    assert refused(OriginStatus(503))
    assert refused(OriginUnreachable("reset"))
    assert refused(OriginChallenged())
    assert not refused(OriginStatus(404))
    assert not refused(OriginBroken())


async def test_the_api_answer_never_chooses_where_the_capture_is_fetched(
    archive: Archive, archive_config: Callable[..., Config]
) -> None:
    config = archive_config()
    async with Fetcher(config.fetch) as fetcher:
        wayback = Wayback(fetcher, config.archive)
        capture = await wayback.closest(ARTICLE_URL)
        assert capture == Capture(ARTICLE_URL, TIMESTAMP)
        assert wayback.capture_address(capture) == (
            f"https://web.archive.org/web/{TIMESTAMP}id_/{ARTICLE_URL}"
        )
        fetched = await wayback.fetch(capture)
    assert b"Xinjiang" in fetched.body
    asked = archive.asked[0]["timestamp"]
    assert len(asked) == 14
    assert asked.isdigit()


@pytest.mark.parametrize(
    ("closest", "expected"),
    [
        ({"available": True, "status": "200", "timestamp": TIMESTAMP, "url": "x"}, TIMESTAMP),
        ({"available": False, "status": "200", "timestamp": TIMESTAMP}, None),
        ({"available": True, "status": "404", "timestamp": TIMESTAMP}, None),
        (None, None),
    ],
)
def test_the_availability_answer_is_read_strictly(
    closest: dict[str, object] | None, expected: str | None
) -> None:
    snapshots = {} if closest is None else {"closest": closest}
    body = json.dumps({"archived_snapshots": snapshots}).encode()
    capture = _closest(body, ARTICLE_URL)
    assert (capture and capture.timestamp) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps(
            {
                "archived_snapshots": {
                    "closest": {"available": True, "status": "200", "timestamp": "../../etc/passwd"}
                }
            }
        ).encode(),
        json.dumps(
            {
                "archived_snapshots": {
                    "closest": {"available": True, "status": "200", "timestamp": "2019010203040506"}
                }
            }
        ).encode(),
    ],
)
def test_a_malformed_or_hostile_answer_is_a_broken_origin(body: bytes) -> None:
    with pytest.raises(OriginBroken):
        _closest(body, ARTICLE_URL)


def test_the_archive_address_is_configurable(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
[archive]
api_url = "https://wayback.example.org/available/"
capture_url = "https://wayback.example.org/web/"
"""
    )
    config = load_config(path, environ={})
    assert config.archive.api_url == "https://wayback.example.org/available"
    assert config.archive.capture_url == "https://wayback.example.org/web"


async def stored_copy(config: Config) -> StoredPage | None:
    async with open_mirror(config) as mirror:
        return await mirror.stored(ARTICLE_URL)
