"""Stored articles indexed as they are stored: the glue between the cache and the index.

Every article the mirror writes to the store (a fetch, a refresh, an archive copy, a push,
a capture, a removal's mark) is indexed in the same step, and a purge takes it out. The
index is SQLite on disk, so its writes run on one thread of their own, never on the event
loop; searches read through their own connections (``SearchIndex``) and never wait for
them. An index that fails (a full disk, a damaged file) costs search, never a page: the
failure is logged without the article and ``mirror search reindex`` rebuilds it.

With a Redis store each instance keeps its own index and follows the others through a
Redis stream of stored articles (``mirror.store.stream``): it tells the stream what it
stores and purges, and indexes what the others do, from the last event it read (kept in
the index, so a restart goes on from there). A new index, or one whose unread events the
stream trimmed, is first filled from the store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self, TypeVar

from mirror.article import StoredPage
from mirror.locks import held_if_free
from mirror.search.entry import entry_of
from mirror.search.files import next_file, swap_in
from mirror.search.index import INDEX_FILE, SearchIndex
from mirror.settings import Config
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache
from mirror.store.stream import ArticleStream, Event, Kind

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 500  # articles indexed in one transaction by a rebuild
POSITION, WRITER = "stream position", "stream writer"
READ_COUNT = 200
BLOCK_MS = 400  # under the Redis client's 1 s timeout, which would count Redis as down
RETRY_SECONDS = 1.0


def index_path(data_dir: Path) -> Path:
    """Where the index lives: beside the SQLite cache, in the data dir."""
    return data_dir / INDEX_FILE


class Indexer:
    """Writes to the search index of ``config`` off the event loop; ``index`` is ``None``
    while search is off (``search.enabled``), and every call then does nothing. With a
    Redis store (``cache``), what it indexes is also told to the other instances, and what
    they store is read from them (``follow``)."""

    def __init__(
        self, config: Config, cache: PageCache | None = None, follow: bool = False
    ) -> None:
        self._config = config
        self._follows = follow
        self._cache = cache
        self._stream = ArticleStream.of(cache) if cache is not None else None
        self.index: SearchIndex | None = None
        self._writer = ""
        self._follower: asyncio.Task[None] | None = None
        self._closing = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-index")

    async def __aenter__(self) -> Self:
        if self._config.search.enabled:
            path = index_path(self._config.server.data_dir)
            self.index = await self._run(SearchIndex, path)
            self._writer = await self._run(_writer_id, self.index)
            if self._stream is not None and self._follows:
                self._follower = asyncio.create_task(self._follow(self.index, self._stream))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        if self.index is not None:
            await self._run(self.index.close)
            self.index = None
        self._thread.shutdown(wait=True)

    async def stored(self, url: str, page: StoredPage) -> None:
        """Index ``page``, just stored under ``url``."""
        index = self.index
        if index is None:
            return
        site = self._site(url)
        await self._quietly(lambda: index.put(entry_of(url, site, page)))
        await self._publish("put", url)

    async def purged(self, url: str) -> None:
        """Take ``url`` out of the index: it left the store."""
        index = self.index
        if index is not None:
            await self._quietly(lambda: index.remove(url))
            await self._publish("purge", url)

    def _site(self, url: str) -> str:
        site = self._config.site_for(url)
        return site.name if site else ""

    async def _publish(self, kind: Kind, url: str) -> None:
        if self._stream is None:
            return
        try:
            await self._stream.publish(kind, url, self._writer)
        except StoreUnavailable as exc:
            log.warning("stored article not told to the other instances: %s", exc)

    async def _follow(self, index: SearchIndex, stream: ArticleStream) -> None:
        """Index what the other instances store, for as long as the mirror runs; one
        process of those sharing a data dir (and so an index) does it."""
        lock = index_path(self._config.server.data_dir).with_name(INDEX_FILE + ".follow")
        while not self._closing:
            with held_if_free(lock) as mine:
                if mine:
                    await self._follow_held(index, stream)
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow_held(self, index: SearchIndex, stream: ArticleStream) -> None:
        position = await self._run(index.meta, POSITION)
        while not self._closing:
            try:
                if position is None or await stream.lost(position):
                    position = await self._catch_up(index, stream)
                events = await stream.read(position, READ_COUNT, BLOCK_MS)
                if events:
                    await self._apply(index, events)
                    position = events[-1].id
                    await self._run(index.set_meta, POSITION, position)
            except (StoreUnavailable, sqlite3.Error) as exc:
                if self._closing:  # a cancelled Redis read ends as a connection error
                    return
                log.warning("search index not following the other instances now: %s", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _catch_up(self, index: SearchIndex, stream: ArticleStream) -> str:
        """Index every stored page (a new index, or events trimmed unread); the stream's
        position before the scan, so nothing stored meanwhile is missed."""
        assert self._cache is not None, "a stream comes from a cache"
        position = await stream.last()
        await index_store(self._config, self._cache, index)
        await self._run(index.set_meta, POSITION, position)
        return position

    async def _apply(self, index: SearchIndex, events: list[Event]) -> None:
        """Index the pages the events name as the store holds them now (a page gone since
        is taken out), skipping this index's own."""
        assert self._cache is not None, "a stream comes from a cache"
        changes: list[tuple[str, str, StoredPage | None]] = []
        for event in events:
            if event.writer == self._writer or not event.url:
                continue
            page = None if event.kind == "purge" else await self._cache.get_page(event.url)
            changes.append((event.url, self._site(event.url), page))
        await self._run(_change, index, changes)

    async def _quietly(self, write: Callable[[], object]) -> None:
        try:
            await self._run(write)
        except sqlite3.Error as exc:
            log.warning("search index write failed (mirror search reindex rebuilds it): %s", exc)

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, *args)


