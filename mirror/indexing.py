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
from mirror.search.index import INDEX_FILE, SearchIndex
from mirror.settings import Config

log = logging.getLogger(__name__)

T = TypeVar("T")


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
