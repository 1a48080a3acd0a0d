"""The default store: one SQLite file in the data dir, bounded in size, evicting LRU.

Entries put with ``keep`` (copies of articles their origin removed) are never evicted nor
pruned: they are what the mirror exists to keep. Only ``delete`` (``mirror cache purge``)
or a later put without ``keep`` (the article came back) makes them ordinary again.

SQLite runs on one dedicated thread that owns the connection: every read and write goes
through it, so the event loop never blocks on disk and each process has exactly one writer.
WAL mode with ``synchronous=NORMAL`` means a committed entry survives the process being
killed at any moment (the WAL is in the OS's hands once a commit returns), and readers of
other processes (``mirror cache ...``, other workers) never wait for the writer.

A file that is not a database, or that SQLite finds malformed, is moved aside and rebuilt
empty: the cache is a copy of what origins said, so losing it costs refetches, never service.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self, TypeVar

from mirror.store.base import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
DROP TABLE IF EXISTS pages;
CREATE TABLE IF NOT EXISTS entries (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    used_at REAL NOT NULL,
    kept INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used_at);
CREATE TABLE IF NOT EXISTS claims (key BLOB PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS index_members (
    index_key BLOB NOT NULL,
    member BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (index_key, member)
) WITHOUT ROWID;
"""
# Files made before entries could be kept have no ``kept`` column; it is added on opening.
KEPT_COLUMN = "ALTER TABLE entries ADD COLUMN kept INTEGER NOT NULL DEFAULT 0"
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
EVICT_TO = 0.9  # evict down to 90% of the bound, so eviction does not run on every write
BUSY_MS = 2000


class SqliteStore:
    """``Store`` on a SQLite file; use as an async context manager."""

    def __init__(self, path: Path, max_bytes: int, keep_seconds: int) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._keep_seconds = keep_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None
        self._total = 0

    async def __aenter__(self) -> Self:
        await self._run(self._open)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._run(self._close)
        self._thread.shutdown(wait=True)

    async def get(self, key: bytes) -> bytes | None:
        return await self._run(self._get, key)

    async def put(self, key: bytes, value: bytes, keep: bool = False) -> None:
        await self._run(self._put, key, value, keep)

    async def delete(self, key: bytes) -> bool:
        return await self._run(self._delete, key)

    async def index_put(self, index: bytes, member: bytes, value: bytes) -> None:
        await self._run(self._index_put, index, member, value)

    async def index_delete(self, index: bytes, member: bytes) -> bool:
        return await self._run(self._index_delete, index, member)

    async def index_items(self, index: bytes) -> list[tuple[bytes, bytes]]:
        return await self._run(self._index_items, index)

    async def acquire(self, key: bytes, seconds: int) -> str | None:
        """Always free: one process coalesces its own fetches; SQLite is not shared widely."""
        return ""

    async def release(self, key: bytes, token: str) -> None:
        return None

    async def held(self, key: bytes) -> bool:
        return False

    async def claim(self, key: bytes, seconds: int) -> bool:
        """Claims live in their own table, so eviction of entries never forgets one early."""
        return await self._run(self._claim, key, seconds)

    async def stats(self) -> dict[str, int]:
        return await self._run(self._stats)

    async def prune(self) -> int:
        return await self._run(self._prune)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._guarded, function, *args)

    def _guarded(self, function: Callable[..., T], *args: object) -> T:
        """Run on the SQLite thread; rebuild a corrupt file, report a busy one."""
        try:
            return function(*args)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in CORRUPT_CODES:
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            self._rebuild(exc)
            raise StoreUnavailable("sqlite: the cache file was corrupt and was rebuilt") from exc

    def _open(self) -> None:
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in CORRUPT_CODES:
                raise
            self._rebuild(exc)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        if "kept" not in columns:
            self._db.execute(KEPT_COLUMN)
        self._total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]

    def _rebuild(self, exc: sqlite3.DatabaseError) -> None:
        """Move the broken file (and its WAL) aside and start an empty one."""
        self._close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.error("cache file unreadable (%s); moved to %s and rebuilt", exc, aside.name)
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                source.replace(aside.with_name(aside.name + suffix))
        self._connect()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None, "SqliteStore used outside its context"
        return self._db

    def _get(self, key: bytes) -> bytes | None:
        found = self._conn.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if found is None:
            return None
        self._conn.execute("UPDATE entries SET used_at = ? WHERE key = ?", (time.time(), key))
        return bytes(found[0])

    def _put(self, key: bytes, value: bytes, keep: bool) -> None:
        now = time.time()
        old = self._conn.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
        self._conn.execute(
            "INSERT OR REPLACE INTO entries (key, value, size, stored_at, used_at, kept)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, value, len(value), now, now, int(keep)),
        )
        self._total += len(value) - (old[0] if old else 0)
        if self._total > self._max_bytes:
            self._evict()

    def _delete(self, key: bytes) -> bool:
        size = self._conn.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
        self._conn.execute("DELETE FROM entries WHERE key = ?", (key,))
        self._total -= size[0] if size else 0
        return size is not None

    def _claim(self, key: bytes, seconds: int) -> bool:
        now = time.time()
        self._conn.execute("DELETE FROM claims WHERE expires_at < ?", (now,))
        inserted = self._conn.execute(
            "INSERT OR IGNORE INTO claims (key, expires_at) VALUES (?, ?)", (key, now + seconds)
        )
        return inserted.rowcount == 1

    def _index_put(self, index: bytes, member: bytes, value: bytes) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO index_members (index_key, member, value) VALUES (?, ?, ?)",
            (index, member, value),
        )

    def _index_delete(self, index: bytes, member: bytes) -> bool:
        deleted = self._conn.execute(
            "DELETE FROM index_members WHERE index_key = ? AND member = ?", (index, member)
        )
        return deleted.rowcount > 0

    def _index_items(self, index: bytes) -> list[tuple[bytes, bytes]]:
        rows = self._conn.execute(
            "SELECT member, value FROM index_members WHERE index_key = ?", (index,)
        )
        return [(bytes(member), bytes(value)) for member, value in rows]

    def _evict(self) -> int:
        """Drop least recently used entries until the file is under its bound again; kept
        entries count towards the bound but are never dropped."""
        self._total = self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        excess = self._total - int(self._max_bytes * EVICT_TO)
        if self._total <= self._max_bytes or excess <= 0:
            return 0
        victims: list[tuple[bytes]] = []
        freed = 0
        oldest_first = self._conn.execute(
            "SELECT key, size FROM entries WHERE kept = 0 ORDER BY used_at"
        )
        for key, size in oldest_first:
            victims.append((key,))
            freed += size
            if freed >= excess:
                break
        oldest_first.close()
        self._conn.execute("BEGIN")
        self._conn.executemany("DELETE FROM entries WHERE key = ?", victims)
        self._conn.execute("COMMIT")
        self._total -= freed
        return len(victims)

    def _prune(self) -> int:
        dropped = 0
        if self._keep_seconds:
            cutoff = time.time() - self._keep_seconds
            dropped = self._conn.execute(
                "DELETE FROM entries WHERE used_at < ? AND kept = 0", (cutoff,)
            ).rowcount
        dropped += self._evict()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    def _stats(self) -> dict[str, int]:
        count, total = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries"
        ).fetchone()
        file_bytes = sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )
        return {
            "entries": count,
            "value_bytes": total,
            "file_bytes": file_bytes,
            "max_bytes": self._max_bytes,
        }
