"""The store interface: opaque values under opaque keys, and how a store says it is away.

Beside the entries, a store keeps indexes: named sets of entry keys, each with a value, so
the cache can list what it has of one kind (the articles a site removed) without the
store ever knowing a URL; indexes are small and neither evicted nor expired.

Both backends (``sqlite``, ``redis``) implement ``Store``; ``cache`` seals typed entries
into either. It lives apart from ``cache`` so the backends need not import what uses them.
"""

from __future__ import annotations

from typing import Protocol, Self


class StoreUnavailable(Exception):
    """The store could not answer now (Redis down, database busy); callers carry on without it."""


class Store(Protocol):
    """Opaque values under opaque keys; both are bytes the store never interprets."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def get(self, key: bytes) -> bytes | None: ...

    async def put(self, key: bytes, value: bytes, keep: bool = False) -> None:
        """Store ``value``; with ``keep``, the entry is never evicted by the size bound or
        expired by ``keep_seconds`` (a copy of an article its origin removed), until it is
        put again without ``keep`` or deleted."""

    async def delete(self, key: bytes) -> bool: ...

    async def acquire(self, key: bytes, seconds: int) -> str | None:
        """A lock token if the lock on ``key`` was free (held for ``seconds`` at most)."""

    async def release(self, key: bytes, token: str) -> None: ...

    async def held(self, key: bytes) -> bool: ...

    async def claim(self, key: bytes, seconds: int) -> bool:
        """Record ``key`` for ``seconds``; False if it was recorded already and has not
        expired (a nonce seen twice). Atomic for every process sharing the store."""

    async def index_put(self, index: bytes, member: bytes, value: bytes) -> None:
        """Add ``member`` (an entry key) with ``value`` to ``index``, or replace its value."""

    async def index_delete(self, index: bytes, member: bytes) -> bool: ...

    async def index_items(self, index: bytes) -> list[tuple[bytes, bytes]]:
        """Every member of ``index`` with its value, in no particular order."""

    async def stats(self) -> dict[str, int]: ...

    async def prune(self) -> int:
        """Drop expired entries and evict down to the size bound; how many were dropped."""
