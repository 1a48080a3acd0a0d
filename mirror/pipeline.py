"""The orchestrator: the whole data flow of the mirror, top to bottom.

    request → route → cache → fetch (address-checked) → decode → strip the page → extract
            → strip the body → sanitise → store → render (links become mirror URLs) → respond

``Mirror.page`` runs route → store; ``process_page`` is the pure middle (decode → sanitise),
which benchmarks and ``mirror extract`` call directly, and which the server runs in its
transform processes (``mirror.pool``, rules loaded once per process by ``start_worker``) so
that the event loop only moves bytes. Rendering happens in the server,
once per stored version and process (``mirror.web.responses`` keeps the result in memory), so
stored pages never hold mirror URLs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, Self, TypeVar

from mirror.article import Article, Served, StoredPage
from mirror.counters import Tally, count_cache, origin_fetch, tallied
from mirror.errors import FetchError, MirrorError, SiteNotMirrored, TooComplex
from mirror.fetch.client import (
    IMAGE_TYPES,
    PAGE_TYPES,
    Fetched,
    Fetcher,
    NotModified,
    Validators,
)
from mirror.fetch.decode import decode_html
from mirror.pool import TransformPool
from mirror.settings import Config
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache, StoredImage
from mirror.transform.filters import StripRules, default_rules, load_rules
from mirror.transform.images import checked_image
from mirror.transform.page import process_page
from mirror.transform.siterules import ReaderModeRules, load_site_rules, packaged_rules

# A key no entry can have (entry keys are HMACs): looking it up proves the store answers.
READINESS_PROBE = b"mirror readiness probe"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageRules:
    """Every rule a page is processed with: the ad and tracker lists with each site's
    ``remove`` and ``keep_params`` (strip), and the reader-mode rules (extract).

    One value made by one loader, so the server, ``mirror extract`` and ``mirror export``
    cannot process the same page differently.
    """

    strip: StripRules
    reader: ReaderModeRules


def load_page_rules(config: Config | None) -> PageRules:
    """The rules of ``config``: downloaded lists and site rules from its data dir, and its
    sites' own; without a config, the built-in ones alone."""
    if config is None:
        return PageRules(default_rules(), packaged_rules())
    return PageRules(load_rules(config), load_site_rules(config.server.data_dir))


def read_page(
    body: bytes, charset: str | None, url: str, rules: PageRules | None = None
) -> Article:
    """decode → ``process_page``: the bytes an origin sent, as a clean article; pure."""
    rules = rules or load_page_rules(None)
    return process_page(decode_html(body, charset), url, rules.strip, rules.reader)


@dataclass
class _WorkerState:
    rules: PageRules | None = None


_WORKER = _WorkerState()


def start_worker(config: Config | None) -> None:
    """A transform process's initializer: the page rules, loaded once per process."""
    _WORKER.rules = load_page_rules(config)


def read_in_worker(body: bytes, charset: str | None, url: str) -> tuple[Article, Tally]:
    """``read_page`` with the rules ``start_worker`` loaded, and what it counted: what a
    transform process runs (its own counters are never scraped)."""
    assert _WORKER.rules is not None, "start_worker runs first in every transform process"
    with tallied() as tally:
        return read_page(body, charset, url, _WORKER.rules), tally


async def read_in_pool(pool: TransformPool, body: bytes, charset: str | None, url: str) -> Article:
    """``read_page`` in a transform process, its counts added to this process's."""
    article, tally = await pool.run(read_in_worker, body, charset, url)
    tally.add_to_counters()
    return article


def transform_pool(config: Config) -> TransformPool:
    """The transform processes of ``config``, each with its page rules."""
    server = config.server
    return TransformPool(
        server.transform_pool_size, server.transform_timeout, start_worker, (config,)
    )


# What a refresh can fail with and still leave the stored copy to stand in: the origin's
# failures, and a page too complex to process (its last good version is still good).
PAGE_FAILURES = (FetchError, TooComplex)

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Concurrent callers for one key share one running call."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        if key in self._running:
            return await asyncio.shield(self._running[key])
        future: asyncio.Future[T] = asyncio.ensure_future(call())
        self._running[key] = future
        try:
            return await asyncio.shield(future)
        finally:
            if future.done():
                self._running.pop(key, None)
            else:
                future.add_done_callback(lambda _: self._running.pop(key, None))

    async def aclose(self) -> None:
        """Cancel the calls still running and wait for them: none may outlive the fetcher
        and the store it uses (a caller's cancellation stops only its wait, by design)."""
        running = list(self._running.values())
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)


