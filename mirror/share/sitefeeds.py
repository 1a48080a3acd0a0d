"""The configured sites' feeds, fetched through the mirror's ``Fetcher`` and kept a while.

Home and site index pages are built from these, so a burst of readers costs the origin one
feed fetch per ``reader.feed_fresh_seconds``. When a refresh fails the last good copy is
used, as for articles; with no copy, the failure itself is remembered for ``RETRY_SECONDS``
so a blocked origin does not make every home page wait out the fetch timeout. Pages wait
for a slow feed only ``wait`` seconds: the fetch goes on in the background and fills the
store for the next reader. Feed URLs come from the configuration only, so the store is
bounded.

Nothing heavy happens per request: a feed is parsed once per fetch (in the transform
processes, ``mirror.pool``), a site's merged list is made once per set of copies, and a
re-published feed once per copy and mirror address; all are kept with the copy.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from dataclasses import dataclass, field

from mirror.errors import MirrorError
from mirror.fetch.client import FEED_TYPES, Fetcher
from mirror.pool import TransformPool, off_loop
from mirror.settings import Site
from mirror.share.feeds import FeedError, FeedItem, FeedLinks, read_items, republish

OLDEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
RETRY_SECONDS = 60.0
REPUBLISHED_PER_COPY = 8  # mirror addresses (public URL, alternates) a copy keeps a feed for


@dataclass(frozen=True)
class Latest:
    """A site's items, newest first; ``failed`` when at least one of its feeds was unreadable."""

    items: tuple[FeedItem, ...] = ()
    failed: bool = False


@dataclass
class FeedCopy:
    """One fetched feed: its bytes, its items parsed once (``unreadable`` when they could
    not be), and its re-published forms by mirror address."""

    fetched_at: float
    body: bytes
    items: tuple[FeedItem, ...]
    unreadable: FeedError | None = None
    republished: dict[tuple[str, str, str], tuple[bytes, str]] = field(default_factory=dict)


def parsed_items(body: bytes, url: str) -> tuple[tuple[FeedItem, ...], FeedError | None]:
    """The items of a feed, or why there are none: what a transform process sends back."""
    try:
        return tuple(read_items(body, url)), None
    except FeedError as exc:
        return (), exc


@dataclass
class SiteFeeds:
    """Feeds by URL, fresh for ``fresh_seconds``; one fetch at a time per feed. Parsing
    and re-publishing run in ``pool`` (the server's transform processes) when given."""

    fetcher: Fetcher
    fresh_seconds: float
    pool: TransformPool | None = None
    _copies: dict[str, FeedCopy] = field(default_factory=dict)
    _failures: dict[str, tuple[float, MirrorError]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _latest: dict[str, tuple[tuple[FeedCopy | None, ...], Latest]] = field(default_factory=dict)

    async def body(self, url: str) -> bytes:
        """The bytes of the feed at ``url``."""
        return (await self.copy(url)).body

    async def copy(self, url: str) -> FeedCopy:
        """The feed at ``url``: the kept copy while fresh, else fetched (or the old copy)."""
        async with self._locks.setdefault(url, asyncio.Lock()):
            copy = self._copies.get(url)
            if copy is not None and time.monotonic() - copy.fetched_at < self.fresh_seconds:
                return copy
            failed_at, error = self._failures.get(url, (-RETRY_SECONDS, None))
            if error is not None and copy is None and time.monotonic() - failed_at < RETRY_SECONDS:
                raise error
            try:
                fetched = await self.fetcher.fetch(url, FEED_TYPES)
                items, unreadable = await off_loop(self.pool, parsed_items, fetched.body, url)
            except MirrorError as exc:
                self._failures[url] = (time.monotonic(), exc)
                if copy is None:
                    raise
                return copy
            self._failures.pop(url, None)
            self._copies[url] = FeedCopy(time.monotonic(), fetched.body, items, unreadable)
            return self._copies[url]

    async def republished(
        self, url: str, links: FeedLinks, site_url: str, feed_url: str
    ) -> tuple[bytes, str]:
        """The feed at ``url`` re-published (``share.feeds.republish``), made once per copy
        and address; ``FeedError`` when it cannot be read."""
        copy = await self.copy(url)
        key = (links.base, site_url, feed_url)
        made = copy.republished.get(key)
        if made is None:
            made = await off_loop(self.pool, republish, copy.body, links, site_url, feed_url)
            if len(copy.republished) >= REPUBLISHED_PER_COPY:
                copy.republished.clear()
            copy.republished[key] = made
        return made

    async def latest(self, site: Site, wait: float | None = None) -> Latest:
        """All items of a site's feeds, each article once, newest first; a feed that takes
        longer than ``wait`` seconds counts as failed for now. Merged once per set of copies."""
        copies: list[FeedCopy | None] = []
        for url in site.feeds:
            fetching = asyncio.ensure_future(self.copy(url))
            fetching.add_done_callback(_retrieve)
            try:
                copies.append(await asyncio.wait_for(asyncio.shield(fetching), wait))
            except (MirrorError, TimeoutError):
                copies.append(None)
        kept = self._latest.get(site.name)
        if kept is not None and _same(kept[0], copies):
            return kept[1]
        latest = merged(copies)
        self._latest[site.name] = (tuple(copies), latest)
        return latest


def merged(copies: list[FeedCopy | None]) -> Latest:
    """The items of ``copies`` (``None``: a feed that failed), each article once, newest
    first."""
    items: dict[str, FeedItem] = {}
    failed = False
    for copy in copies:
        if copy is None or copy.unreadable is not None:
            failed = True
            continue
        for item in copy.items:
            items.setdefault(item.link, item)
    ordered = sorted(items.values(), key=lambda i: i.published or OLDEST, reverse=True)
    return Latest(tuple(ordered), failed)


def _same(kept: tuple[FeedCopy | None, ...], copies: list[FeedCopy | None]) -> bool:
    return len(kept) == len(copies) and all(a is b for a, b in zip(kept, copies, strict=True))


def _retrieve(task: asyncio.Future[FeedCopy]) -> None:
    """Mark a background fetch's failure as seen: it was reported, or nobody waits for it."""
    if not task.cancelled():
        task.exception()
