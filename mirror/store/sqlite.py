"""The default store: one SQLite file in the data dir, bounded in size, evicting LRU.

Entries put with ``keep`` (copies of articles their origin removed) are never evicted nor
pruned: they are what the mirror exists to keep. Only ``delete`` (``mirror cache purge``)
or a later put without ``keep`` (the article came back) makes them ordinary again.

SQLite runs on one dedicated thread that owns the connection: every read and write goes
through it, so the event loop never blocks on disk and each process has exactly one writer.
WAL mode with ``synchronous=NORMAL`` means a committed entry survives the process being
killed at any moment (the WAL is in the OS's hands once a commit returns), and readers of
other processes (``mirror cache ...``, other workers) never wait for the writer.

Several processes may share the file (``server.workers``), so nothing that must hold for the
file is kept in one process. The bytes stored are counted in the file itself (``totals``,
kept by triggers in the transaction of every write and delete), and a write that takes them
past ``max_bytes`` evicts in that same transaction: the bound holds whatever the number of
writers. Fetch leases (``leases``, a row per URL with an expiry) let one process of the host
fetch a URL while the others wait for its copy, as Redis's locks do across hosts.

A file that is not a database, or that SQLite finds malformed, is moved aside and rebuilt
empty: the cache is a copy of what origins said, so losing it costs refetches, never service.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Self, TypeVar

from mirror.store.base import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# In one transaction, so that a process opening an older file cannot write between the
# triggers' creation and the first count of what the file holds.
SCHEMA = """
BEGIN IMMEDIATE;
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
CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS entry_added AFTER INSERT ON entries
    BEGIN UPDATE totals SET bytes = bytes + new.size; END;
CREATE TRIGGER IF NOT EXISTS entry_removed AFTER DELETE ON entries
    BEGIN UPDATE totals SET bytes = bytes - old.size; END;
CREATE TRIGGER IF NOT EXISTS entry_resized AFTER UPDATE OF size ON entries
    BEGIN UPDATE totals SET bytes = bytes + new.size - old.size; END;
