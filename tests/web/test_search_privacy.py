"""What a search must never do: answer 500 to any query, however crafted, or leave the
query anywhere (logs, metrics, the store, the data dir)."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from yarl import URL

from mirror.links import Kind
from mirror.settings import Config
from mirror.web.appkeys import LINKS
from mirror.web.metrics import RouteAccessLogger
from tests.conftest import ORIGIN_HOST, Origin, RunningMirror, serve_mirror
from tests.support.search_fixtures import searching, serve_articles

HARBOUR = f"https://{ORIGIN_HOST}/2024/05/harbour-strike/"
# Pieces hostile queries are made of: FTS5 syntax, SQL, quoting, odd Unicode.
PIECES = (
    "AND", "OR", "NOT", "NEAR", "NEAR(", "NEAR(a b, 2)", "NEAR/3", ")", "(", "title:",
    "body:", "{title body}:", "-title:", "words:", "rowid:", "*", "^", "+", "-", ":", ",",
    '"', '""', "'", "''", "`", "\\", "%", "_", ";", "--", "/*", "*/",
    "'; DROP TABLE articles; --", "1=1", "' OR '1'='1", "UNION SELECT", "bm25(", "MATCH",
    "\x00", "\x01", "\x1f", "\x7f", "\u202e", "\u200b", "\ufeff", "\ufffd", "\u0301",
    "dockworkers", "harbour", "新疆", "維吾爾", "журналисты", "الصحفيين", "😀", "ﬁ", "Ⅻ",
    "&amp;", "<script>", "</mark>", "{{ 7*7 }}", "%(query)s", "\t", "\n", " ",
)  # fmt: skip
# Percent escapes that are not UTF-8, sent as they are.
RAW_ESCAPES = ("%FF", "%FE%FF", "%C3", "%ED%A0%80", "%F4%90%80%80", "%C0%AF", "%E2%82")


def hostile_queries(count: int = 200) -> list[str]:
    """``count`` query strings (already percent-encoded), the same every run."""
    rng = random.Random(24)
    queries = [quote(piece, safe="") for piece in PIECES]
    queries += [escape + "dockworkers" + escape for escape in RAW_ESCAPES]
    queries += [quote("x" * 10_240), quote('"' * 5000), quote("NEAR(" * 300)]
    while len(queries) < count:
        words = [rng.choice(PIECES) for _ in range(rng.randint(2, 12))]
        encoded = quote(rng.choice(("", " ")).join(words), safe="")
        if rng.random() < 0.2:
            encoded += rng.choice(RAW_ESCAPES)
        queries.append(encoded)
    return queries[:count]


@pytest.fixture
async def searched(config: Config, origin: Origin) -> AsyncIterator[RunningMirror]:
    """The mirror with search on and one article stored (and so indexed)."""
    serve_articles(origin)
    async with serve_mirror(searching(config)) as mirror:
        response, _ = await mirror.get(mirror.app[LINKS].path(HARBOUR, Kind.PAGE))
        assert response.status == 200
        yield mirror


async def status_of(mirror: RunningMirror, path: str, query: str) -> int:
    url = URL(f"{mirror.base}{path}?q={query}", encoded=True)
    async with mirror.client.get(url) as response:
        await response.read()
        return response.status


async def raw_status(mirror: RunningMirror, target: bytes) -> int:
    """The status of a request line sent as bytes (not UTF-8, not percent-encoded)."""
    address = urlsplit(mirror.base)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the mirror's own self-signed loopback certificate
    reader, writer = await asyncio.open_connection(address.hostname, address.port, ssl=context)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(answer.split(b" ", 2)[1])


async def test_200_hostile_queries_are_answered_200_or_400_and_the_mirror_lives_on(
    searched: RunningMirror,
) -> None:
    queries = hostile_queries()
    assert len(set(queries)) == 200
    answered: dict[int, int] = {}
    for number, query in enumerate(queries):
        path = ("/search", "/s/cdt/search", "/search/feed")[number % 3]
        status = await status_of(searched, path, query)
        assert status in {200, 400}, (path, query[:80], status)
        answered[status] = answered.get(status, 0) + 1
    for target in (b"/search?q=\xff\xfe", b"/search?q=dock\xc3workers", b"/search?q=\xed\xa0\x80"):
        assert await raw_status(searched, target) in {200, 400}, target
    assert answered.get(200, 0) > 100 and answered.get(400, 0) > 0, answered
    response, html = await searched.get("/search", params={"q": "dockworkers"})
    assert response.status == 200 and "<mark>" in html
    response, _ = await searched.get("/healthz")
    assert response.status == 200


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def stored_entries(data_dir: Path) -> set[tuple[bytes, bytes]]:
    with sqlite3.connect(data_dir / "cache.sqlite3") as db:
        return set(db.execute("SELECT key, value FROM entries"))


async def test_a_searched_word_is_kept_nowhere(
    config: Config,
    origin: Origin,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    word = "zqxwvkjhg"  # in no article, so it cannot be in the index of the articles either
    caplog.set_level(logging.DEBUG)
    serve_articles(origin)
    access = logging.getLogger("mirror.access")
    on = searching(config)
    async with serve_mirror(on, access_log=access, access_log_class=RouteAccessLogger) as mirror:
        await mirror.get(mirror.app[LINKS].path(HARBOUR, Kind.PAGE))
        before = stored_entries(config.server.data_dir)
        for path, query in [
            ("/search", {"q": word}),
            ("/search", {"q": f'"{word} dockworkers', "removed": "1"}),
            ("/s/cdt/search", {"q": f"dockworkers OR {word}*", "page": "2"}),
            ("/search/feed", {"q": word}),
            ("/s/cdt/search/feed", {"q": f"NEAR({word} harbour)"}),
            ("/search", {"q": word * 30}),  # too long: the 400 page
            ("/search", {"q": word, "page": "999"}),  # no such page: the 404 page
            ("/s/nosuch/search", {"q": word}),
        ]:
            response, _ = await mirror.get(path, params=query)
            assert response.status in {200, 400, 404}
        _, metrics = await mirror.get("/metrics")
        assert stored_entries(config.server.data_dir) == before
    assert 'route="/search"' in metrics and "mirror_search_seconds_count" in metrics
    assert word not in metrics
    assert any(record.name == "mirror.access" for record in caplog.records)
    assert word not in caplog.text
    out, err = capfd.readouterr()
    assert word not in out and word not in err
    assert files_holding(config.server.data_dir, word.encode()) == []
