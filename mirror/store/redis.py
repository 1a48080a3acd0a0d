"""The shared store for many instances: Redis through ``redis.asyncio``.

Every key starts with the configured prefix, so one Redis can serve several mirrors or
other programs. Entries carry a TTL (``cache.keep_seconds``) renewed on every read, so
what readers still read stays and the rest expires. Entries put with ``keep`` (copies of
articles their origin removed) have no TTL, and reads renew only a TTL that is there
(``EXPIRE ... XX``), so they never expire; under a ``volatile-*`` ``maxmemory-policy``
Redis never evicts them either (``allkeys-*`` would). Indexes are hashes; streams (the
stored articles each instance's search index follows) are Redis streams. Locks (``SET NX PX`` and a
compare-and-delete script) let one instance fetch a URL while the others wait for its copy.

Redis being down must not take the mirror down: every failure becomes ``StoreUnavailable``
after one short attempt (no retries, short timeouts), and for a second after a failure the
store answers ``StoreUnavailable`` at once instead of making each request wait to connect.
The client reconnects on its own once Redis is back.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Self, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from mirror.store.base import StoreUnavailable

T = TypeVar("T")

TIMEOUT_SECONDS = 1.0
BACKOFF_SECONDS = 1.0
RELEASE_SCRIPT = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


def connect(url: str, timeout: float) -> aioredis.Redis:
    """A client that gives up after ``timeout`` seconds and never retries: a Redis that
    does not answer must cost a reader one short wait, then the caller's fallback."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


class RedisStore:
    """``Store`` on a Redis server; use as an async context manager."""

    def __init__(self, url: str, prefix: str, keep_seconds: int) -> None:
        self.prefix = prefix.encode("utf-8")
        self._keep_seconds = keep_seconds
        self._redis = connect(url, TIMEOUT_SECONDS)
        self._release = self._redis.register_script(RELEASE_SCRIPT)
        self._down_until = 0.0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._redis.aclose()

    def _entry(self, key: bytes) -> bytes:
        return self.prefix + b"e:" + key.hex().encode("ascii")

    def _lock(self, key: bytes) -> bytes:
        return self.prefix + b"l:" + key.hex().encode("ascii")

    def _index(self, index: bytes) -> bytes:
        return self.prefix + b"i:" + index.hex().encode("ascii")

    async def get(self, key: bytes) -> bytes | None:
        if self._keep_seconds:
            value = await self._call(partial(self._get_renewed, self._entry(key)))
        else:
            value = await self._call(lambda: self._redis.get(self._entry(key)))
        assert value is None or isinstance(value, bytes), "responses are not decoded"
        return value

    async def _get_renewed(self, name: bytes) -> object:
        """The value, its TTL renewed if it has one (a kept entry has none and keeps none)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.expire(name, self._keep_seconds, xx=True)
            value, _ = await pipe.execute()
        return value

    async def put(self, key: bytes, value: bytes, keep: bool = False) -> None:
        ttl = None if keep else self._keep_seconds or None
        await self._call(lambda: self._redis.set(self._entry(key), value, ex=ttl))

    async def delete(self, key: bytes) -> bool:
        return bool(await self._call(lambda: self._redis.delete(self._entry(key))))

    async def index_put(self, index: bytes, member: bytes, value: bytes) -> None:
        await self._call(lambda: self._redis.hset(self._index(index), member, value))

    async def index_delete(self, index: bytes, member: bytes) -> bool:
        return bool(await self._call(lambda: self._redis.hdel(self._index(index), member)))

    async def index_items(self, index: bytes) -> list[tuple[bytes, bytes]]:
        items = await self._call(lambda: self._redis.hgetall(self._index(index)))
        pairs: list[tuple[bytes, bytes]] = []
        for member, value in items.items():
            assert isinstance(member, bytes) and isinstance(value, bytes), "not decoded"
            pairs.append((member, value))
        return pairs

    async def acquire(self, key: bytes, seconds: int) -> str | None:
        token = secrets.token_hex(16)
        taken = await self._call(
            lambda: self._redis.set(self._lock(key), token, nx=True, ex=seconds)
        )
        return token if taken else None

    async def release(self, key: bytes, token: str) -> None:
        await self._call(lambda: self._release(keys=[self._lock(key)], args=[token]))

    async def held(self, key: bytes) -> bool:
        return bool(await self._call(lambda: self._redis.exists(self._lock(key))))

    async def claim(self, key: bytes, seconds: int) -> bool:
        claim = self.prefix + b"c:" + key.hex().encode("ascii")
        return bool(await self._call(lambda: self._redis.set(claim, b"1", nx=True, ex=seconds)))

    async def stream_add(self, name: bytes, value: bytes, maxlen: int) -> str:
        """Append ``value`` to the stream ``name``, kept to about ``maxlen`` entries; its id."""
        added: Any = await self._call(
            lambda: self._redis.xadd(
                self._stream(name), {b"v": value}, maxlen=maxlen, approximate=True
            )
        )
        return bytes(added).decode("ascii")

    async def stream_read(
        self, name: bytes, after: str, count: int, block_ms: int
    ) -> list[tuple[str, bytes]]:
        """Up to ``count`` entries after the id ``after``, waiting up to ``block_ms`` for one."""
        answer: Any = await self._call(
            lambda: self._redis.xread({self._stream(name): after}, count=count, block=block_ms)
        )
        return [
            (bytes(entry_id).decode("ascii"), bytes(fields[b"v"]))
            for _, entries in answer or []
            for entry_id, fields in entries
        ]

    async def stream_first(self, name: bytes) -> str | None:
        """The id of the oldest entry the stream still holds (older ones were trimmed)."""
        first: Any = await self._call(lambda: self._redis.xrange(self._stream(name), count=1))
        return bytes(first[0][0]).decode("ascii") if first else None

    async def stream_last(self, name: bytes) -> str:
        """The id of the newest entry, ``0-0`` for an empty stream."""
        last: Any = await self._call(lambda: self._redis.xrevrange(self._stream(name), count=1))
        return bytes(last[0][0]).decode("ascii") if last else "0-0"

    def _stream(self, name: bytes) -> bytes:
        return self.prefix + b"s:" + name

    async def stats(self) -> dict[str, int]:
        entries = value_bytes = 0
        try:
            async for name in self._redis.scan_iter(match=self._pattern(b"e:*"), count=1000):
                entries += 1
                value_bytes += await self._call(partial(self._redis.strlen, name))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc
        return {"entries": entries, "value_bytes": value_bytes}

    async def prune(self) -> int:
        """Redis expires entries by their TTL and evicts by its own ``maxmemory-policy``."""
        return 0

    def _pattern(self, suffix: bytes) -> bytes:
        escaped = (b"\\" + bytes([c]) if c in b"*?[]\\" else bytes([c]) for c in self.prefix)
        return b"".join(escaped) + suffix

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        if time.monotonic() < self._down_until:
            raise StoreUnavailable("redis: down, retrying shortly")
        try:
            return await command()
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + BACKOFF_SECONDS
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc
