"""EPUB 3 downloads pass a structural check: OCF container, OPF manifest and spine."""

from __future__ import annotations

import posixpath
import struct
import zipfile
from io import BytesIO

from lxml import etree

from mirror.links import Kind
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_URL, CHINESE_URL, RunningMirror

OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"


def check_structure(book: bytes) -> tuple[zipfile.ZipFile, etree._Element, str]:
    """Assert the OCF rules an EPUB reader relies on; return the archive, OPF and its folder."""
    # mimetype first, stored, no extra field: its bytes sit at a fixed offset for sniffing.
    signature, name_length, extra_length = struct.unpack("<I22xHH", book[:30])
    assert signature == 0x04034B50
    assert book[30 : 30 + name_length] == b"mimetype" and extra_length == 0
    archive = zipfile.ZipFile(BytesIO(book))
    first = archive.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert archive.read("mimetype") == b"application/epub+zip"
    assert archive.testzip() is None
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    rootfile = container.find(f"{CONTAINER}rootfiles/{CONTAINER}rootfile")
    assert rootfile is not None
    opf_path = rootfile.get("full-path", "")
    opf = etree.fromstring(archive.read(opf_path))
    assert opf.get("version") == "3.0"
    folder = posixpath.dirname(opf_path)
    names = set(archive.namelist())
    manifest = {}
    for item in opf.iterfind(f"{OPF}manifest/{OPF}item"):
        path = posixpath.join(folder, item.get("href", ""))
        assert path in names, path
        manifest[item.get("id")] = (path, item.get("media-type"), item.get("properties", ""))
        if item.get("media-type") == "application/xhtml+xml":
            etree.fromstring(archive.read(path))  # well-formed XHTML
    assert any("nav" in properties.split() for _, _, properties in manifest.values())
    spine = [ref.get("idref") for ref in opf.iterfind(f"{OPF}spine/{OPF}itemref")]
    assert spine and all(ref in manifest for ref in spine)
    listed = {path for path, _, _ in manifest.values()}
    signature = "META-INF/mirror-signature.json"  # outside the package, as META-INF files are
    assert names - listed == {"mimetype", "META-INF/container.xml", signature, opf_path}
    return archive, opf, folder


async def epub_of(mirror: RunningMirror, url: str) -> tuple[bytes, str]:
    token = mirror.app[LINKS].seal(url, Kind.PAGE)
    response, body = await mirror.get_bytes(f"/d/{token}.epub")
    assert response.status == 200
    assert response.content_type == "application/epub+zip"
    assert token not in response.headers["Content-Disposition"]
    return body, token


async def test_epub_structure_and_metadata(running_mirror: RunningMirror) -> None:
    book, token = await epub_of(running_mirror, ARTICLE_URL)
    archive, opf, folder = check_structure(book)
    metadata = opf.find(f"{OPF}metadata")
    assert metadata is not None
    assert metadata.findtext(f"{DC}title") == "Western Countries Turn Up the Heat on Xinjiang"
    assert metadata.findtext(f"{DC}language") == "en-US"
    identifier = metadata.findtext(f"{DC}identifier") or ""
    assert identifier.startswith("urn:uuid:")
    again, _ = await epub_of(running_mirror, ARTICLE_URL)
    assert check_structure(again)[1].findtext(f"{OPF}metadata/{DC}identifier") == identifier
    chapter = archive.read(posixpath.join(folder, "article.xhtml")).decode("utf-8")
    assert "re-education camps" in chapter
    assert token not in chapter
    images = [n for n in archive.namelist() if n.startswith(f"{folder}/images/")]
    assert images and archive.read(images[0]).startswith(b"RIFF")


async def test_chinese_epub(running_mirror: RunningMirror) -> None:
    book, _ = await epub_of(running_mirror, CHINESE_URL)
    archive, opf, folder = check_structure(book)
    assert opf.findtext(f"{OPF}metadata/{DC}language") == "zh-CN"
    assert "维吾尔" in archive.read(posixpath.join(folder, "article.xhtml")).decode("utf-8")
