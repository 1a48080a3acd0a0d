"""The publish's copy of a site, made from what the mirror keeps, never from its origin.

A publish is what keeps a copy readable where the mirror itself is blocked, often just when
the origin is down or has taken an article away; so it reads the site's articles from the
store (``PageCache.stored_pages``, the list of every page stored, taken for the site's:
each copy the mirror holds, fetched for a reader, kept after its origin removed it, from
the archive, pushed by the publisher or captured by a contributor; and the removed ones'
own index besides), not the feeds. Each becomes a kept
article of the site's export (``ExportFiles``), which keeps every article it ever held, so
a copy evicted from the store stays published; pictures come from the store, and one it
lacks is asked of the mirror (which fetches it, address-checked, and stores it) and left
out if that fails.

Beside each article's page go its signed files (``export.DOWNLOADS``), made by
``SignedFiles`` exactly as the live mirror's ``/d/`` route makes them for a reader of the
article's language, and made again only when the mirror holds a new copy of the article.
"""

from __future__ import annotations

import asyncio
import datetime
import posixpath
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mirror.addresses import manifest
from mirror.article import StoredPage
from mirror.errors import MirrorError, NotFound
from mirror.fetch.client import Fetcher
from mirror.keys import load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import Mirror
from mirror.render.html import Reader
from mirror.settings import Config, Site, public_url
from mirror.share.download import image_urls
from mirror.share.export import (
    DOWNLOADS,
    ExportedArticle,
    ExportFiles,
    ExportReport,
    article_file,
    chosen_widths,
    find_host_references,
    media_file,
)
from mirror.share.runner import open_pipeline
from mirror.share.signedfiles import SignedFiles
from mirror.store.cache import PageCache


@dataclass(frozen=True)
class Stager:
    """The open store and mirror a publish reads its sites from."""

    config: Config
    cache: PageCache
    mirror: Mirror
    files: SignedFiles

    async def stage(self, site: Site, out: Path) -> ExportReport:
        """Bring the export of ``site`` in ``out`` up to what the mirror holds."""
        export = ExportFiles(self.config, site, out)
        for url, stored in await self._held(site):
            kept = _kept_from(stored)
            folder = out / posixpath.dirname(article_file(stored.article.url))
            current = all((folder / name).is_file() for name in DOWNLOADS.values())
            if export.kept(url) == kept and current:
                continue
            export.keep(url, kept)
            await self._save_images(export, stored)
            await self._sign(folder, url, stored)
        await asyncio.to_thread(export.write_site)  # thousands of pages: off the event loop
        export.report.violations = await asyncio.to_thread(find_host_references, out)
        return export.report

    async def _held(self, site: Site) -> list[tuple[str, StoredPage]]:
        """The site's stored pages, newest copy first, and its removed ones' kept copies."""
        held = {
            url: page
            async for url, page in self.cache.stored_pages()
            if (owner := self.config.site_for(url)) is not None and owner.name == site.name
        }
        for url, page in await self.cache.removed_pages(site.name):
            held.setdefault(url, page)
        return sorted(held.items(), key=lambda pair: pair[1].fetched_at, reverse=True)

    async def _save_images(self, export: ExportFiles, stored: StoredPage) -> None:
        saved = export.saved_images()
        for url in image_urls(stored.article.body):
            if url in saved:
                continue
            try:
                files = await self._picture_files(url)
            except MirrorError:
                continue  # the page shows the picture's place without it
            export.save_picture(url, files)

    async def _picture_files(self, url: str) -> dict[str, tuple[int, bytes]]:
        """The files the live mirror serves of the picture at ``url`` (made now if it has
        not made them yet), at the widths an export writes (``chosen_widths``)."""
        pictures = self.mirror.pictures
        await pictures.file(url)
        info = await pictures.info(url)
        if info is None:
            raise NotFound
        return {
            media_file(url, width): (width, (await pictures.file(url, variant)).body)
            for variant, width in chosen_widths(self.config, info.width)
        }

    async def _sign(self, folder: Path, url: str, stored: StoredPage) -> None:
        base = public_url(self.config)
        for extension, name in DOWNLOADS.items():
            reader = Reader.from_request(
                f"/d/{self.files.links.seal(url, Kind.PAGE)}.{extension}",
                {},
                stored.article.lang,
                self.config.reader.default_pictures,
            )
            body = await self.files.make(reader, base, url, stored, extension)
            await asyncio.to_thread(_write, folder / name, body)


def _kept_from(stored: StoredPage) -> ExportedArticle:
    saved = datetime.datetime.fromtimestamp(stored.fetched_at, datetime.UTC).isoformat()
    return ExportedArticle(stored.article, stored.article.published or saved, saved)


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


@asynccontextmanager
async def stager(config: Config) -> AsyncIterator[Stager]:
    """The store and the mirror over it, opened as ``mirror serve`` opens them, with the
    keys the live downloads are made with."""
    data_dir = config.server.data_dir
    async with Fetcher(config.fetch) as fetcher, open_pipeline(config, fetcher) as opened:
        cache, mirror = opened
        links = LinkBuilder(load_token_ring(data_dir, config.server.token_key))
        key = manifest.load_signing_key(data_dir)
        files = SignedFiles(config, links, key, mirror.pictures.small_file)
        yield Stager(config, cache, mirror, files)