class RecentErrors:
    """Origin errors remembered for a short while (negative caching), in memory only.

    A blocked or failing origin is then not asked again by every reader: the saved copy
    (or the error) is served at once until ``seconds`` have passed.
    """

    def __init__(self, seconds: int, capacity: int = 10_000) -> None:
        self._seconds = seconds
        self._capacity = capacity
        self._errors: OrderedDict[str, tuple[float, MirrorError]] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise the error remembered for ``key``, if it is recent."""
        remembered = self._errors.get(key)
        if remembered is None:
            return
        if time.monotonic() < remembered[0]:
            raise remembered[1]
        del self._errors[key]

    def remember(self, key: str, error: MirrorError) -> None:
        if self._seconds <= 0:
            return
        self._errors[key] = (time.monotonic() + self._seconds, error)
        self._errors.move_to_end(key)
        while len(self._errors) > self._capacity:
            self._errors.popitem(last=False)


class Mirror:
    """Fetches, processes, stores and returns pages of mirrored sites.

    Use as an async context manager: background refreshes (stale-while-revalidate) are
    tasks of this object, cancelled on exit before the fetcher and the store close. Pages
    are processed in ``pool`` when given (the server), else in a thread (tests, tools).
    """

    def __init__(
        self,
        config: Config,
        fetcher: Fetcher,
        cache: PageCache,
        pool: TransformPool | None = None,
    ) -> None:
        self._config = config
        self._fetcher = fetcher
        self._cache = cache
        self._pages: SingleFlight[StoredPage] = SingleFlight()
        self._images: SingleFlight[StoredImage] = SingleFlight()
        self._errors = RecentErrors(config.cache.error_seconds)
        self._background: set[asyncio.Task[None]] = set()
        self._pool = pool
        self._rules = load_page_rules(config) if pool is None else None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._pages.aclose()
        await self._images.aclose()

    def is_mirrored(self, url: str) -> bool:
        """Whether a link to ``url`` should stay inside the mirror."""
        return self._config.is_mirrored(url)

    async def page(self, url: str) -> Served:
        """The article at ``url``: stored while fresh, refreshed behind the reader's back
        for a while after, else from the origin, with the stored copy standing in for it."""
        if not self.is_mirrored(url):
            raise SiteNotMirrored
        cached = await self._cache.get_page(url)
        fresh_for = self._config.fresh_seconds(url)
        if cached is not None and cached.age() < fresh_for:
            count_cache("hit")
            return Served(cached)
        if cached is not None and cached.age() < fresh_for + self._swr_seconds:
            count_cache("stale")
            self._refresh_later(url, cached)
            return Served(cached)
        try:
            fresh = await self._refresh_page(url, cached)
        except PAGE_FAILURES:
            if cached is None or not self._may_stand_in(cached, fresh_for):
                raise
            count_cache("stale")
            return Served(cached, stale=True)
        count_cache("miss")
        return Served(fresh)

    async def ready(self) -> bool:
        """Whether the store answers: a lookup of a key no entry can have."""
        try:
            await self._cache.store.get(READINESS_PROBE)
        except StoreUnavailable:
            return False
        return True

    async def image(self, url: str) -> StoredImage:
        """A raster image, fetched with the same address checks and limits as pages."""
        cached = await self._cache.get_image(url)
        if cached is not None and cached.age() < self._config.fresh_seconds(url, image=True):
            return cached
        try:
            return await self._errors_remembered(
                f"image {url}", lambda: self._images.run(url, lambda: self._fetch_image(url))
            )
        except FetchError:
            if cached is None:
                raise
            return cached

    @property
    def _swr_seconds(self) -> int:
        return self._config.cache.stale_while_revalidate_seconds

    def _may_stand_in(self, cached: StoredPage, fresh_for: int) -> bool:
        limit = self._config.cache.stale_if_error_seconds
        return limit == 0 or cached.age() < fresh_for + limit

    def _refresh_later(self, url: str, cached: StoredPage) -> None:
        """Refresh ``url`` in a task owned by this object; its failure is remembered only."""

        async def refresh() -> None:
            try:
                await self._refresh_page(url, cached)
            except PAGE_FAILURES:
                pass  # remembered by _refresh_page; the stored copy keeps being served
            except Exception as exc:
                log.error("background refresh failed: %s", type(exc).__name__)

        task = asyncio.create_task(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _refresh_page(self, url: str, cached: StoredPage | None) -> StoredPage:
        return await self._errors_remembered(
            f"page {url}", lambda: self._pages.run(url, lambda: self._refresh_shared(url, cached))
        )

    async def _errors_remembered(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        self._errors.check(key)
        try:
            return await call()
        except PAGE_FAILURES as error:
            self._errors.remember(key, error)
            raise

    async def _refresh_shared(self, url: str, cached: StoredPage | None) -> StoredPage:
        """One instance fetches; the others wait for its copy in the shared store."""
        async with self._cache.flight(url) as leading:
            if not leading:
                newer_than = cached.fetched_at if cached else 0.0
                timeout = self._config.fetch.timeout
                stored = await self._cache.wait_for_page(url, newer_than, timeout)
                if stored is not None:
                    return stored
            return await self._refresh(url, cached)

    async def _refresh(self, url: str, cached: StoredPage | None) -> StoredPage:
        validators = Validators(cached.etag, cached.last_modified) if cached else Validators()
        with origin_fetch():
            fetched = await self._fetcher.revalidate(url, PAGE_TYPES, validators)
        if isinstance(fetched, NotModified):
            assert cached is not None, "a 304 answers only a request that sent validators"
            confirmed = replace(cached, fetched_at=time.time())
            await self._cache.put_page(url, confirmed)
            return confirmed
        article = await self._read(fetched)
        stored = StoredPage(
            article=article,
            fetched_at=time.time(),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
        await self._cache.put_page(url, stored)
        return stored

    async def _read(self, fetched: Fetched) -> Article:
        """The fetched page as an article, processed off the event loop."""
        if self._pool is not None:
            return await read_in_pool(self._pool, fetched.body, fetched.charset, fetched.final_url)
        return await asyncio.to_thread(
            read_page, fetched.body, fetched.charset, fetched.final_url, self._rules
        )

    async def _fetch_image(self, url: str) -> StoredImage:
        with origin_fetch():
            fetched = await self._fetcher.fetch(url, IMAGE_TYPES)
        kind = checked_image(fetched.body, self._config.images.max_bytes)
        image = StoredImage(kind, fetched.body, time.time())
        await self._cache.put_image(url, image)
        return image
