"""The orchestrator: the whole data flow of the mirror, top to bottom.

    request → route → cache → fetch (address-checked) → decode → extract → strip → sanitise
            → store → render (links become mirror URLs) → respond

``Mirror.page`` runs route → store; ``process_page`` is the pure middle (decode → sanitise),
which benchmarks and ``mirror extract`` call directly. Rendering happens in the server,
per request, so stored pages never hold mirror URLs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import lxml.html

from mirror.article import Article
from mirror.cache import PageCache, StoredPage
from mirror.decode import decode_html
from mirror.errors import FetchError, SiteNotMirrored
from mirror.extract import extract_article, parse_page
from mirror.fetch import IMAGE_TYPES, PAGE_TYPES, Fetched, Fetcher, NotModified, Validators
from mirror.sanitise import sanitise
from mirror.settings import Config
from mirror.siterules import SiteRules, load_site_rules
from mirror.strip import strip_junk
from mirror.urls import absolutize, clean_url, document_base


def process_page(
    body: bytes, charset: str | None, url: str, rules: SiteRules | None = None
) -> Article:
    """decode → parse once → extract → strip → sanitise; pure, no I/O."""
    text = decode_html(body, charset)
    page = parse_page(text)
    base = document_base(page, url)
    article, content = extract_article(page, url, rules)
    absolutize(content, base)
    strip_junk(content)
    clean_body = sanitise(lxml.html.tostring(content, encoding="unicode"))
    return replace(article, url=clean_url(url), body=clean_body)


@dataclass
class Served:
    """A stored page and whether it is older than its freshness (served from a saved copy)."""

    stored: StoredPage
    stale: bool = False


class SingleFlight:
    """Concurrent callers for one key share one running call."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[StoredPage]] = {}

    async def run(self, key: str, call: Callable[[], Awaitable[StoredPage]]) -> StoredPage:
        if key in self._running:
            return await asyncio.shield(self._running[key])
        future: asyncio.Future[StoredPage] = asyncio.ensure_future(call())
        self._running[key] = future
        try:
            return await asyncio.shield(future)
        finally:
            if future.done():
                self._running.pop(key, None)
            else:
                future.add_done_callback(lambda _: self._running.pop(key, None))


class Mirror:
    """Fetches, processes, stores and returns pages of mirrored sites."""

    def __init__(self, config: Config, fetcher: Fetcher, cache: PageCache) -> None:
        self._config = config
        self._fetcher = fetcher
        self._cache = cache
        self._flights = SingleFlight()
        self._rules = load_site_rules(config.server.data_dir)

    def is_mirrored(self, url: str) -> bool:
        """Whether a link to ``url`` should stay inside the mirror."""
        return self._config.server.open_mode or self._config.site_for(url) is not None

    async def page(self, url: str) -> Served:
        """The article at ``url``: from the store while fresh, else from the origin."""
        if not self.is_mirrored(url):
            raise SiteNotMirrored
        cached = await self._cache.get(url)
        if cached is not None and cached.age() < self._config.cache.fresh_seconds:
            return Served(cached)
        try:
            return Served(await self._flights.run(url, lambda: self._refresh(url, cached)))
        except FetchError:
            if cached is None:
                raise
            return Served(cached, stale=True)

    async def image(self, url: str) -> Fetched:
        """A raster image, fetched with the same address checks and limits as pages."""
        return await self._fetcher.fetch(url, IMAGE_TYPES)

    async def _refresh(self, url: str, cached: StoredPage | None) -> StoredPage:
        validators = Validators(cached.etag, cached.last_modified) if cached else Validators()
        fetched = await self._fetcher.revalidate(url, PAGE_TYPES, validators)
        if isinstance(fetched, NotModified):
            assert cached is not None, "a 304 answers only a request that sent validators"
            confirmed = replace(cached, fetched_at=time.time())
            await self._cache.put(url, confirmed)
            return confirmed
        article = await asyncio.to_thread(
            process_page, fetched.body, fetched.charset, fetched.final_url, self._rules
        )
        stored = StoredPage(
            article=article,
            fetched_at=time.time(),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
        await self._cache.put(url, stored)
        return stored
