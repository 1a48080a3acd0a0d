"""The publish's copy is made from what the mirror holds: read from the store with the
origin down (an article it removed, a pushed one), with the signed files the live mirror
serves beside each page, linked from it and verifying with the mirror's key."""

from __future__ import annotations

import posixpath
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import lxml.html

from mirror.addresses import manifest
from mirror.links import Kind
from mirror.settings import Config
from mirror.share.export import DOWNLOADS, article_file
from mirror.share.publish import run_publish
from mirror.share.signature import verify
from mirror.web.appkeys import LINKS
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    CHINESE_PATH,
    CHINESE_URL,
    Origin,
    open_cache,
    open_mirror,
    serve_mirror,
)
from tests.support.operator_fixtures import operator_config
from tests.support.paths import CDT
from tests.support.publishing import hold

ARTICLE_KEY = "cdt/" + article_file(ARTICLE_URL)
PUSHED_MARKER = "Words only the publisher's pushed copy has."


def directory_config(tmp_path: Path, origin: Origin, ca_file: Path, extra: str = "") -> Config:
    target = f'[[publish]]\nurl = "{(tmp_path / "copy").as_uri()}"'
    return operator_config(tmp_path, origin, ca_file, extra=extra, site=target)


async def removed_at_origin(config: Config, origin: Origin, url: str, path: str) -> None:
    """The origin takes ``url`` away and the mirror sees it: its copy is kept as removed."""
    async with open_cache(config) as cache:
        stored = await cache.get_page(url)
        assert stored is not None
        await cache.put_page(url, replace(stored, fetched_at=1.0))  # due for a refresh
    del origin.routes[path]
    async with open_mirror(config) as mirror:
        served = await mirror.page(url)
    assert served.stored.removed_at is not None


async def test_the_copy_is_read_from_the_store_with_the_origin_down(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = directory_config(tmp_path, origin, ca_file)
    await hold(config, ARTICLE_URL)
    await removed_at_origin(config, origin, ARTICLE_URL, ARTICLE_PATH)
    page = (CDT / "article.html").read_text("utf-8").replace("<p>", f"<p>{PUSHED_MARKER} ", 1)
    async with open_mirror(config) as mirror:
        await mirror.accept(CHINESE_URL, page.encode(), "utf-8", "publisher", time.time())
    await origin.stop()
    hits = sum(origin.hits.values())

    [report] = await run_publish(config, prune=True)
    copy = tmp_path / "copy"
    assert sum(origin.hits.values()) == hits
    removed = (copy / ARTICLE_KEY).read_text("utf-8")
    assert "Western Countries Turn Up the Heat on Xinjiang" in removed
    pushed = (copy / "cdt" / article_file(CHINESE_URL)).read_text("utf-8")
    assert PUSHED_MARKER in pushed
    listing = (copy / "cdt" / "index.html").read_text("utf-8")
    assert ARTICLE_PATH.strip("/") in listing and CHINESE_PATH.strip("/") in listing
    assert report.objects > 0


async def test_signed_files_are_the_live_mirrors_linked_and_verifying(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = directory_config(tmp_path, origin, ca_file, extra='public_url = "https://m.test"')
    await hold(config, ARTICLE_URL)
    await run_publish(config)
    copy = tmp_path / "copy"
    root = lxml.html.document_fromstring((copy / ARTICLE_KEY).read_bytes())
    hrefs = [a.get("href", "") for a in root.cssselect("p.downloads a")]
    assert len(hrefs) == len(DOWNLOADS)
    files = {
        posixpath.normpath(posixpath.join(posixpath.dirname(ARTICLE_KEY), unquote(h)))
        for h in hrefs
    }
    assert {posixpath.basename(f) for f in files} == set(DOWNLOADS.values())
    public_key = manifest.load_signing_key(config.server.data_dir).public_key()
    published = {posixpath.splitext(f)[1][1:]: (copy / f).read_bytes() for f in files}
    for extension, data in published.items():
        checked = verify(data, public_key)
        assert checked.signed.url == ARTICLE_URL and checked.signed.format == extension
        assert not checked.key_from_file
    made = {f: (copy / f).stat().st_mtime_ns for f in files}
    await run_publish(config)  # the same copy held: its files are not made again
    assert {f: (copy / f).stat().st_mtime_ns for f in files} == made

    async with serve_mirror(config) as running:
        token = running.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
        for extension, data in published.items():
            path = f"/d/{token}.{extension}"
            async with running.client.get(running.base + path) as response:
                assert response.status == 200
                assert await response.read() == data, f"{extension} differs from the live one"
