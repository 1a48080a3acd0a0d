"""Stored articles indexed as they are stored: the glue between the cache and the index.

Every article the mirror writes to the store (a fetch, a refresh, an archive copy, a push,
a capture, a removal's mark) is indexed in the same step, and a purge takes it out. The
index is SQLite on disk, so its writes run on one thread of their own, never on the event
loop; searches read through their own connections (``SearchIndex``) and never wait for
them. An index that fails (a full disk, a damaged file) costs search, never a page: the
failure is logged without the article and ``mirror search reindex`` rebuilds it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self, TypeVar

from mirror.article import StoredPage
from mirror.search.entry import entry_of
from mirror.search.files import next_file, swap_in
from mirror.search.index import INDEX_FILE, SearchIndex
from mirror.settings import Config
from mirror.store.cache import PageCache

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 500  # articles indexed in one transaction by a rebuild


def index_path(data_dir: Path) -> Path:
    """Where the index lives: beside the SQLite cache, in the data dir."""
    return data_dir / INDEX_FILE


class Indexer:
    """Writes to the search index of ``config`` off the event loop; ``index`` is ``None``
    while search is off (``search.enabled``), and every call then does nothing."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self.index: SearchIndex | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-index")

    async def __aenter__(self) -> Self:
        if self._config.search.enabled:
            path = index_path(self._config.server.data_dir)
            self.index = await self._run(SearchIndex, path)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.index is not None:
            await self._run(self.index.close)
            self.index = None
        self._thread.shutdown(wait=True)

    async def stored(self, url: str, page: StoredPage) -> None:
        """Index ``page``, just stored under ``url``."""
        index = self.index
        if index is None:
            return
        site = self._config.site_for(url)
        name = site.name if site else ""
        await self._quietly(lambda: index.put(entry_of(url, name, page)))

    async def purged(self, url: str) -> None:
        """Take ``url`` out of the index: it left the store."""
        index = self.index
        if index is not None:
            await self._quietly(lambda: index.remove(url))

    async def _quietly(self, write: Callable[[], object]) -> None:
        try:
            await self._run(write)
        except sqlite3.Error as exc:
            log.warning("search index write failed (mirror search reindex rebuilds it): %s", exc)

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, *args)


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
        batch: list[tuple[str, str, StoredPage]] = []
        async for url, page in cache.stored_pages():
            site = config.site_for(url)
            batch.append((url, site.name if site else "", page))
            if len(batch) >= BATCH:
                await asyncio.to_thread(_put_pages, built, batch)
                batch = []
        await asyncio.to_thread(_put_pages, built, batch)
        await asyncio.to_thread(lambda: built.put_many(current.entries_after(mark)))
        count = await asyncio.to_thread(built.count)
    finally:
        built.close()
        current.close()
    swap_in(name, built_at)
    return count


def _put_pages(index: SearchIndex, pages: list[tuple[str, str, StoredPage]]) -> None:
    index.put_many([entry_of(url, site, page) for url, site, page in pages])