INSERT OR IGNORE INTO totals (id, bytes) SELECT 0, COALESCE(SUM(size), 0) FROM entries;
CREATE TABLE IF NOT EXISTS leases (
    key BLOB PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (key BLOB PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS index_members (
    index_key BLOB NOT NULL,
    member BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (index_key, member)
) WITHOUT ROWID;
COMMIT;
"""
# Files made before entries could be kept have no ``kept`` column; it is added on opening.
KEPT_COLUMN = "ALTER TABLE entries ADD COLUMN kept INTEGER NOT NULL DEFAULT 0"
# An upsert, not INSERT OR REPLACE: a replaced row would leave the delete trigger unfired.
PUT = """
INSERT INTO entries (key, value, size, stored_at, used_at, kept) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    value = excluded.value, size = excluded.size,
    stored_at = excluded.stored_at, used_at = excluded.used_at, kept = excluded.kept
"""
# Taken when free or expired; the WHERE leaves a live lease (and the row count at 0).
ACQUIRE = """
INSERT INTO leases (key, token, expires) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires = excluded.expires
WHERE leases.expires <= ?
"""
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
EVICT_TO = 0.9  # evict down to 90% of the bound, so eviction does not run on every write
BUSY_MS = 2000


class SqliteStore:
    """``Store`` on a SQLite file; use as an async context manager."""

    def __init__(
        self, path: Path, max_bytes: int, keep_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        """``clock`` (a test seam) stamps entries, claims and leases, so a test moves it past
        an expiry instead of sleeping through it."""
        self.path = path
        self._clock = clock
        self._max_bytes = max_bytes
        self._keep_seconds = keep_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None

    async def __aenter__(self) -> Self:
        await self._run(self._open)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._run(self._close)
        self._thread.shutdown(wait=True)

    async def get(self, key: bytes) -> bytes | None:
        return await self._run(self._get, key)

    async def put(self, key: bytes, value: bytes, keep: bool = False) -> None:
        """Store ``value``; with ``keep``, never evicted nor pruned until put again without."""
        await self._run(self._put, key, value, keep)

    async def index_put(self, index: bytes, member: bytes, value: bytes) -> None:
        await self._run(self._index_put, index, member, value)

    async def index_delete(self, index: bytes, member: bytes) -> bool:
        return await self._run(self._index_delete, index, member)

    async def index_items(self, index: bytes) -> list[tuple[bytes, bytes]]:
        return await self._run(self._index_items, index)

    async def delete(self, key: bytes) -> bool:
        return await self._run(self._delete, key)

    async def acquire(self, key: bytes, seconds: int) -> str | None:
        """A lease on ``key`` for every process using this file, if none holds a live one."""
        return await self._run(self._acquire, key, seconds)

    async def release(self, key: bytes, token: str) -> None:
        await self._run(self._release, key, token)

    async def held(self, key: bytes) -> bool:
        return await self._run(self._held, key)

    async def claim(self, key: bytes, seconds: int) -> bool:
        """Record ``key`` for ``seconds``; False if it is recorded and unexpired (for every
        process using this file: one transaction of one statement decides)."""
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
        self._conn.execute("UPDATE entries SET used_at = ? WHERE key = ?", (self._clock(), key))
        return bytes(found[0])

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once: other processes' writers wait (``BUSY_MS``)
        instead of both reading the totals and then one failing to write."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _put(self, key: bytes, value: bytes, keep: bool) -> None:
        now = self._clock()
        with self._transaction() as db:
            db.execute(PUT, (key, value, len(value), now, now, int(keep)))
            self._evict(db)

    def _claim(self, key: bytes, seconds: int) -> bool:
        now = self._clock()
        with self._transaction() as db:
            db.execute("DELETE FROM claims WHERE expires_at < ?", (now,))
            inserted = db.execute(
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

    def _delete(self, key: bytes) -> bool:
        return self._conn.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount > 0

    def _evict(self, db: sqlite3.Connection) -> int:
        """Drop least recently used entries until the file is under its bound again; inside
        the caller's transaction, so no other process writes between the count and the
        deletion. Kept entries count towards the bound but are never dropped."""
        total = db.execute("SELECT bytes FROM totals").fetchone()[0]
        excess = total - int(self._max_bytes * EVICT_TO)
        if total <= self._max_bytes or excess <= 0:
            return 0
        victims: list[tuple[bytes]] = []
        freed = 0
        for key, size in db.execute(
            "SELECT key, size FROM entries WHERE kept = 0 ORDER BY used_at"
        ):
            victims.append((key,))
            freed += size
            if freed >= excess:
                break
        db.executemany("DELETE FROM entries WHERE key = ?", victims)
        return len(victims)

    def _acquire(self, key: bytes, seconds: int) -> str | None:
        token = secrets.token_hex(16)
        now = self._clock()
        taken = self._conn.execute(ACQUIRE, (key, token, now + seconds, now)).rowcount
        return token if taken else None

    def _release(self, key: bytes, token: str) -> None:
        self._conn.execute("DELETE FROM leases WHERE key = ? AND token = ?", (key, token))

    def _held(self, key: bytes) -> bool:
        query = "SELECT 1 FROM leases WHERE key = ? AND expires > ?"
        return self._conn.execute(query, (key, self._clock())).fetchone() is not None

    def _prune(self) -> int:
        now = self._clock()
        with self._transaction() as db:
            dropped = 0
            if self._keep_seconds:
                cutoff = now - self._keep_seconds
                dropped = db.execute(
                    "DELETE FROM entries WHERE used_at < ? AND kept = 0", (cutoff,)
                ).rowcount
            dropped += self._evict(db)
            db.execute("DELETE FROM leases WHERE expires <= ?", (now,))
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
