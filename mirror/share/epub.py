"""Articles as EPUB 3 e-books, built with the standard library's zipfile.

An EPUB is a ZIP whose first entry is ``mimetype``, stored uncompressed, then
``META-INF/container.xml`` pointing at the package document (OPF), whose manifest lists
every file and whose spine gives the reading order. The identifier is derived from the
article's address, so every copy of one article is the same book and carries nothing
about who downloaded it. The last entry, ``META-INF/mirror-signature.json``, signs all the
others (``mirror.share.signature``); reading systems ignore it.
"""

from __future__ import annotations

import html
import uuid
import zipfile
from collections.abc import Callable, Mapping
from io import BytesIO

from lxml import etree

from mirror.render.html import Reader, render_page
from mirror.share.download import Download, FileDetails, Image, prepare_body
from mirror.share.signature import sign_epub

MEDIA_TYPE = "application/epub+zip"
EPUB_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
CONTAINER = """<?xml version="1.0" encoding="utf-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles>
<rootfile full-path="OEBPS/package.opf" media-type="application/oebps-package+xml"/>
</rootfiles>
</container>
"""
STYLE = """body { line-height: 1.6; }
h1 { line-height: 1.25; }
img { max-width: 100%; height: auto; }
blockquote { margin: 1em 0; padding-inline-start: 1em; border-inline-start: 3px solid #888; }
.meta, .provenance { color: #555; font-size: .9em; }
.provenance { word-break: break-all; }
"""

# One entry of the book: its name, its content and how it is compressed.
Entry = tuple[str, bytes, int]


def build_epub(
    reader: Reader,
    download: Download,
    body_html: str,
    images: Mapping[str, Image],
    href_for: Callable[[str], str],
) -> bytes:
    """The article as a signed EPUB 3 file (images that are not EPUB core types are left out)."""
    return pack_epub(
        epub_entries(reader, download.unsigned(), body_html, images, href_for), download
    )


def epub_entries(
    reader: Reader,
    download: FileDetails,
    body_html: str,
    images: Mapping[str, Image],
    href_for: Callable[[str], str],
) -> list[Entry]:
    """The book's entries (name, content, compression) before its signature: the costly
    part, which a transform process makes without ever holding the key."""
    usable = {url: image for url, image in images.items() if image.content_type in EPUB_IMAGE_TYPES}
    root = prepare_body(
        body_html, lambda url: usable[url].name if url in usable else None, href_for
    )
    body = "".join(etree.tostring(child, method="xml", encoding="unicode") for child in root)
    body = html.escape(root.text or "", quote=False) + body
    lang = download.article.lang or "und"
    context = {
        "article": download.article,
        "lang": lang,
        "site_name": download.site_name,
        "body": body,
        "images": list(usable.values()),
        "identifier": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, download.article.url)}",
        "modified": download.fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "download": download,
    }
    texts = {
        "META-INF/container.xml": CONTAINER,
        "OEBPS/package.opf": render_page(reader, "epub-package.opf", **context),
        "OEBPS/nav.xhtml": render_page(reader, "epub-nav.xhtml", **context),
        "OEBPS/article.xhtml": render_page(reader, "epub-chapter.xhtml", **context),
        "OEBPS/style.css": STYLE,
    }
    entries = [("mimetype", MEDIA_TYPE.encode("ascii"), zipfile.ZIP_STORED)]
    entries += [(name, text.encode("utf-8"), zipfile.ZIP_DEFLATED) for name, text in texts.items()]
    entries += [(f"OEBPS/{i.name}", i.data, zipfile.ZIP_STORED) for i in usable.values()]
    return entries


def pack_epub(entries: list[Entry], download: Download) -> bytes:
    """``entries`` signed and zipped, the signature last, where the key is."""
    signature = sign_epub(
        [(name, data) for name, data, _ in entries], download.stored, download.key
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in [*entries, (*signature, zipfile.ZIP_DEFLATED)]:
            # A bare ZipInfo: no extra field (mimetype at its fixed offset), a fixed date.
            archive.writestr(zipfile.ZipInfo(name), data, compression)
    return buffer.getvalue()
