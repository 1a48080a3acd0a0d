"""The orchestrator: the whole data flow of the mirror, top to bottom.

    request → route → cache → fetch (address-checked) → decode → strip the page → extract
            → strip the body → sanitise → store → render (links become mirror URLs) → respond

``Mirror.page`` runs route → store; when nothing is stored and the origin refuses the mirror,
it asks the site's other sources (``sources`` in ``[[sites]]``: the Internet Archive) and
stores their copy, labelled with where it came from. Copies sent to the mirror (a
publisher's signed push, a contributor's capture) enter through ``Mirror.accept``, through
the same ``read_page``. ``process_page`` is the pure middle (decode → sanitise),
which benchmarks and ``mirror extract`` call directly, and which the server runs in its
transform processes (``mirror.pool``, rules loaded once per process by ``start_worker``) so
that the event loop only moves bytes. Rendering happens in the server,
once per stored version and process (``mirror.web.responses`` keeps the result in memory), so
stored pages never hold mirror URLs.

An article its origin removed (a 404, a 410, or a redirect to the front page) is not an
error when a copy is stored: the copy is marked removed (``StoredPage.removed_at``, the
first time the removal was seen; ``fetched_at`` stays the last time it was seen live), kept
out of eviction, listed in its site's removed articles, and served at once from then on,
while the origin is asked again behind the reader's back, at most once per
``cache.error_seconds``, in case the article comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Self, TypeVar
from urllib.parse import urlsplit

from mirror.article import Article, Served, Source, StoredPage
from mirror.counters import count, count_cache, count_removal, origin_fetch
from mirror.errors import (
    CopyRefused,
    FetchError,
    NotAtOrigin,
    OriginChallenged,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    SentToFrontPage,
    SiteNotMirrored,
    SiteRefused,
    TooComplex,
    UnreadablePage,
)
from mirror.fetch.archive import Wayback
from mirror.fetch.client import (
    PAGE_TYPES,
    Fetched,
    Fetcher,
    NotModified,
    Validators,
)
from mirror.fetch.egress import refused_by_site
from mirror.flight import RecentErrors, SingleFlight
from mirror.indexing import Indexer
from mirror.pictures import Pictures
from mirror.pool import TransformPool
from mirror.reading import load_page_rules, read_fetched
from mirror.search.index import SearchIndex
from mirror.settings import Config, Site
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache, StoredImage, StoredResponse
from mirror.transform.challenge import is_challenge

# A key no entry can have (entry keys are HMACs): looking it up proves the store answers.
READINESS_PROBE = b"mirror readiness probe"

# Statuses by which an origin refuses the mirror rather than says the page is not there.
REFUSING_STATUSES = frozenset({401, 403, 429, 451})
# Copies dated by their source, labelled so on the page: they stand in whatever their age.
DATED_SOURCES: frozenset[Source] = frozenset({"archive", "contributor"})

log = logging.getLogger(__name__)


def refused(error: FetchError) -> bool:
    """Whether ``error`` means the origin would not give the mirror the page (refused or
    reset connections, timeouts, bot walls, 401/403/429/451 and 5xx) rather than that the
    page is not there (404, 410) or must not be fetched (address policy, size, type)."""
    if isinstance(error, NotAtOrigin):
        return False
    if isinstance(error, OriginStatus):
        return error.origin_status in REFUSING_STATUSES or error.origin_status >= 500
    return isinstance(error, OriginUnreachable | OriginTimeout | OriginChallenged)


# What a refresh can fail with and still leave the stored copy to stand in: the origin's
# failures, and a page too complex or unreadable (its last good version is still good).
PAGE_FAILURES = (FetchError, TooComplex, UnreadablePage)


def sent_to_front_page(url: str, final_url: str) -> bool:
    """Whether the origin answered ``url`` with its front page: redirected to the root of the
    same host (``www.`` or not), which is how many sites take a post down. A front page's own
    redirects (``/index.html`` to ``/``) are not that."""
    asked, landed = urlsplit(url), urlsplit(final_url)
    if landed.path not in {"", "/"} or landed.query:
        return False
    if asked.path in {"", "/"} or asked.path.rsplit("/", 1)[-1].startswith("index."):
        return False
    return _bare_host(asked.hostname) == _bare_host(landed.hostname)


def _bare_host(host: str | None) -> str:
    return (host or "").removeprefix("www.")


class KeptAfterRemoval(NotAtOrigin):
    """The origin removed an article whose copy is stored: ``kept`` is that copy, marked
    removed, which stands in for it. An origin error like any other, so it is remembered
    for ``cache.error_seconds`` and the origin is not asked again on every read."""

    def __init__(self, gone: NotAtOrigin, kept: StoredPage) -> None:
        super().__init__(gone.origin_status, gone.url, gone.detail)
        self.kept = kept


def removal_reason(gone: NotAtOrigin) -> str:
    """How the origin said it removed the page, as ``counters.REMOVAL_REASONS`` names it."""
    return "front_page" if isinstance(gone, SentToFrontPage) else str(gone.origin_status)


T = TypeVar("T")


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
        self._errors = RecentErrors(config.cache.error_seconds)
        self._background: set[asyncio.Task[None]] = set()
        self._pool = pool
        self._indexer = Indexer(config, cache, follow=True)
        # The full-text index of what is stored, while ``search.enabled``; searched by the
        # web pages and ``mirror search``, written by this object only.
        self.search_index: SearchIndex | None = None
        self._rules = load_page_rules(config) if pool is None else None
        self._wayback = Wayback(fetcher, config.archive)
        self.pictures = Pictures(config, fetcher, cache, pool, self._errors)

    async def __aenter__(self) -> Self:
        await self._indexer.__aenter__()
        self.search_index = self._indexer.index
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._pages.aclose()
        await self.pictures.aclose()
        self.search_index = None
        await self._indexer.__aexit__(*exc)

    @property
    def pending(self) -> int:
        """How many refreshes run behind readers' backs, and origin fetches are under way."""
        return len(self._background) + len(self._pages) + len(self.pictures)

    async def settled(self) -> None:
        """Wait until the refreshes running behind readers' backs have ended (for tools and
        tests that must see what they stored)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def is_mirrored(self, url: str) -> bool:
        """Whether a link to ``url`` should stay inside the mirror."""
        return self._config.is_mirrored(url)

    async def page(self, url: str) -> Served:
        """The article at ``url``: stored while fresh, refreshed behind the reader's back
        for a while after, else from the origin, with the stored copy standing in for it,
        or else (nothing stored, the origin refusing) from the site's other sources."""
        if not self.is_mirrored(url):
            raise SiteNotMirrored
        cached = await self._cache.get_page(url)
        if cached is not None and cached.removed_at is not None:
            count_cache("removed")
            self._refresh_later(url, cached)
            return Served(cached)
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
        except KeptAfterRemoval as removal:
            count_cache("removed")
            return Served(removal.kept)
        except PAGE_FAILURES as error:
            if cached is not None and self._may_stand_in(cached, fresh_for):
                count_cache("stale")
                return Served(cached, stale=True)
            if cached is None and isinstance(error, FetchError) and refused(error):
                return Served(await self._from_sources(url, error), stale=True)
            raise
        count_cache("miss")
        return Served(fresh)

    async def accept(
        self, url: str, body: bytes, charset: str | None, source: Source, saved_at: float
    ) -> StoredPage:
        """Store a copy sent to the mirror (a publisher's push, a contributor's capture),
        read through the same pipeline as an origin's page. A capture never replaces a copy
        saved at or after its own date, nor one kept because its origin removed it (which
        would lose the removal's record)."""
        if not self.is_mirrored(url):
            raise SiteNotMirrored
        fetched = Fetched(url, url, "text/html", charset, body)
        article = await self._article_of(fetched, url)
        if source == "contributor":
            current = await self._cache.get_page(url)
            if current is not None and current.removed_at is not None:
                raise CopyRefused(409, "The mirror keeps this page as removed by its site.")
            if current is not None and current.fetched_at >= saved_at:
                raise CopyRefused(409, "The mirror already has a newer copy of this page.")
        stored = StoredPage(article=article, fetched_at=saved_at, source=source)
        await self._store(url, stored)
        return stored

    async def claim(self, name: str, seconds: int) -> bool:
        """Whether ``name`` (a push's nonce) is used for the first time in ``seconds``,
        across every process sharing the store; ``StoreUnavailable`` if it cannot be told."""
        return await self._cache.claim(name, seconds)

    async def stored(self, url: str) -> StoredPage | None:
        """The copy of ``url`` in the store, if any, without asking anyone."""
        return await self._cache.get_page(url)

    async def removed(self, site: Site) -> list[tuple[str, StoredPage]]:
        """The articles ``site`` removed, with the copies kept of them, newest removal first."""
        return await self._cache.removed_pages(site.name)

    async def ready(self) -> bool:
        """Whether the store answers: a lookup of a key no entry can have."""
        try:
            await self._cache.store.get(READINESS_PROBE)
        except StoreUnavailable:
            return False
        return True

    def warm_pictures(self, urls: list[str]) -> None:
        """Have the files of the pictures at ``urls`` made behind the reader's back, so the
        page's next rendering knows what they cost (``Pictures.warm``)."""
        task = asyncio.create_task(self.pictures.warm(urls))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def image(self, url: str) -> StoredImage:
        """A picture's plain file (``Pictures.file``), made of its pixels only."""
        return await self.pictures.file(url)

    @property
    def _swr_seconds(self) -> int:
        return self._config.cache.stale_while_revalidate_seconds

    def _may_stand_in(self, cached: StoredPage, fresh_for: int) -> bool:
        limit = self._config.cache.stale_if_error_seconds
        return limit == 0 or cached.source in DATED_SOURCES or cached.age() < fresh_for + limit

    async def _from_sources(self, url: str, refusal: FetchError) -> StoredPage:
        """The first copy the site's sources give, in order; else the origin's error."""
        site = self._config.site_for(url)
        fetchers = {"archive": self._archive_copy}
        for source in site.sources if site else ():
            try:
                return await self._shared_copy(f"{source} {url}", fetchers[source], url)
            except PAGE_FAILURES:
                continue
        raise SiteRefused(url, refusal.detail) if refused_by_site(refusal) else refusal

    async def _shared_copy(
        self, key: str, fetch: Callable[[str], Awaitable[StoredPage]], url: str
    ) -> StoredPage:
        """One fetch from a source for concurrent readers; its failure remembered briefly,
        as an origin's is."""
        return await self._errors_remembered(key, lambda: self._pages.run(key, lambda: fetch(url)))

    async def _archive_copy(self, url: str) -> StoredPage:
        """The Wayback Machine's closest capture of ``url``, dated by its capture."""
        with origin_fetch():
            capture = await self._wayback.closest(url)
            if capture is None:
                raise OriginStatus(404, "The Internet Archive has no capture of this page.")
            fetched = await self._wayback.fetch(capture)
        article = await self._article_of(fetched, self._wayback.original_url(capture, fetched))
        stored = StoredPage(article=article, fetched_at=capture.captured_at, source="archive")
        await self._store(url, stored)
        count("archive_copy")
        return stored

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
        """Ask the origin for ``url`` again, top to bottom:

        1. an error the origin gave lately is raised again at once (``RecentErrors``);
        2. concurrent readers in this process share one refresh (``SingleFlight``), and
           instances sharing the store share one fetch (``_refresh_once``);
        3. a failure is remembered for ``cache.error_seconds``.
        """
        return await self._errors_remembered(
            f"page {url}", lambda: self._pages.run(url, lambda: self._refresh_once(url, cached))
        )

    async def _errors_remembered(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, unless it failed lately; a failure is remembered for next time."""
        self._errors.check(key)
        try:
            return await call()
        except PAGE_FAILURES as error:
            self._errors.remember(key, error)
            raise

    async def _refresh_once(self, url: str, cached: StoredPage | None) -> StoredPage:
        """One fetch of ``url`` for every instance sharing the store: the instance that leads
        fetches, reads and stores the page; the others wait for its copy. An article the
        origin removed is kept, marked removed, and stands in (``KeptAfterRemoval``)."""
        async with self._cache.flight(url) as leading:
            if not leading:
                newer_than = cached.fetched_at if cached else 0.0
                timeout = self._config.fetch.timeout
                stored = await self._cache.wait_for_page(url, newer_than, timeout)
                if stored is not None:
                    return stored
            try:
                fetched = await self._fetch_page(url, cached)
            except NotAtOrigin as gone:
                if cached is None:
                    raise
                raise KeptAfterRemoval(gone, await self._keep_removed(url, cached, gone)) from gone
            if isinstance(fetched, NotModified):
                assert cached is not None, "a 304 answers only a request that sent validators"
                stored = replace(cached, fetched_at=time.time(), removed_at=None)
                await self._store(url, stored)
            else:
                stored = await self._store_fetched(url, fetched)
            if cached is not None and cached.removed_at is not None:
                await self._back_at_origin(url)
            return stored

    async def _store_fetched(self, url: str, fetched: Fetched) -> StoredPage:
        """The origin's new answer, read into an article and stored, with the response as it
        came beside it (the WARC export's record of it)."""
        article = await self._article_of(fetched, fetched.final_url)
        stored = StoredPage(
            article=article,
            fetched_at=time.time(),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
        await self._store(url, stored)
        as_fetched = StoredResponse(
            fetched.final_url,
            fetched.status,
            fetched.reason,
            fetched.headers,
            fetched.body,
            stored.fetched_at,
        )
        await self._cache.put_response(url, as_fetched)
        return stored

    async def _fetch_page(self, url: str, cached: StoredPage | None) -> Fetched | NotModified:
        """The origin's answer for ``url``; a redirect to its front page is no article."""
        validators = Validators(cached.etag, cached.last_modified) if cached else Validators()
        with origin_fetch():
            fetched = await self._fetcher.revalidate(url, PAGE_TYPES, validators, is_challenge)
        if isinstance(fetched, Fetched) and sent_to_front_page(url, fetched.final_url):
            raise SentToFrontPage(url)
        return fetched

    async def _keep_removed(self, url: str, cached: StoredPage, gone: NotAtOrigin) -> StoredPage:
        """The stored copy of an article its origin removed, marked, kept and listed; the
        first time only, since ``removed_at`` is when the removal was first seen (another
        instance, or an earlier request, may have marked it since ``cached`` was read)."""
        if cached.removed_at is not None:
            return cached
        current = await self._cache.get_page(url)
        if current is not None and current.removed_at is not None:
            return current
        kept = replace(cached, removed_at=time.time())
        await self._store(url, kept)
        site = self._config.site_for(url)
        if site is not None:
            await self._cache.list_removed(site.name, url)
        count_removal(removal_reason(gone))
        return kept

    async def _back_at_origin(self, url: str) -> None:
        """An article kept as removed answers again: off the list; the copy stored next is
        an ordinary one (no ``removed_at``, evicted like any other)."""
        site = self._config.site_for(url)
        if site is not None:
            await self._cache.unlist_removed(site.name, url)
        count("removed_article_back")

    async def _store(self, url: str, page: StoredPage) -> None:
        """Store ``page`` and index it, in one step: every write of an article comes here."""
        await self._cache.put_page(url, page)
        await self._indexer.stored(url, page)

    async def _article_of(self, fetched: Fetched, url: str) -> Article:
        """``read_page`` off the event loop (in a transform process when the mirror has a
        pool, else in a thread); a bot wall's page is a refusal, never an article, and a
        page that cannot be read is ``UnreadablePage``."""
        if is_challenge(fetched.body):
            raise OriginChallenged("The site sent a challenge page instead of the article.")
        return await read_fetched(self._pool, self._rules, fetched.body, fetched.charset, url)
