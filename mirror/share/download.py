"""Articles as files that travel where links are filtered: one self-contained HTML page.

The file must work opened from disk with no network: styles inline, images inlined as
``data:`` URIs up to a byte budget (the rest become their alt text), no ``srcset`` or
``<source>`` left to reach for, and a CSP in the page itself that forbids loading anything.
Nothing in the file or its name says who downloaded it: the name comes from the title.
Every file is signed (``mirror.share.signature``), so a copy passed on can be checked.
"""

from __future__ import annotations

import base64
import datetime
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import lxml.html
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lxml.html import HtmlElement

from mirror.article import Article, StoredPage
from mirror.errors import MirrorError
from mirror.keys import public_key_text
from mirror.render.html import Reader, inner_html, render_page
from mirror.share.signature import sign_html
from mirror.store.cache import StoredImage

FILE_NAME_CHARS = 80


@dataclass(frozen=True)
class Image:
    """An image fetched for a download, with the name it gets inside an EPUB."""

    url: str
    content_type: str
    data: bytes
    name: str

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def image_urls(body_html: str) -> list[str]:
    """The web images of a stored body, in document order, each once."""
    if not body_html.strip():
        return []
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    found = [img.get("src", "") for img in root.iter("img")]
    web = [u for u in found if urlsplit(u).scheme in {"http", "https"}]
    return list(dict.fromkeys(web))


async def collect_images(
    urls: list[str], fetch: Callable[[str], Awaitable[StoredImage]], budget: int
) -> dict[str, Image]:
    """Fetch images in order while they fit in ``budget`` bytes; failures are skipped."""
    images: dict[str, Image] = {}
    spent = 0
    for url in urls:
        try:
            fetched = await fetch(url)
        except MirrorError:
            continue
        if spent + len(fetched.body) > budget:
            continue
        spent += len(fetched.body)
        extension = fetched.content_type.split("/", 1)[1]
        name = f"images/{len(images) + 1}.{extension}"
        images[url] = Image(url, fetched.content_type, fetched.body, name)
    return images


def prepare_body(
    body_html: str, src_for: Callable[[str], str | None], href_for: Callable[[str], str]
) -> HtmlElement:
    """The stored body for a file: images swapped by ``src_for`` (or for their alt text when
    it gives ``None``), responsive sources dropped, link targets mapped by ``href_for``."""
    root = lxml.html.fragment_fromstring(body_html or "", create_parent="div")
    for source in list(root.iter("source")):
        source.drop_tag()  # libxml2's HTML parser may nest the next element inside it
    for image in list(root.iter("img")):
        for attribute in ("srcset", "sizes", "loading"):
            image.attrib.pop(attribute, None)
        src = src_for(image.get("src", ""))
        if src is None:
            _replace_with_alt(image)
        else:
            image.set("src", src)
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if href is not None and urlsplit(href).scheme in {"http", "https"}:
            anchor.set("href", href_for(href))
    return root


def _replace_with_alt(image: HtmlElement) -> None:
    alt = image.get("alt", "").strip()
    parent = image.getparent()
    assert parent is not None, "prepare_body wraps the body in a parent"
    if not alt:
        image.drop_tree()
        return
    note = lxml.html.Element("span")
    note.set("class", "image-alt")
    note.text = f"[{alt}]"
    note.tail = image.tail
    parent.replace(image, note)


@dataclass(frozen=True)
class FileDetails:
    """What both file formats print: the stored version, where it is read online, where the
    key that signs the file is published, and that key's public half. No private key: this
    is what a transform process renders a file from (the signing happens in the server)."""

    stored: StoredPage
    share_url: str
    manifest_url: str
    public_key: str
    site_name: str = ""

    @property
    def article(self) -> Article:
        return self.stored.article

    @property
    def fetched(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.stored.fetched_at, datetime.UTC)


@dataclass(frozen=True)
class Download:
    """What both file formats need: the stored version, where it is read online, where the
    key that signs the file is published, and the key itself (never written into the file)."""

    stored: StoredPage
    share_url: str
    manifest_url: str
    key: Ed25519PrivateKey = field(repr=False)
    site_name: str = ""

    @property
    def article(self) -> Article:
        return self.stored.article

    def unsigned(self) -> FileDetails:
        """The details a file is rendered from, the key left behind."""
        return FileDetails(
            self.stored,
            self.share_url,
            self.manifest_url,
            public_key_text(self.key),
            self.site_name,
        )


async def download_images(
    article: Article, fetch: Callable[[str], Awaitable[StoredImage]], budget: int
) -> dict[str, Image]:
    """The pictures either file of ``article`` carries inside it, fetched within ``budget``."""
    return await collect_images(image_urls(article.body), fetch, budget)


def single_file(
    reader: Reader,
    download: Download,
    body_html: str,
    images: Mapping[str, Image],
    css: str,
    href_for: Callable[[str], str],
) -> bytes:
    """The article as one signed HTML file with everything it shows inside it."""
    page = unsigned_single_file(reader, download.unsigned(), body_html, images, css, href_for)
    return sign_html(page, download.stored, download.key)


def unsigned_single_file(
    reader: Reader,
    details: FileDetails,
    body_html: str,
    images: Mapping[str, Image],
    css: str,
    href_for: Callable[[str], str],
) -> str:
    """The HTML file before its signature: the costly part, which a transform process makes
    without ever holding the key (``sign_html`` then signs it where the key is)."""
    root = prepare_body(
        body_html, lambda url: images[url].data_uri() if url in images else None, href_for
    )
    return render_page(reader, "download.html", download=details, body=inner_html(root), css=css)


def content_disposition(title: str, extension: str) -> str:
    """An attachment header naming the file after the title (ASCII fallback, RFC 6266)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-").lower()[:FILE_NAME_CHARS]
    fallback = f"{ascii_stem or 'article'}.{extension}"
    encoded = quote(file_name(title, extension), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def file_name(title: str, extension: str) -> str:
    """The file's name from the title alone, without characters file systems refuse."""
    stem = " ".join(re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", title).split())[:FILE_NAME_CHARS]
    return f"{stem or 'article'}.{extension}"
