"""The store interface: opaque values under opaque keys, and how a store says it is away.

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

    async def put(self, key: bytes, value: bytes) -> None: ...

    async def delete(self, key: bytes) -> bool: ...

    async def acquire(self, key: bytes, seconds: int) -> str | None:
        """A lock token if the lock on ``key`` was free (held for ``seconds`` at most)."""

    async def release(self, key: bytes, token: str) -> None: ...

    async def held(self, key: bytes) -> bool: ...

    async def claim(self, key: bytes, seconds: int) -> bool:
        """Record ``key`` for ``seconds``; False if it was recorded already and has not
        expired (a nonce seen twice). Atomic for every process sharing the store."""

    async def stats(self) -> dict[str, int]: ...

    async def prune(self) -> int:
        """Drop expired entries and evict down to the size bound; how many were dropped."""
