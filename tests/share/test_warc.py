"""WARC export: read back with warcio, every record parses, the CDT article's response (as
the origin sent it, cookies left out) and its cleaned resource are there, and
``warcio check`` passes on the file."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from warcio.archiveiterator import ArchiveIterator

from mirror.article import Article, StoredPage
from mirror.cli import main
from mirror.keys import load_cache_key
from mirror.settings import Config
from mirror.share.warc import WarcFile, run_warc_export, warc_date
from mirror.store.cache import PageCache, StoredResponse, open_store
from mirror.transform.variants import Offer
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CHINESE_URL, LEAD_IMAGE_PATH, Origin
from tests.support.paths import CDT
from tests.support.pictures import SECRETS, jpeg_with_secrets, photo, serving

WARCIO = str(Path(sys.executable).with_name("warcio"))


def serve_gzipped_with_cookies(origin: Origin) -> bytes:
    """The CDT article sent as many origins send it: gzip, a cookie, chunked."""
    page = (CDT / "article.html").read_bytes()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Content-Encoding": "gzip",
                "Set-Cookie": "visitor=tracked-123; Path=/",
                "X-Origin-Header": "kept",
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(gzip.compress(page))
        await response.write_eof()
        return response

    origin.routes[ARTICLE_PATH] = handler
    return page


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of the file, parsed and read to its end with its digests checked."""
    records = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests=True):
            http = record.http_headers
            records.append(
                {
                    "type": record.rec_type,
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "headers": record.rec_headers,
                    "http": http,
                    "content": record.content_stream().read(),
                    "digest_ok": record.digest_checker.passed,
                }
            )
    return records


async def test_warc_export_reads_back_and_passes_warcio_check(
    config: Config, origin: Origin, tmp_path: Path
) -> None:
    page = serve_gzipped_with_cookies(origin)
    lead = jpeg_with_secrets(photo(1200, 675))
    origin.routes[LEAD_IMAGE_PATH] = serving(lead)
    report = await run_warc_export(config, "cdt", tmp_path / "warc", depth=0)
    assert report.path.parent == tmp_path / "warc" and report.path.name.endswith(".warc.gz")
    assert report.articles >= 2 and report.responses == report.articles
    records = read_records(report.path)
    assert records[0]["type"] == "warcinfo"
    assert records[0]["headers"].protocol == "WARC/1.1"
    assert all(r["headers"].protocol == "WARC/1.1" for r in records)
    assert all(r["digest_ok"] is not False for r in records)

    responses = {r["uri"]: r for r in records if r["type"] == "response"}
    resources = {
        r["uri"]: r
        for r in records
        if r["type"] == "resource" and r["headers"].get_header("Content-Type").startswith("text/")
    }
    assert len(responses) == len(resources) == report.articles
    check_pictures(records, lead, Offer.of(config.images))
    assert report.pictures >= 1
    response = responses[ARTICLE_URL]
    http = response["http"]
    assert http.get_statuscode() == "200" and http.protocol == "HTTP/1.1"
    assert response["content"] == page  # as received, the gzip layer undone
    assert http.get_header("X-Origin-Header") == "kept"
    assert http.get_header("Content-Length") == str(len(page))
    for left_out in ("Set-Cookie", "Content-Encoding", "Transfer-Encoding"):
        assert http.get_header(left_out) is None
    assert b"tracked-123" not in report.path.read_bytes()
    assert b"tracked-123" not in gzip.decompress(report.path.read_bytes())

    resource = next(r for uri, r in resources.items() if uri.endswith("/s/cdt" + ARTICLE_PATH))
    assert resource["headers"].get_header("Content-Type") == "text/html; charset=utf-8"
    assert resource["headers"].get_header("WARC-Concurrent-To") == response["headers"].get_header(
        "WARC-Record-ID"
    )
    cleaned = resource["content"].decode("utf-8")
    assert "re-education camps" in cleaned
    assert "<script" not in cleaned and "<article>" in cleaned
    assert any(uri.endswith("/s/cdt/chinese/2018/11/xinjiang-families/") for uri in resources)
    assert CHINESE_URL in responses

    checked = subprocess.run(
        [WARCIO, "check", "-v", str(report.path)], capture_output=True, check=False, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"digest pass" in checked.stdout
    indexed = subprocess.run(
        [WARCIO, "index", "-f", "warc-type,warc-target-uri,http:status", str(report.path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert f'"warc-target-uri": "{ARTICLE_URL}", "http:status": "200"'.encode() in indexed.stdout


def check_pictures(records: list[dict[str, Any]], lead: bytes, offer: Offer) -> None:
    """The lead picture's origin file kept whole, and each file the mirror serves of it
    converted from it, with none of the origin's metadata."""
    url = f"https://chinadigitaltimes.net{LEAD_IMAGE_PATH}"
    kept = [r for r in records if r["uri"] == url and r["type"] == "resource"]
    assert [r["content"] for r in kept] == [lead]  # the evidence, metadata and all
    origin_id = kept[0]["headers"].get_header("WARC-Record-ID")
    converted = [r for r in records if r["uri"] == url and r["type"] == "conversion"]
    assert len(converted) == len(offer.variants())
    for record in converted:
        assert record["headers"].get_header("WARC-Refers-To") == origin_id
        assert record["headers"].get_header("Content-Type") in {"image/webp", "image/jpeg"}
        assert all(secret not in record["content"] for secret in SECRETS)


async def test_warcio_check_fails_a_changed_file(
    config: Config, origin: Origin, tmp_path: Path
) -> None:
    """The check above can fail: the same file with one record's body changed does."""
    report = await run_warc_export(config, "cdt", tmp_path, depth=0)
    text = gzip.decompress(report.path.read_bytes())  # one WARC, uncompressed
    for name, data in (("same.warc", text), ("changed.warc", text.replace(b"camps", b"CAMPS"))):
        (tmp_path / name).write_bytes(data)
    same = subprocess.run([WARCIO, "check", str(tmp_path / "same.warc")], check=False)
    assert same.returncode == 0
    changed = tmp_path / "changed.warc"
    checked = subprocess.run([WARCIO, "check", str(changed)], capture_output=True, check=False)
    assert checked.returncode == 1 and b"digest failed" in checked.stdout


async def test_a_version_stored_without_its_response_gets_its_resource_only(
    config: Config, origin: Origin, tmp_path: Path
) -> None:
    article = Article(url=ARTICLE_URL, title="Stored earlier", body="<p>kept words</p>")
    secret = load_cache_key(config.server.data_dir)
    async with PageCache(open_store(config.cache, config.server.data_dir), secret) as cache:
        await cache.put_page(ARTICLE_URL, StoredPage(article=article, fetched_at=time.time()))

    async def feed(request: web.Request) -> web.Response:
        item = f"<item><title>t</title><link>{ARTICLE_URL}</link></item>"
        body = f'<?xml version="1.0"?><rss version="2.0"><channel>{item}</channel></rss>'
        return web.Response(text=body, content_type="application/rss+xml")

    origin.routes["/feed/"] = feed
    report = await run_warc_export(config, "cdt", tmp_path, depth=0)
    assert (report.articles, report.responses) == (1, 0)
    assert "1 stored before responses were kept" in report.summary()
    records = read_records(report.path)
    assert [r["type"] for r in records] == ["warcinfo", "resource"]
    assert b"kept words" in records[1]["content"]
    assert origin.hits[ARTICLE_PATH] == 0


def test_records_carry_the_time_of_the_fetch(tmp_path: Path, config: Config) -> None:
    assert warc_date(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    path = tmp_path / "one.warc.gz"
    with path.open("wb") as handle:
        warc = WarcFile(handle, "https://mirror.example", config.sites[0])
        answer = StoredResponse(ARTICLE_URL, 200, "OK", (("ETag", '"x"'),), b"<p>x</p>", 1e9)
        warc.resource(StoredPage(Article(ARTICLE_URL, "t", "<p>x</p>"), 1e9), warc.response(answer))
    records = read_records(path)
    assert {r["headers"].get_header("WARC-Date") for r in records} == {
        "2001-09-09T01:46:40.000000Z"
    }
    assert records[1]["uri"] == "https://mirror.example/s/cdt" + ARTICLE_PATH


async def test_export_command_writes_a_warc(config: Config, origin: Origin, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    args = ["export", "--site", "cdt", "--format", "warc", "--out", str(out), "--depth", "0"]
    code = await asyncio.to_thread(main, [*args, "--config", str(tmp_path / "mirror.toml")])
    assert code == 0
    (written,) = out.glob("cdt-*.warc.gz")
    assert any(r["uri"] == ARTICLE_URL for r in read_records(written))
