"""The signed single-file HTML and EPUB of a stored article, made one way for everyone who
hands them out: the server's download route and the published copy.

Both make a file from the same inputs (the stored version, the mirror's address, its
link tokens, its manifest key, the reader's language), so a file taken from a published
bucket is byte for byte the one the live mirror serves a reader with the same language,
and ``mirror verify`` checks it with the same public key. The costly part (the page, the
book) is made without the key, in a transform process when there is one; the signature is
made here, where the key stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses.checks import MANIFEST_PATH
from mirror.article import StoredPage
from mirror.links import Kind, LinkBuilder
from mirror.pool import TransformPool, off_loop
from mirror.render.html import Reader
from mirror.resources import static_bytes
from mirror.settings import Config
from mirror.share.download import Download, download_images, unsigned_single_file
from mirror.share.epub import MEDIA_TYPE, epub_entries, pack_epub
from mirror.share.feeds import FeedLinks
from mirror.share.signature import sign_html
from mirror.store.cache import StoredImage

FORMATS = {"html": "text/html", "epub": MEDIA_TYPE}


@dataclass(frozen=True)
class SignedFiles:
    """What the files of every article are made with; ``base`` is the mirror's address as
    the file names it (where to read the article online, where the key is published)."""

    config: Config
    links: LinkBuilder
    key: Ed25519PrivateKey = field(repr=False)
    image: Callable[[str], Awaitable[StoredImage]]
    pool: TransformPool | None = None

    async def make(
        self, reader: Reader, base: str, url: str, stored: StoredPage, extension: str
    ) -> bytes:
        """The signed file (``extension``: ``html`` or ``epub``) of ``stored``, the copy of
        ``url``, with its pictures inside within ``reader.download_image_bytes``."""
        site = self.config.site_for(url)
        details = Download(
            stored=stored,
            share_url=base + self.links.path(url, Kind.PAGE),
            manifest_url=f"{base}{MANIFEST_PATH}",
            key=self.key,
            site_name=site.display_name if site else stored.article.site_name,
        )
        budget = self.config.reader.download_image_bytes
        images = await download_images(stored.article, self.image, budget)
        href_for = FeedLinks(base, self.links, self.config.is_mirrored).page
        unsigned = details.unsigned()
        body = stored.article.body
        if extension == "epub":
            entries = await off_loop(
                self.pool, epub_entries, reader, unsigned, body, images, href_for
            )
            return pack_epub(entries, details)
        css = static_bytes("mirror.css").decode("utf-8")
        page = await off_loop(
            self.pool, unsigned_single_file, reader, unsigned, body, images, css, href_for
        )
        return sign_html(page, stored, details.key)
