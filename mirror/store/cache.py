"""The cache: what is stored, how it is sealed, and the store interface behind it.

Nothing readable at rest. Entries are keyed by an HMAC of the kind and URL and hold the
stored value encrypted with AES-GCM (the entry key is the associated data, so a value
cannot be moved under another key). A seized disk or Redis dump tells neither which URLs
were read nor what they said.

Two stores implement ``Store`` (opaque bytes under opaque keys): SQLite in the data dir
(``mirror.store.sqlite``, the default) and Redis for many instances (``mirror.store.redis``).
``PageCache`` puts typed, sealed entries into either. A store that fails (Redis down, a
locked file) raises ``StoreUnavailable``; ``PageCache`` turns that into a miss or a skipped
write, so the mirror keeps serving from the origin while its store is away.

A page its origin removed is put with ``keep`` (never evicted nor expired) and listed in
its site's index of removed articles: the index's key is an HMAC of the site's name, its
members the pages' entry keys, each with the page's URL sealed, so listing a site's removed
articles reads nothing that is readable at rest. Every stored page is listed the same way
(``stored_pages``), which is what the search index is rebuilt from and the publisher
copies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mirror.article import PictureInfo, StoredPage
from mirror.keys import derive
from mirror.settings import CacheConfig
from mirror.store.base import Store, StoreUnavailable
from mirror.store.redis import RedisStore
from mirror.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

NONCE_BYTES = 12
ORIGIN = "origin"  # the picture's file as the origin sent it, kept for the WARC export
CACHE_FILE = "cache.sqlite3"
# The associated data of sealed names (list members' URLs, stream events): no entry's key.
NAME_KEY = b"mirror sealed name"
LOCK_SECONDS = 30
POLL_SECONDS = 0.05


def open_store(config: CacheConfig, data_dir: Path) -> Store:
    """The store the configuration names; not yet opened."""
    if config.store == "redis":
        return RedisStore(config.redis_url, config.redis_prefix, config.keep_seconds)
    return SqliteStore(data_dir / CACHE_FILE, config.max_bytes, config.keep_seconds)


@dataclass(frozen=True)
class StoredImage:
    """A picture's file: one the mirror made of its pixels, or (``ORIGIN``) the origin's."""

    content_type: str
    body: bytes
    fetched_at: float

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at

    def to_bytes(self) -> bytes:
        head = json.dumps({"content_type": self.content_type, "fetched_at": self.fetched_at})
        return head.encode("ascii") + b"\n" + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredImage:
        head, body = data.split(b"\n", 1)
        raw = json.loads(head)
        return cls(content_type=raw["content_type"], body=body, fetched_at=raw["fetched_at"])


@dataclass(frozen=True)
class StoredResponse:
    """The origin's response behind a stored page version, as fetched, for archivists.

    Status, reason and headers as the origin sent them, less the cookies it set; the body
    as received once its ``Content-Encoding`` is undone (``fetch.max_bytes`` bounds it).
    Kept beside the page, under its own sealed key, so ``mirror export --format warc`` can
    write the response next to the cleaned article; it is the page's origin bytes, so it is
    sealed like every other entry and leaves with ``purge``, eviction and ``keep_seconds``.
    """

    url: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: float

    def to_bytes(self) -> bytes:
        head = {
            "url": self.url,
            "status": self.status,
            "reason": self.reason,
            "headers": [list(pair) for pair in self.headers],
            "fetched_at": self.fetched_at,
        }
        return json.dumps(head, ensure_ascii=False).encode("utf-8") + b"\n" + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredResponse:
        head, body = data.split(b"\n", 1)
        raw = json.loads(head)
        return cls(
            url=raw["url"],
            status=raw["status"],
            reason=raw["reason"],
            headers=tuple((name, value) for name, value in raw["headers"]),
            body=body,
            fetched_at=raw["fetched_at"],
        )


class Sealer:
    """Keyed hashing of URLs and authenticated encryption of stored values."""

    def __init__(self, secret: bytes) -> None:
        self._mac_key = derive(secret, b"mirror cache key hashing")
        self._aead = AESGCM(derive(secret, b"mirror cache body encryption"))

    def row_key(self, kind: str, url: str) -> bytes:
        message = kind.encode("ascii") + b"\0" + url.encode("utf-8")
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()

    def seal(self, row_key: bytes, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, row_key)

    def open(self, row_key: bytes, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], row_key)


class PageCache:
    """Typed, sealed entries in a ``Store``; a failing store is a miss, never an error."""

    def __init__(self, store: Store, secret: bytes) -> None:
        self.store = store
        self._sealer = Sealer(secret)

    async def __aenter__(self) -> Self:
        await self.store.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.__aexit__(*exc)

    async def get_page(self, url: str) -> StoredPage | None:
        data = await self._get("page", url)
        return None if data is None else StoredPage.from_bytes(data)

    async def put_page(self, url: str, page: StoredPage) -> None:
        """Store ``page``; a copy of an article its origin removed is kept (``Store.put``).
        Listed among the stored pages, so the search index can be rebuilt from the store."""
        await self._put("page", url, page.to_bytes(), keep=page.removed_at is not None)
        member = self._sealer.row_key("page", url)
        sealed = self._sealer.seal(member, url.encode("utf-8"))
        await _quietly(self.store.index_put(self._pages_index, member, sealed))

    async def stored_pages(self) -> AsyncIterator[tuple[str, StoredPage]]:
        """Every stored page with the URL it is stored under, in no particular order. A
        listed page that is gone (evicted, expired) is taken off the list here."""
        try:
            members = await self.store.index_items(self._pages_index)
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"the stored pages cannot be listed: {exc}") from exc
        for member, sealed in members:
            url = self._open_member(member, sealed)
            page = None if url is None else await self.get_page(url)
            if url is None or page is None:
                await _quietly(self.store.index_delete(self._pages_index, member))
                continue
            yield url, page

    def _open_member(self, member: bytes, sealed: bytes) -> str | None:
        try:
            return self._sealer.open(member, sealed).decode("utf-8")
        except (InvalidTag, ValueError):
            log.warning("stored-pages list member failed authentication; ignored")
            return None

    def seal_name(self, name: str) -> bytes:
        """``name`` (a URL) sealed for a stream; ``open_name`` reads it back."""
        return self._sealer.seal(NAME_KEY, name.encode("utf-8"))

    def open_name(self, sealed: bytes) -> str | None:
        """The name ``seal_name`` sealed; ``None`` if it fails authentication."""
        try:
            return self._sealer.open(NAME_KEY, sealed).decode("utf-8")
        except (InvalidTag, ValueError):
            log.warning("sealed name failed authentication; ignored")
            return None

    async def get_image(self, url: str, variant: str = "") -> StoredImage | None:
        """The plain file made of the picture at ``url``, else the variant named ``variant``
        (``720.webp``), or with ``ORIGIN`` the origin's own file."""
        data = await self._get(_image_kind(variant), url)
        return None if data is None else StoredImage.from_bytes(data)

    async def put_image(self, url: str, image: StoredImage, variant: str = "") -> None:
        await self._put(_image_kind(variant), url, image.to_bytes())

    async def get_picture_info(self, url: str) -> PictureInfo | None:
        data = await self._get("image info", url)
        return None if data is None else PictureInfo.from_bytes(data)

    async def put_picture_info(self, url: str, info: PictureInfo) -> None:
        await self._put("image info", url, info.to_bytes())

    async def get_response(self, url: str) -> StoredResponse | None:
        data = await self._get("response", url)
        return None if data is None else StoredResponse.from_bytes(data)

    async def put_response(self, url: str, response: StoredResponse) -> None:
        await self._put("response", url, response.to_bytes())

    async def purge(self, url: str, site: str = "") -> int:
        """Forget the page (kept or not), its origin response and the image stored for
        ``url``, and its place in the index of articles ``site`` removed; how many entries
        went."""
        deleted = 0
        info = await self.get_picture_info(url)
        variants = [*(info.sizes if info else ()), ORIGIN]
        kinds = ["page", "response", "image", "image info", *map(_image_kind, variants)]
        for kind in kinds:
            deleted += await self.store.delete(self._sealer.row_key(kind, url))
        member = self._sealer.row_key("page", url)
        await self.store.index_delete(self._pages_index, member)
        if site:
            await self.store.index_delete(self._removed_index(site), member)
        return deleted

    async def claim(self, name: str, seconds: int) -> bool:
        """Whether ``name`` (a push's nonce) is used for the first time in ``seconds``; a
        store that does not answer raises ``StoreUnavailable``: a replay check that cannot
        be made must refuse, not let through."""
        return await self.store.claim(self._sealer.row_key("claim", name), seconds)

    async def list_removed(self, site: str, url: str) -> None:
        """Add ``url`` to the articles ``site`` removed."""
        member = self._sealer.row_key("page", url)
        sealed = self._sealer.seal(member, url.encode("utf-8"))
        try:
            await self.store.index_put(self._removed_index(site), member, sealed)
        except StoreUnavailable as exc:
            log.warning("cache store unavailable, removal not listed: %s", exc)

    async def unlist_removed(self, site: str, url: str) -> None:
        """Take ``url`` off the articles ``site`` removed: it is back at its origin."""
        member = self._sealer.row_key("page", url)
        await _quietly(self.store.index_delete(self._removed_index(site), member))

    async def removed_pages(self, site: str) -> list[tuple[str, StoredPage]]:
        """The articles ``site`` removed, with their kept copies, newest removal first.

        A member whose page is gone (purged) or live again is dropped from the index here,
        so the index heals whatever way a page left it; a store that fails lists nothing.
        """
        index = self._removed_index(site)
        try:
            members = await self.store.index_items(index)
        except StoreUnavailable as exc:
            log.warning("cache store unavailable, no removed articles listed: %s", exc)
            return []
        kept: list[tuple[str, StoredPage]] = []
        for member, sealed in members:
            try:
                url = self._sealer.open(member, sealed).decode("utf-8")
            except InvalidTag:
                log.warning("removed-articles index member failed authentication; ignored")
                continue
            page = await self.get_page(url)
            if page is None or page.removed_at is None:
                await _quietly(self.store.index_delete(index, member))
                continue
            kept.append((url, page))
        return sorted(kept, key=lambda pair: pair[1].removed_at or 0.0, reverse=True)

    def _removed_index(self, site: str) -> bytes:
        return self._sealer.row_key("removed", site)

    @property
    def _pages_index(self) -> bytes:
        return self._sealer.row_key("pages", "")

    @asynccontextmanager
    async def flight(self, url: str) -> AsyncIterator[bool]:
        """Whether this instance leads the fetch of ``url`` (the store's lock was free).

        Without a working store every instance leads: fetching twice beats not serving.
        """
        key = self._sealer.row_key("lock", url)
        try:
            token = await self.store.acquire(key, LOCK_SECONDS)
        except StoreUnavailable:
            yield True
            return
        try:
            yield token is not None
        finally:
            if token is not None:
                await _quietly(self.store.release(key, token))

    async def wait_for_page(self, url: str, newer_than: float, timeout: float) -> StoredPage | None:
        """A copy of ``url`` newer than ``newer_than``, once the leading instance stores it."""
        key = self._sealer.row_key("lock", url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page = await self.get_page(url)
            if page is not None and page.fetched_at > newer_than:
                return page
            try:
                if not await self.store.held(key):
                    return None
            except StoreUnavailable:
                return None
            await asyncio.sleep(POLL_SECONDS)
        return None

    async def _get(self, kind: str, url: str) -> bytes | None:
        key = self._sealer.row_key(kind, url)
        try:
            sealed = await self.store.get(key)
        except StoreUnavailable as exc:
            log.warning("cache store unavailable, reading from the origin: %s", exc)
            return None
        if sealed is None:
            return None
        try:
            return self._sealer.open(key, sealed)
        except InvalidTag:
            log.warning("cache entry failed authentication; ignored")
            return None

    async def _put(self, kind: str, url: str, data: bytes, keep: bool = False) -> None:
        key = self._sealer.row_key(kind, url)
        try:
            await self.store.put(key, self._sealer.seal(key, data), keep)
        except StoreUnavailable as exc:
            log.warning("cache store unavailable, entry not stored: %s", exc)


def _image_kind(variant: str) -> str:
    return f"image {variant}" if variant else "image"


async def _quietly(call: Any) -> None:
    """Await a clean-up that may wait for another time (a lock expires, an index heals)."""
    try:
        await call
    except StoreUnavailable:
        log.warning("cache store unavailable for a clean-up; it will be done later")
