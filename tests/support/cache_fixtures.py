"""Real stores for the cache tests: a redis-server of our own, and either store opened.

Each Redis fixture starts Debian's ``redis-server`` (``tests.support.servers``) on a free loopback
port with a temp directory (so ``SAVE`` writes a dump.rdb we can read), and stops it
afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
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
class StoreUnderTest:
    """A store of either kind, and how to read everything it holds at rest."""

    kind: str
    store: Store
    path: Path
    redis: RedisServer | None = None

    def at_rest(self) -> bytes:
        if self.redis is not None:
            return self.redis.dump()
        return b"".join(p.read_bytes() for p in self.path.parent.iterdir() if p.is_file())

    def another(self) -> Store:
        """A second client of the same store, as another instance would open it."""
        if self.redis is not None:
            return RedisStore(self.redis.url, "test:", 3600)
        return SqliteStore(self.path, 1 << 30, 3600)


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
        async with SqliteStore(path, 1 << 30, 3600) as sqlite_store:
            yield StoreUnderTest("sqlite", sqlite_store, path)