def _writer_id(index: SearchIndex) -> str:
    """The index's own name in the stream, made once and kept in it."""
    writer = index.meta(WRITER)
    if writer is None:
        writer = secrets.token_hex(8)
        index.set_meta(WRITER, writer)
    return writer


def _change(index: SearchIndex, changes: list[tuple[str, str, StoredPage | None]]) -> None:
    for url, site, page in changes:
        if page is None:
            index.remove(url)
        else:
            index.put(entry_of(url, site, page))


async def index_store(config: Config, cache: PageCache, index: SearchIndex) -> None:
    """Index every page in the store into ``index``, in batches of ``BATCH``."""
    batch: list[tuple[str, str, StoredPage]] = []
    async for url, page in cache.stored_pages():
        site = config.site_for(url)
        batch.append((url, site.name if site else "", page))
        if len(batch) >= BATCH:
            await asyncio.to_thread(_put_pages, index, batch)
            batch = []
    await asyncio.to_thread(_put_pages, index, batch)


async def rebuild(config: Config, cache: PageCache) -> int:
    """Build the index again from the store, while the server runs: into a new file, then
    swapped in (``mirror.search.files``); how many articles it holds. What the running
    mirror indexed while this ran is copied over before the swap."""
    name = index_path(config.server.data_dir)
    built_at = next_file(name)
    current = await asyncio.to_thread(SearchIndex, name)
    mark = await asyncio.to_thread(current.newest_row)
    built = await asyncio.to_thread(SearchIndex, built_at)
    try:
        await index_store(config, cache, built)
        await asyncio.to_thread(lambda: built.put_many(current.entries_after(mark)))
        await asyncio.to_thread(lambda: built.copy_meta(current))
        count = await asyncio.to_thread(built.count)
    finally:
        built.close()
        current.close()
    swap_in(name, built_at)
    return count


def _put_pages(index: SearchIndex, pages: list[tuple[str, str, StoredPage]]) -> None:
    index.put_many([entry_of(url, site, page) for url, site, page in pages])
