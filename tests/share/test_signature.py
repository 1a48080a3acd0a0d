"""Signed downloads: the CDT article's HTML and EPUB verify with the key the mirror publishes,
and fail for any changed byte of the article, a changed title, or another key."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror.article import Article, StoredPage
from mirror.keys import (
    b64encode,
    canonical_json,
    parse_public_key,
    public_key_text,
    strict_b64decode,
)
from mirror.links import Kind
from mirror.settings import Config
from mirror.share.signature import (
    EPUB_ENTRY,
    HTML_ELEMENT,
    SignatureInvalid,
    sign_epub,
    sign_html,
    verify,
)
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin, RunningMirror, serve_mirror
from tests.support.removal_fixtures import always_ask, remove_at_origin

TITLE = "Western Countries Turn Up the Heat on Xinjiang"
PAGE = "<!doctype html>\n<html><head><title>t</title></head><body><p>words</p>\n</body>\n</html>"


async def published_key(mirror: RunningMirror) -> Ed25519PublicKey:
    """The key as a reader finds it: the public_key of /.well-known/mirrors.json."""
    _, body = await mirror.get_bytes("/.well-known/mirrors.json")
    return parse_public_key(json.loads(body)["manifest"]["public_key"])


async def downloaded(mirror: RunningMirror, extension: str) -> bytes:
    token = mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    response, body = await mirror.get_bytes(f"/d/{token}.{extension}")
    assert response.status == 200
    return body


def rebuilt(book: bytes, name: str, change: bytes, into: bytes) -> bytes:
    """``book`` written again with the entry ``name`` edited, every other entry as it was."""
    source = zipfile.ZipFile(BytesIO(book))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == name:
                assert change in data
                data = data.replace(change, into, 1)
            target.writestr(info, data)
    return out.getvalue()


def stored(**changes: object) -> StoredPage:
    article = Article(url=ARTICLE_URL, title=TITLE, body="<p>words</p>", published="2018-11-16")
    return replace(StoredPage(article=article, fetched_at=1_700_000_000.9), **changes)  # type: ignore[arg-type]


async def test_untouched_downloads_verify_with_the_published_key(
    running_mirror: RunningMirror,
) -> None:
    key = await published_key(running_mirror)
    for extension in ("html", "epub"):
        checked = verify(await downloaded(running_mirror, extension), key)
        assert checked.signed.format == extension
        assert checked.signed.url == ARTICLE_URL
        assert checked.signed.title == TITLE
        assert checked.signed.source == "origin"
        assert checked.signed.published.startswith("2018-11")
        assert checked.signed.saved_at.endswith("Z")
        assert not checked.key_from_file


async def test_the_file_tells_its_reader_where_the_key_is_published(
    running_mirror: RunningMirror,
) -> None:
    key = public_key_text(await published_key(running_mirror))
    address = f"{running_mirror.base}/.well-known/mirrors.json"
    page = (await downloaded(running_mirror, "html")).decode("utf-8")
    book = zipfile.ZipFile(BytesIO(await downloaded(running_mirror, "epub")))
    chapter = book.read("OEBPS/article.xhtml").decode("utf-8")
    for text in (page, chapter):
        assert key in text and address in text and "mirror verify FILE --public-key=KEY" in text
    _, russian = await running_mirror.get_bytes(
        f"/d/{running_mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)}.html?hl=ru"
    )
    assert "Чтобы проверить, что файл не изменён:" in russian.decode("utf-8")


async def test_every_changed_byte_of_the_html_fails(running_mirror: RunningMirror) -> None:
    key = await published_key(running_mirror)
    page = await downloaded(running_mirror, "html")
    start = page.index(b"<article>")
    word = page.index(b"re-education camps", start)
    positions = {word, word + 1, *range(0, len(page), max(1, len(page) // 300)), len(page) - 1}
    for position in sorted(positions):
        changed = bytearray(page)
        changed[position] ^= 0x01
        with pytest.raises(SignatureInvalid):
            verify(bytes(changed), key)
    with pytest.raises(SignatureInvalid, match="changed after"):
        verify(page.replace(b"re-education camps", b"re-education campus", 1), key)
    with pytest.raises(SignatureInvalid):
        verify(page + b"\n", key)


async def test_a_changed_title_fails_wherever_it_is_changed(running_mirror: RunningMirror) -> None:
    key = await published_key(running_mirror)
    page = await downloaded(running_mirror, "html")
    forged_title = TITLE.replace("Heat", "Pressure").encode()
    for shown in (b"<h1>" + TITLE.encode(), b"<title>" + TITLE.encode()):
        with pytest.raises(SignatureInvalid, match="changed after"):
            verify(page.replace(shown, shown.replace(TITLE.encode(), forged_title), 1), key)
    found = HTML_ELEMENT.search(page)
    assert found is not None
    document = json.loads(strict_b64decode(found.group(1).decode()))
    document["signed"]["title"] = forged_title.decode()
    respelled = b64encode(canonical_json(document)).encode()
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(page.replace(found.group(1), respelled), key)


async def test_a_changed_epub_fails(running_mirror: RunningMirror) -> None:
    key = await published_key(running_mirror)
    book = await downloaded(running_mirror, "epub")
    article = "OEBPS/article.xhtml"
    for name, change, into in (
        (article, b"re-education camps", b"re-education campus"),
        (article, TITLE.encode(), TITLE.replace("Heat", "Pressure").encode()),
        ("OEBPS/package.opf", TITLE.encode(), TITLE.replace("Heat", "Pressure").encode()),
        ("OEBPS/style.css", b"line-height: 1.6", b"line-height: 1.7"),
    ):
        with pytest.raises(SignatureInvalid, match="changed after"):
            verify(rebuilt(book, name, change, into), key)
    image = next(n for n in zipfile.ZipFile(BytesIO(book)).namelist() if "/images/" in n)
    with pytest.raises(SignatureInvalid, match="changed after"):
        verify(rebuilt(book, image, b"WEBP", b"WEBQ"), key)
    flipped = bytearray(book)
    flipped[len(book) // 2] ^= 1  # inside a compressed or stored entry: its CRC no longer holds
    with pytest.raises(SignatureInvalid):
        verify(bytes(flipped), key)


async def test_an_added_or_missing_entry_fails(running_mirror: RunningMirror) -> None:
    key = await published_key(running_mirror)
    book = await downloaded(running_mirror, "epub")
    added = BytesIO(book)
    with zipfile.ZipFile(added, "a") as archive:
        archive.writestr("OEBPS/extra.xhtml", "<p>a forged appendix</p>")
    with pytest.raises(SignatureInvalid, match="changed after"):
        verify(added.getvalue(), key)
    source = zipfile.ZipFile(BytesIO(book))
    unsigned = BytesIO()
    with zipfile.ZipFile(unsigned, "w") as target:
        for info in source.infolist():
            if info.filename != EPUB_ENTRY:
                target.writestr(info, source.read(info))
    with pytest.raises(SignatureInvalid, match="no single"):
        verify(unsigned.getvalue(), key)


async def test_another_key_fails(running_mirror: RunningMirror, tmp_path: Path) -> None:
    stranger = Ed25519PrivateKey.generate().public_key()
    for extension in ("html", "epub"):
        with pytest.raises(SignatureInvalid, match="another key"):
            verify(await downloaded(running_mirror, extension), stranger)


def test_a_forgery_signed_with_its_own_key_passes_only_without_a_trusted_key() -> None:
    mirror_key, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = sign_html(PAGE.replace("words", "forged words"), stored(), forger)
    assert verify(forged, None).key_from_file
    with pytest.raises(SignatureInvalid, match="another key"):
        verify(forged, mirror_key.public_key())


def test_the_signed_source_is_the_copys_standing() -> None:
    key = Ed25519PrivateKey.generate()
    for page, source in (
        (stored(), "origin"),
        (stored(source="archive"), "archive"),
        (stored(source="contributor"), "contributor"),
        (stored(removed_at=1_700_000_100.0), "removed"),
    ):
        checked = verify(sign_html(PAGE, page, key), key.public_key()).signed
        assert (checked.source, checked.saved_at) == (source, "2023-11-14T22:13:20Z")


def test_one_version_is_signed_the_same_way_every_time() -> None:
    """Ed25519 is deterministic: signing at download time gives what storing time would."""
    key = Ed25519PrivateKey.generate()
    assert sign_html(PAGE, stored(), key) == sign_html(PAGE, stored(), key)
    entries = [("mimetype", b"application/epub+zip"), ("OEBPS/a.xhtml", b"<p/>")]
    assert sign_epub(entries, stored(), key) == sign_epub(entries, stored(), key)
    assert sign_html(PAGE, stored(), key) != sign_html(PAGE, stored(fetched_at=1.0), key)


def test_files_that_are_not_signed_fail() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    for data in (PAGE.encode(), b"", b"PK\x03\x04 not a zip", b"\xff\xfe"):
        with pytest.raises(SignatureInvalid):
            verify(data, key)
    with pytest.raises(ValueError, match="must end"):
        sign_html("<p>no end</p>", stored(), Ed25519PrivateKey.generate())


def test_an_oversized_signature_entry_is_refused_without_reading_it_whole() -> None:
    key = Ed25519PrivateKey.generate()
    book = BytesIO()
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("mimetype", b"application/epub+zip")
        archive.writestr(EPUB_ENTRY, b" " * (64 << 20), zipfile.ZIP_DEFLATED)  # 64 MiB of spaces
    assert len(book.getvalue()) < 1 << 20
    with pytest.raises(SignatureInvalid, match="too large"):
        verify(book.getvalue(), key.public_key())


async def test_a_removed_articles_download_is_signed_as_removed(
    config: Config, origin: Origin
) -> None:
    async with serve_mirror(always_ask(config)) as mirror:
        key = await published_key(mirror)
        assert verify(await downloaded(mirror, "html"), key).signed.source == "origin"
        remove_at_origin(origin, ARTICLE_PATH, "410")
        for extension in ("html", "epub"):
            checked = verify(await downloaded(mirror, extension), key).signed
            assert (checked.source, checked.title) == ("removed", TITLE)
