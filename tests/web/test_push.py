"""Copies sent to a running mirror: publishers' signed pushes and contributors' captures.

Every refusal is checked twice: by its status, and by the store still holding what it held
before (nothing, or the earlier copy), read through the running mirror's own orchestrator.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.article import StoredPage
from mirror.links import Kind
from mirror.render.i18n import LANGUAGES, long_date, translations
from mirror.signedpush import Push, public_key_text, sign
from mirror.web.appkeys import CONFIG, LINKS, MIRROR
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    Origin,
    RunningMirror,
    open_cache,
    serve_mirror,
    tiny_png,
)
from tests.support.operator_fixtures import operator_config
from tests.support.paths import CDT

MARKER = "Words only the copy of the publisher has."
CAPTURE_MARKER = "Words only the capture of a contributor has."
CONTRIBUTOR_KEY = "contributor-key-of-alice-0123456789"
REVOKED_KEY = "contributor-key-of-bob-0123456789"
CAPTURE_LABEL = "Captured by a contributor on %(date)s."


def article_with(marker: str) -> bytes:
    page = (CDT / "article.html").read_text("utf-8")
    lead = "At the Universal Periodic Review"
    return page.replace(lead, f"{marker} {lead}", 1).encode("utf-8")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


@pytest.fixture(scope="module")
def publisher_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
async def mirror(
    tmp_path: Path, origin: Origin, ca_file: Path, publisher_key: Ed25519PrivateKey
) -> AsyncIterator[RunningMirror]:
    site = f"""push_keys = ["{public_key_text(publisher_key)}"]

[push]
window_seconds = 60
max_bytes = 300000

[[contributors]]
name = "alice"
key_sha256 = "{key_hash(CONTRIBUTOR_KEY)}"

