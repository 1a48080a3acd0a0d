"""Single-file HTML downloads: self-contained, and readable from disk with the network off."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from mirror.article import Article, StoredPage
from mirror.keys import public_key_text
from mirror.links import Kind
from mirror.share.download import (
    Download,
    content_disposition,
    prepare_body,
    single_file,
    unsigned_single_file,
)
from mirror.share.signature import HTML_TAIL, verify
from mirror.web.readers import reader_choices
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_URL, CHINESE_URL, RunningMirror
from tests.support.browser import launch, new_context, visit

RESOURCE_ATTRIBUTES = ("src", "srcset", "poster", "data", "background")


def test_file_names_come_from_the_title_only() -> None:
    header = content_disposition("Western Countries: Turn Up the Heat?", "html")
    assert header == (
        'attachment; filename="western-countries-turn-up-the-heat.html"; '
        "filename*=UTF-8''Western%20Countries%20Turn%20Up%20the%20Heat.html"
    )
    chinese = content_disposition("新疆：维吾尔家庭的呼声", "epub")
    assert 'filename="article.epub"' in chinese
    assert "filename*=UTF-8''%E6%96%B0" in chinese
    assert 'filename="article.html"' in content_disposition('../"/', "html")


def test_a_transform_process_renders_the_file_without_the_private_key() -> None:
    """What crosses to the transform process carries the public half only; the file it
    renders, signed in the server, is the same file ``single_file`` makes in one go."""
    key = Ed25519PrivateKey.generate()
    article = Article(url=ARTICLE_URL, title="A title", body="<p>words</p>")
    details = Download(
        StoredPage(article=article, fetched_at=1_700_000_000.0),
        share_url="https://mirror.example/m/x",
        manifest_url="https://mirror.example/.well-known/mirrors.json",
        key=key,
        site_name="CDT",
    )
    crossing = pickle.dumps(details.unsigned())
    secret = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert secret not in crossing
    assert public_key_text(key).encode() in crossing
    reader = reader_choices("", "", pictures_default="full")
    rendered = unsigned_single_file(reader, pickle.loads(crossing), article.body, {}, "", str)
    signed = single_file(reader, details, article.body, {}, "", str)
    assert signed.startswith(rendered.encode().removesuffix(HTML_TAIL))
    assert signed != rendered.encode(), "the file the server sends is signed"
    assert verify(signed, key.public_key()).signed.title == "A title"


def test_prepare_body_swaps_images_and_drops_sources() -> None:
    body = (
        '<p><a href="https://a.example/x">x</a><img src="https://a.example/1.png" '
        'srcset="https://a.example/2.png 2x" loading="lazy" alt="one"></p>'
        '<picture><source srcset="https://a.example/3.webp"><img src="https://a.example/4.png" '
        'alt="four"></picture><img src="https://a.example/5.png">'
    )
    root = prepare_body(
        body,
        lambda url: "data:image/png;base64,AA" if url.endswith("1.png") else None,
        lambda url: "https://mirror.example/m/token",
    )
    html = lxml.html.tostring(root, encoding="unicode")
    assert "a.example" not in html
    assert 'src="data:image/png;base64,AA"' in html and "srcset" not in html
    assert '<span class="image-alt">[four]</span>' in html
    assert 'href="https://mirror.example/m/token"' in html


def external_references(html: str) -> list[str]:
    """Every URL in the file that a browser would load by itself (not data: URIs)."""
    page = lxml.html.document_fromstring(html)
    found = [str(href) for href in page.xpath("//link/@href")]
    found += [str(script.tag) for script in page.iter("script")]
    for element in page.iter():
        for attribute in RESOURCE_ATTRIBUTES:
            value = element.get(attribute)
            if value and not value.startswith("data:"):
                found.append(value)
    return found


async def download(mirror: RunningMirror, url: str, extension: str) -> tuple[Any, bytes]:
    token = mirror.app[LINKS].seal(url, Kind.PAGE)
    return await mirror.get_bytes(f"/d/{token}.{extension}")


async def test_download_is_self_contained(running_mirror: RunningMirror) -> None:
    response, body = await download(running_mirror, ARTICLE_URL, "html")
    assert response.status == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="western-countries-turn-up-the-heat')
    token = running_mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    assert token not in disposition
    html = body.decode("utf-8")
    assert external_references(html) == []
    assert "data:image/webp;base64," in html
    assert "<style>" in html and "default-src 'none'" in html
    assert "<script" not in html.lower()


async def test_downloaded_file_opens_from_disk_offline(
    running_mirror: RunningMirror, tmp_path: Path, expected: dict[str, Any]
) -> None:
    for url, name in ((ARTICLE_URL, "article.html"), (CHINESE_URL, "chinese.html")):
        _, body = await download(running_mirror, url, "html")
        (tmp_path / name).write_bytes(body)
    async with launch() as browser, new_context(browser, offline=True) as context:
        loaded = await visit(context, (tmp_path / "article.html").as_uri(), "load")
        text = await loaded.page.inner_text("body")
        for paragraph in expected["paragraphs_in_order"][:3]:
            assert paragraph in text
        images = loaded.page.locator("img")
        assert await images.count() >= 1
        widths = await images.evaluate_all("all => all.map(i => i.complete && i.naturalWidth)")
        assert all(width and width > 0 for width in widths), widths
        chinese = await visit(context, (tmp_path / "chinese.html").as_uri(), "load")
        assert "维吾尔" in await chinese.page.inner_text("body")
        for record in (loaded, chinese):
            schemes = {urlsplit(url).scheme for url in record.requests}
            assert schemes <= {"file", "data"}, record.requests
            assert record.console_errors == []
