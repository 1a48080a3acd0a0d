"""The stream of stored and purged articles that instances sharing Redis index from.

Each instance keeps its own search index (SQLite FTS5 in its data dir); what one instance
stores, the others learn from this Redis stream: an event per stored or purged article
(``XADD``, kept to about ``MAX_EVENTS``), read by each instance from the last id it read
(``XREAD``). An event holds the article's URL, sealed like every list member (AES-GCM,
``PageCache.seal_name``), and the id of the index that wrote it, so an instance skips its
own; the article itself is read from the shared store, sealed as ever. Nothing of the
stream is readable at rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from mirror.store.cache import PageCache
from mirror.store.redis import RedisStore

STREAM = b"stored-articles"
MAX_EVENTS = 100_000
Kind = Literal["put", "purge"]


@dataclass(frozen=True)
class Event:
    """One event read: its stream id, what happened, to which URL, from which index."""

    id: str
    kind: Kind
    url: str
    writer: str


class ArticleStream:
    """The events of a Redis-backed cache (``of`` is ``None`` for any other store)."""

    def __init__(self, cache: PageCache, store: RedisStore) -> None:
        self._cache = cache
        self._store = store

    @classmethod
    def of(cls, cache: PageCache) -> ArticleStream | None:
        store = cache.store
        return cls(cache, store) if isinstance(store, RedisStore) else None

    async def publish(self, kind: Kind, url: str, writer: str) -> None:
        """Say that ``url`` was stored or purged by the index ``writer``."""
        event = json.dumps({"k": kind, "u": url, "w": writer}, ensure_ascii=False)
        await self._store.stream_add(STREAM, self._cache.seal_name(event), MAX_EVENTS)

    async def read(self, after: str, count: int, block_ms: int) -> list[Event]:
        """The events after the id ``after``; one that fails authentication is skipped."""
        events = []
        for entry_id, sealed in await self._store.stream_read(STREAM, after, count, block_ms):
            opened = self._cache.open_name(sealed)
            if opened is None:
                events.append(Event(entry_id, "put", "", ""))  # moves the position on
                continue
            raw = json.loads(opened)
            kind: Kind = "purge" if raw["k"] == "purge" else "put"
            events.append(Event(entry_id, kind, str(raw["u"]), str(raw["w"])))
        return events

    async def lost(self, position: str) -> bool:
        """Whether events after ``position`` may have been trimmed unread."""
        first = await self._store.stream_first(STREAM)
        return first is not None and _order(first) > _order(position)

    async def last(self) -> str:
        return await self._store.stream_last(STREAM)


def _order(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)
