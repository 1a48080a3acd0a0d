"""The configured sites' feeds, fetched through the mirror's ``Fetcher`` and kept a while.

Home and site index pages are built from these, so a burst of readers costs the origin one
feed fetch per ``reader.feed_fresh_seconds``. When a refresh fails the last good copy is
used, as for articles; with no copy, the failure itself is remembered for ``RETRY_SECONDS``
so a blocked origin does not make every home page wait out the fetch timeout. Pages wait
for a slow feed only ``wait`` seconds: the fetch goes on in the background and fills the
store for the next reader. Feed URLs come from the configuration only, so the store is
bounded.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from dataclasses import dataclass, field

from mirror.errors import MirrorError
from mirror.fetch.client import FEED_TYPES, Fetcher
from mirror.settings import Site
from mirror.share.feeds import FeedError, FeedItem, read_items

OLDEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Latest:
    """A site's items, newest first; ``failed`` when at least one of its feeds was unreadable."""

    items: tuple[FeedItem, ...] = ()
    failed: bool = False


@dataclass
class _Copy:
    fetched_at: float
    body: bytes


@dataclass
class SiteFeeds:
    """Feed bodies by URL, fresh for ``fresh_seconds``; one fetch at a time per feed."""

    fetcher: Fetcher
    fresh_seconds: float
    _copies: dict[str, _Copy] = field(default_factory=dict)
    _failures: dict[str, tuple[float, MirrorError]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def body(self, url: str) -> bytes:
        """The feed at ``url``: the kept copy while fresh, else fetched (or the old copy)."""
        async with self._locks.setdefault(url, asyncio.Lock()):
            copy = self._copies.get(url)
            if copy is not None and time.monotonic() - copy.fetched_at < self.fresh_seconds:
                return copy.body
            failed_at, error = self._failures.get(url, (-RETRY_SECONDS, None))
            if error is not None and copy is None and time.monotonic() - failed_at < RETRY_SECONDS:
                raise error
            try:
                fetched = await self.fetcher.fetch(url, FEED_TYPES)
            except MirrorError as exc:
                self._failures[url] = (time.monotonic(), exc)
                if copy is None:
                    raise
                return copy.body
            self._failures.pop(url, None)
            self._copies[url] = _Copy(time.monotonic(), fetched.body)
            return fetched.body

    async def latest(self, site: Site, wait: float | None = None) -> Latest:
        """All items of a site's feeds, each article once, newest first; a feed that takes
        longer than ``wait`` seconds counts as failed for now."""
        items: dict[str, FeedItem] = {}
        failed = False
        for url in site.feeds:
            fetching = asyncio.ensure_future(self.body(url))
            fetching.add_done_callback(_retrieve)
            try:
                body = await asyncio.wait_for(asyncio.shield(fetching), wait)
                for item in read_items(body, url):
                    items.setdefault(item.link, item)
            except (MirrorError, FeedError, TimeoutError):
                failed = True
        ordered = sorted(items.values(), key=lambda i: i.published or OLDEST, reverse=True)
        return Latest(tuple(ordered), failed)


def _retrieve(task: asyncio.Future[bytes]) -> None:
    """Mark a background fetch's failure as seen: it was reported, or nobody waits for it."""
    if not task.cancelled():
        task.exception()
