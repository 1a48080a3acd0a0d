"""Real stores for the cache tests: a redis-server of our own, and either store opened.

Each Redis fixture starts Debian's ``redis-server`` (``tests.support.servers``) on a free loopback
port with a temp directory (so ``SAVE`` writes a dump.rdb we can read), and stops it
afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mirror.store.base import Store
from mirror.store.redis import RedisStore
from mirror.store.sqlite import SqliteStore
from tests.support.servers import RedisServer, running_redis


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@dataclass
class SkewedClock:
    """``time.time`` plus the time a test let pass (``StoreUnderTest.pass_time``)."""

    skew: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


@dataclass
class StoreUnderTest:
    """A store of either kind, how to read everything it holds at rest, and its clock."""

    kind: str
    store: Store
    path: Path
    redis: RedisServer | None = None
    clock: SkewedClock = field(default_factory=SkewedClock)

    async def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` pass for the store: SQLite's clock is moved on; Redis keeps its
        own, so for Redis they pass for real."""
        if self.redis is not None:
            await asyncio.sleep(seconds)
        self.clock.skew += seconds

    def at_rest(self) -> bytes:
        if self.redis is not None:
            return self.redis.dump()
        return b"".join(p.read_bytes() for p in self.path.parent.iterdir() if p.is_file())

    def another(self) -> Store:
        """A second client of the same store, as another instance would open it."""
        if self.redis is not None:
            return RedisStore(self.redis.url, "test:", 3600)
        return SqliteStore(self.path, 1 << 30, 3600, self.clock)


@pytest.fixture(params=["sqlite", "redis"])
async def store_under_test(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreUnderTest]:
    path = tmp_path / "store" / "cache.sqlite3"
    if request.param == "redis":
        with running_redis(tmp_path_factory.mktemp("redis")) as server:
            async with RedisStore(server.url, "test:", 3600) as redis_store:
                yield StoreUnderTest("redis", redis_store, path, server)
    else:
        clock = SkewedClock()
        async with SqliteStore(path, 1 << 30, 3600, clock) as sqlite_store:
            yield StoreUnderTest("sqlite", sqlite_store, path, clock=clock)
