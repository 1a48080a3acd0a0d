"""One export run, whatever it writes: the static export, the WARC export and the publisher
all start here.

A run finds the site by name, opens the fetcher, reads the site's feeds (``--since`` skips
older items), shows progress, and walks the site breadth first ``depth`` links deep
(``ExportRun.crawl``), handing each page to the format's ``visit``. What a format needs
beside the fetcher it asks the run for, and the run closes it at the end: the transform
processes (``transform_pool``, the static export) or the mirror itself with its cache
(``pipeline``, the WARC export). Setup lives here once, so a new format cannot forget a
step (the cache key, the store check, closing the progress line).
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

import lxml.html

from mirror.article import Article
from mirror.errors import ConfigError, MirrorError
from mirror.fetch.client import FEED_TYPES, Fetcher
from mirror.keys import load_cache_key
from mirror.pipeline import Mirror
from mirror.pool import TransformPool
from mirror.reading import transform_pool
from mirror.settings import Config, Site
from mirror.share.feeds import FeedError, FeedItem, read_items
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache, open_store
from mirror.transform.urls import clean_url

Visit = Callable[[str, datetime.datetime | None], Awaitable[Article | None]]


class Progress:
    """A one-line progress bar on a terminal; one line per step otherwise (logs, CI)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()

    def show(self, done: int, total: int, label: str) -> None:
        filled = self.WIDTH * done // max(total, 1)
        bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} {label}"
        self._stream.write(f"\r{bar[:100]:<100}" if self._tty else bar + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")


def page_links(body_html: str, site: Site, config: Config) -> list[str]:
    """Links in ``body_html`` to other pages of ``site``."""
    if not body_html.strip():
        return []
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    hrefs = (a.get("href", "").split("#", 1)[0] for a in root.iter("a"))
    return [clean_url(h) for h in hrefs if h and config.site_for(h) == site]


async def crawl(
    items: list[FeedItem],
    depth: int,
    visit: Visit,
    site: Site,
    config: Config,
    progress: Progress,
) -> None:
    """Breadth first from the feed items, ``depth`` links deep into ``site``: each page
    once, given to ``visit`` with its feed date; the links of the article it gives back are
    followed. The one walk of a site, for every export format."""
    dates = {clean_url(i.link): i.published for i in items}
    frontier = list(dict.fromkeys(dates))
    seen = set(frontier)
    for level in range(depth + 1):
        found: list[str] = []
        for number, url in enumerate(frontier, 1):
            progress.show(number, len(frontier), f"level {level}: {urlsplit(url).path}")
            article = await visit(url, dates.get(url))
            if article is not None and level < depth:
                found += page_links(article.body, site, config)
        frontier = [u for u in dict.fromkeys(found) if u not in seen]
        seen.update(frontier)


async def feed_items(fetcher: Fetcher, site: Site) -> list[FeedItem]:
    items: list[FeedItem] = []
    for feed in site.feeds:
        fetched = await fetcher.fetch(feed, FEED_TYPES)
        try:
            items += read_items(fetched.body, fetched.final_url)
        except FeedError:
            continue  # a feed that does not parse lists nothing; the others still count
    return [i for i in items if urlsplit(i.link).scheme in {"http", "https"}]


def site_named(config: Config, name: str) -> Site:
    site = next((s for s in config.sites if s.name == name), None)
    if site is None:
        raise ConfigError(f"no site named {name!r} in the configuration")
    return site


async def site_items(
    fetcher: Fetcher, config: Config, site: Site, since: datetime.datetime | None
) -> list[FeedItem]:
    """The items of ``site``'s feeds that link into the site (``--since`` skips older ones)."""
    items = await feed_items(fetcher, site)
    if since is not None:
        items = [i for i in items if i.published is None or i.published >= since]
    return [i for i in items if config.site_for(i.link) == site]


@dataclass
class ExportRun:
    """An open run: the site, its feed items, the fetcher, and what else the format opened."""

    config: Config
    site: Site
    fetcher: Fetcher
    items: list[FeedItem]
    progress: Progress
    _resources: AsyncExitStack

    async def crawl(self, depth: int, visit: Visit) -> None:
        await crawl(self.items, depth, visit, self.site, self.config, self.progress)

    async def transform_pool(self) -> TransformPool:
        """The transform processes, with the same page rules as the server."""
        return await self._resources.enter_async_context(transform_pool(self.config))

    async def pipeline(self) -> tuple[PageCache, Mirror]:
        """The cache and the mirror over it, as ``mirror serve`` opens them."""
        return await self._resources.enter_async_context(open_pipeline(self.config, self.fetcher))


@asynccontextmanager
async def open_pipeline(
    config: Config, fetcher: Fetcher
) -> AsyncIterator[tuple[PageCache, Mirror]]:
    """The cache in the data dir and the mirror over it, as ``mirror serve`` opens them."""
    data_dir = config.server.data_dir
    store = open_store(config.cache, data_dir)
    async with (
        PageCache(store, load_cache_key(data_dir)) as cache,
        Mirror(config, fetcher, cache) as mirror,
    ):
        yield cache, mirror


@asynccontextmanager
async def export_run(
    config: Config,
    site_name: str,
    since: datetime.datetime | None = None,
    stream: TextIO | None = None,
) -> AsyncIterator[ExportRun]:
    """Open a run of ``site_name``; everything it opened is closed on the way out."""
    site = site_named(config, site_name)
    progress = Progress(stream or sys.stderr)
    try:
        async with (
            Fetcher(config.fetch, sites=config.sites) as fetcher,
            AsyncExitStack() as resources,
        ):
            items = await site_items(fetcher, config, site, since)
            yield ExportRun(config, site, fetcher, items, progress, resources)
    except StoreUnavailable as exc:
        raise MirrorError(f"the cache store cannot be reached: {exc}") from exc
    finally:
        progress.close()