[[contributors]]
name = "bob"
key_sha256 = "{key_hash(REVOKED_KEY)}"
revoked = true
"""
    config = operator_config(tmp_path, origin, ca_file, site=site)
    async with serve_mirror(config) as running:
        yield running


async def send(mirror: RunningMirror, push: Push | bytes) -> tuple[int, dict[str, Any]]:
    body = push if isinstance(push, bytes) else push.to_json()
    async with mirror.client.post(mirror.base + "/api/push", data=body) as response:
        return response.status, await response.json()


async def stored(mirror: RunningMirror) -> StoredPage | None:
    return await mirror.app[MIRROR].stored(ARTICLE_URL)


async def test_a_signed_push_is_stored_and_served_without_asking_the_origin(
    mirror: RunningMirror, origin: Origin, publisher_key: Ed25519PrivateKey
) -> None:
    status, answer = await send(mirror, sign(publisher_key, ARTICLE_URL, article_with(MARKER)))
    assert status == 201, answer
    assert answer["source"] == "publisher"
    copy = await stored(mirror)
    assert copy is not None
    assert copy.source == "publisher"
    assert time.time() - copy.fetched_at < 10
    response, page = await mirror.get("/s/cdt" + ARTICLE_PATH)
    assert response.status == 200
    assert MARKER in page
    assert "Western Countries Turn Up the Heat on Xinjiang" in page
    assert origin.hits[ARTICLE_PATH] == 0
    _, by_link = await mirror.get(answer["link"].removeprefix(mirror.base))
    assert MARKER in by_link


async def test_a_push_replaces_the_page_readers_already_get(
    mirror: RunningMirror, origin: Origin, publisher_key: Ed25519PrivateKey
) -> None:
    _, before = await mirror.get("/s/cdt" + ARTICLE_PATH)
    assert MARKER not in before
    assert (await send(mirror, sign(publisher_key, ARTICLE_URL, article_with(MARKER))))[0] == 201
    _, after = await mirror.get("/s/cdt" + ARTICLE_PATH)
    assert MARKER in after
    assert origin.hits[ARTICLE_PATH] == 1


async def test_a_push_replaces_the_downloads_readers_already_get(
    mirror: RunningMirror, publisher_key: Ed25519PrivateKey
) -> None:
    """Downloads are kept like renderings, under the page token: a push drops them too."""
    token = mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    paths = (f"/d/{token}.html", f"/d/{token}.epub")
    for path in paths:
        _, before = await mirror.get_bytes(path)
        assert MARKER.encode() not in before
    assert (await send(mirror, sign(publisher_key, ARTICLE_URL, article_with(MARKER))))[0] == 201
    _, page = await mirror.get_bytes(paths[0])
    assert MARKER.encode() in page
    _, book = await mirror.get_bytes(paths[1])
    with zipfile.ZipFile(BytesIO(book)) as archive:
        assert MARKER in archive.read("OEBPS/article.xhtml").decode()


async def test_a_pushed_page_goes_through_the_same_pipeline(
    mirror: RunningMirror, publisher_key: Ed25519PrivateKey
) -> None:
    hostile = article_with('<img src=x onerror="alert(1)"><script>alert(2)</script>' + MARKER)
    status, _ = await send(mirror, sign(publisher_key, ARTICLE_URL, hostile))
    assert status == 201
    copy = await stored(mirror)
    assert copy is not None
    assert MARKER in copy.article.body
    assert "onerror" not in copy.article.body
    assert "<script" not in copy.article.body


def tampered(push: Push) -> Push:
    return replace(push, html=push.html.replace(b"Xinjiang", b"Xinjiamg", 1))


def stale(key: Ed25519PrivateKey) -> Push:
    return sign(key, ARTICLE_URL, article_with(MARKER), now=time.time() - 3600)


def future(key: Ed25519PrivateKey) -> Push:
    return sign(key, ARTICLE_URL, article_with(MARKER), now=time.time() + 3600)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("bad signature", 401),
        ("another url", 401),
        ("unknown key", 403),
        ("old timestamp", 401),
        ("future timestamp", 401),
        ("off-site url", 403),
        ("not json", 400),
        ("oversized", 413),
    ],
)
async def test_a_refused_push_stores_nothing(
    mirror: RunningMirror, publisher_key: Ed25519PrivateKey, case: str, status: int
) -> None:
    good = sign(publisher_key, ARTICLE_URL, article_with(MARKER))
    pushes: dict[str, Push | bytes] = {
        "bad signature": tampered(good),
        "another url": replace(good, url=ARTICLE_URL + "?other"),
        "unknown key": sign(Ed25519PrivateKey.generate(), ARTICLE_URL, article_with(MARKER)),
        "old timestamp": stale(publisher_key),
        "future timestamp": future(publisher_key),
        "off-site url": sign(publisher_key, "https://example.org/a/", article_with(MARKER)),
        "not json": b"url=" + ARTICLE_URL.encode(),
        "oversized": sign(publisher_key, ARTICLE_URL, article_with("x" * 400_000)),
    }
    answer_status, answer = await send(mirror, pushes[case])
    assert answer_status == status, answer
    assert answer["detail"]
    assert await stored(mirror) is None
    assert await mirror.app[MIRROR].stored(ARTICLE_URL + "?other") is None


async def test_a_replayed_push_is_refused_and_changes_nothing(
    mirror: RunningMirror, publisher_key: Ed25519PrivateKey
) -> None:
    first = sign(publisher_key, ARTICLE_URL, article_with(MARKER))
    assert (await send(mirror, first))[0] == 201
    kept = await stored(mirror)
    status, answer = await send(mirror, first)
    assert status == 401
    assert "replay" in answer["detail"]
    assert await stored(mirror) == kept


async def upload(
    mirror: RunningMirror,
    html: bytes | None,
    key: str | None = CONTRIBUTOR_KEY,
    url: str = ARTICLE_URL,
    captured: str = "",
    path: str = "/api/capture",
) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("url", url)
    if html is not None:
        form.add_field("html", html, filename="page.html", content_type="text/html")
    form.add_field("captured", captured)
    if key is not None:
        form.add_field("key", key)
    async with mirror.client.post(mirror.base + path, data=form) as response:
        return response.status, await response.text()


def capture_label(tag: str, day: datetime.date) -> str:
    words = translations(tag).gettext(CAPTURE_LABEL)
    return words % {"date": long_date(day, LANGUAGES[tag])}


async def test_a_contributor_capture_is_stored_and_labelled(
    mirror: RunningMirror, origin: Origin
) -> None:
    async def forbidden(request: web.Request) -> web.Response:
        raise web.HTTPForbidden

    origin.routes[ARTICLE_PATH] = forbidden
    status, answer = await upload(mirror, article_with(CAPTURE_MARKER), captured="2025-03-04")
    assert status == 201, answer
    copy = await stored(mirror)
    assert copy is not None
    assert copy.source == "contributor"
    day = datetime.date(2025, 3, 4)
    assert copy.fetched_at == datetime.datetime(2025, 3, 4, tzinfo=datetime.UTC).timestamp()
    for tag in LANGUAGES:
        assert tag == "en" or translations(tag).gettext(CAPTURE_LABEL) != CAPTURE_LABEL
        headers = {"Accept-Language": tag}
        _, page = await mirror.get("/s/cdt" + ARTICLE_PATH, headers=headers)
        assert CAPTURE_MARKER in page
        assert capture_label(tag, day) in page, tag
    assert origin.hits[ARTICLE_PATH] >= 1, "an old capture stands in only while the origin fails"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("without a key", 401),
        ("unknown key", 403),
        ("revoked key", 403),
        ("oversized", 413),
        ("not html", 415),
        ("off-site url", 403),
        ("no file", 400),
        ("future date", 400),
    ],
)
async def test_a_refused_capture_stores_nothing(
    mirror: RunningMirror, case: str, status: int
) -> None:
    page = article_with(CAPTURE_MARKER)
    uploads: dict[str, dict[str, Any]] = {
        "without a key": {"key": None},
        "unknown key": {"key": "not-a-contributor-key-at-all"},
        "revoked key": {"key": REVOKED_KEY},
        "oversized": {"html": article_with("y" * 400_000)},
        "not html": {"html": tiny_png()},
        "off-site url": {"url": "https://example.org/2018/11/article/"},
        "no file": {"html": None},
        "future date": {"captured": "2999-01-01"},
    }
    arguments = {"html": page, **uploads[case]}
    answer_status, answer = await upload(mirror, **arguments)
    assert answer_status == status, answer
    assert await stored(mirror) is None
    assert await mirror.app[MIRROR].stored(arguments.get("url", ARTICLE_URL)) is None


async def test_a_capture_never_replaces_a_newer_copy(
    mirror: RunningMirror, origin: Origin, publisher_key: Ed25519PrivateKey
) -> None:
    await mirror.get("/s/cdt" + ARTICLE_PATH)
    from_origin = await stored(mirror)
    assert from_origin is not None
    assert from_origin.source == "origin"
    yesterday = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).date()
    status, answer = await upload(mirror, article_with(CAPTURE_MARKER), captured=str(yesterday))
    assert status == 409, answer
    assert await stored(mirror) == from_origin
    assert (await send(mirror, sign(publisher_key, ARTICLE_URL, article_with(MARKER))))[0] == 201
    from_publisher = await stored(mirror)
    status, _ = await upload(mirror, article_with(CAPTURE_MARKER), captured=str(yesterday))
    assert status == 409
    assert await stored(mirror) == from_publisher


async def test_the_capture_form_works_without_scripts(mirror: RunningMirror) -> None:
    response, form = await mirror.get("/contribute")
    assert response.status == 200
    assert "<script" not in form
    assert 'enctype="multipart/form-data"' in form
    assert 'type="password"' in form
    assert "script-src" not in response.headers["Content-Security-Policy"]
    status, page = await upload(mirror, article_with(CAPTURE_MARKER), path="/contribute")
    assert status == 200
    assert "the copy was stored" in page
    copy = await stored(mirror)
    assert copy is not None
    assert copy.source == "contributor"
    status, error_page = await upload(mirror, tiny_png(), path="/contribute")
    assert status == 415
    assert "This copy was not accepted" in error_page
    assert "The file is not an HTML page." in error_page


async def test_a_capture_never_replaces_a_copy_kept_as_removed(mirror: RunningMirror) -> None:
    await mirror.get("/s/cdt" + ARTICLE_PATH)
    from_origin = await stored(mirror)
    assert from_origin is not None
    kept = replace(from_origin, fetched_at=from_origin.fetched_at - 86400, removed_at=time.time())
    async with open_cache(mirror.app[CONFIG]) as cache:
        await cache.put_page(ARTICLE_URL, kept)
    status, answer = await upload(mirror, article_with(CAPTURE_MARKER))
    assert status == 409, answer
    assert "removed" in answer
    assert await stored(mirror) == kept
