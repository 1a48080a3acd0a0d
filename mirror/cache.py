"""The page store: SQLite in the data dir, nothing readable at rest.

Rows are keyed by an HMAC of the URL and hold the stored page encrypted with AES-GCM
(the row key is the associated data, so a row cannot be moved under another key). A seized
disk tells neither which URLs were read nor what they said.

SQLite runs on one dedicated thread that owns the connection: every read and write goes
through it, so the event loop never blocks on disk and there is exactly one writer.
WAL mode keeps readers of other processes (``mirror cache ...``) out of the writer's way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mirror.article import Article, LeadImage

NONCE_BYTES = 12
SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    key BLOB PRIMARY KEY,
    stored_at REAL NOT NULL,
    sealed BLOB NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class StoredPage:
    """A processed article and what we know about its fetch."""

    article: Article
    fetched_at: float
    etag: str | None = None
    last_modified: str | None = None

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> StoredPage:
        raw: dict[str, Any] = json.loads(data)
        article = dict(raw["article"])
        lead = article.pop("lead_image")
        return cls(
            article=Article(**article, lead_image=LeadImage(**lead) if lead else None),
            fetched_at=raw["fetched_at"],
            etag=raw["etag"],
            last_modified=raw["last_modified"],
        )


class Sealer:
    """Keyed hashing of URLs and authenticated encryption of stored bodies."""

    def __init__(self, secret: bytes) -> None:
        self._mac_key = _derive(secret, b"mirror cache key hashing")
        self._aead = AESGCM(_derive(secret, b"mirror cache body encryption"))

    def row_key(self, url: str) -> bytes:
        return hmac.new(self._mac_key, url.encode("utf-8"), hashlib.sha256).digest()

    def seal(self, row_key: bytes, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, row_key)

    def open(self, row_key: bytes, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], row_key)


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class PageCache:
    """Async facade over the SQLite file; use as an async context manager."""

    def __init__(self, path: Path, secret: bytes) -> None:
        self._path = path
        self._sealer = Sealer(secret)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None

    async def __aenter__(self) -> Self:
        await self._run(self._connect)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._run(self._disconnect)
        self._thread.shutdown(wait=True)

    async def get(self, url: str) -> StoredPage | None:
        key = self._sealer.row_key(url)
        sealed = await self._run(self._select, key)
        if sealed is None:
            return None
        return StoredPage.from_json(self._sealer.open(key, sealed))

    async def put(self, url: str, page: StoredPage) -> None:
        key = self._sealer.row_key(url)
        await self._run(self._upsert, key, self._sealer.seal(key, page.to_json()))

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()

    def _select(self, key: bytes) -> bytes | None:
        assert self._db is not None
        row = self._db.execute("SELECT sealed FROM pages WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def _upsert(self, key: bytes, sealed: bytes) -> None:
        assert self._db is not None
        self._db.execute(
            "INSERT OR REPLACE INTO pages (key, stored_at, sealed) VALUES (?, ?, ?)",
            (key, time.time(), sealed),
        )
