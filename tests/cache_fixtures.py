"""Real stores for the cache tests: a redis-server of our own, and either store opened.

Each Redis fixture starts Debian's ``redis-server`` on a free loopback port with a temp
directory (so ``SAVE`` writes a dump.rdb we can read), and stops it afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mirror.store.base import Store
from mirror.store.redis import RedisStore
from mirror.store.sqlite import SqliteStore

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class RedisServer:
    """A redis-server process of our own; ``stop``/``start`` keep the port."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def dump(self) -> bytes:
        """What a seized Redis would hand over: ``SAVE`` and read the RDB file."""
        subprocess.run([REDIS_CLI, "-p", str(self.port), "SAVE"], check=True, capture_output=True)
        return (self.directory / "dump.rdb").read_bytes()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port())
    server.start()
    yield server
    server.stop()


@dataclass
class StoreUnderTest:
    """A store of either kind, and how to read everything it holds at rest."""

    kind: str
    store: Store
    path: Path
    redis: RedisServer | None = None

    @property
    def shared(self) -> bool:
        """Whether other instances see this store's locks (Redis) or not (SQLite)."""
        return self.redis is not None

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
        server = RedisServer(tmp_path_factory.mktemp("redis"), free_port())
        server.start()
        try:
            async with RedisStore(server.url, "test:", 3600) as redis_store:
                yield StoreUnderTest("redis", redis_store, path, server)
        finally:
            server.stop()
    else:
        async with SqliteStore(path, 1 << 30, 3600) as sqlite_store:
            yield StoreUnderTest("sqlite", sqlite_store, path)
