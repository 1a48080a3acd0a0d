"""Rendered pages kept in memory, and the HTTP caching that lets browsers and CDNs keep them.

Rendering (templates, link rewriting) costs far more than sending bytes, and its result
depends only on the stored version and the token keys, so each process renders a stored
version once and answers repeat readers from memory: a bounded LRU by bytes, entries good
until the page's freshness ends. The gzip form is made once too, for slow reader links.

Headers tell caches downstream what the mirror itself does: ``max-age`` is what is left of
the page's freshness, ``stale-while-revalidate`` and ``stale-if-error`` mirror the store's
rules, ``ETag`` is a strong hash of the exact bytes (one per encoding) and ``Vary`` names
the one request header the response depends on.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Generic, Protocol, TypeVar

from aiohttp import web
from multidict import CIMultiDict

from mirror.settings import CacheConfig

# Every response carries these (the server's response-prepare signal adds them to the
# others): no script, no host but this one, no referrer, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()"
    ),
}
HSTS = "max-age=31536000"


def add_security_headers(headers: MutableMapping[str, str], secure: bool) -> None:
    """Every security header, and HSTS over HTTPS: one rule for every response."""
    headers.update(SECURITY_HEADERS)
    if secure:
        headers["Strict-Transport-Security"] = HSTS


YEAR_SECONDS = 31536000  # what "no limit" on stale-if-error means to a downstream cache
ENTRY_OVERHEAD = 512
CACHED_ENCODINGS = 256
HEADER_VARIANTS = 8  # (second, gzip, HTTPS) header sets kept per page
NOT_IN_304 = frozenset({"Content-Type", "Content-Encoding"})
# A kept page is one rendering per interface language, so it varies by that header too.
HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Vary": "Accept-Encoding, Accept-Language",
}


@dataclass(frozen=True)
class Rendered:
    """One rendered page, in both encodings, and until when it is fresh.

    Its response headers are made here, once per second (``Cache-Control`` counts down the
    freshness left) and variant, so answering a repeat reader costs no header building.
    """

    body: bytes
    gzipped: bytes
    etag: str
    fresh_until: float
    stale: bool = False
    _headers: dict[tuple[int, bool, bool], CIMultiDict[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, html: str, fresh_until: float, stale: bool = False) -> Rendered:
        body = html.encode("utf-8")
        digest = hashlib.sha256(body).digest()[:18]
        etag = base64.urlsafe_b64encode(digest).decode("ascii")
        return cls(body, gzip.compress(body, 6, mtime=0), etag, fresh_until, stale)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped) + ENTRY_OVERHEAD

    @cached_property
    def plain_headers(self) -> dict[str, str]:
        return {**HTML_HEADERS, "ETag": f'"{self.etag}"'}

    @cached_property
    def gzip_headers(self) -> dict[str, str]:
        return {**HTML_HEADERS, "ETag": f'"{self.etag}-gz"', "Content-Encoding": "gzip"}

    def headers(self, zipped: bool, secure: bool, config: CacheConfig) -> CIMultiDict[str]:
        """The response's headers now; not to be changed (``web.Response`` copies them, and
        copies a ``CIMultiDict`` fastest)."""
        second = int(time.time())
        variant = (second, zipped, secure)
        made = self._headers.get(variant)
        if made is None:
            if len(self._headers) >= HEADER_VARIANTS:
                self._headers.clear()
            made = CIMultiDict(self.gzip_headers if zipped else self.plain_headers)
            # As it will be at the end of this second: a downstream cache never keeps it longer.
            made["Cache-Control"] = cache_control(self, config, now=second + 1)
            add_security_headers(made, secure)
            self._headers[variant] = made
        return made


@dataclass(frozen=True)
class Attachment:
    """A download (one HTML file or an EPUB), made once per stored version and view."""

    body: bytes
    content_type: str
    disposition: str
    fresh_until: float

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


class Kept(Protocol):
    """What the memory keeps: its size in bytes, and until when it may be served."""

    @property
    def size(self) -> int: ...

    @property
    def fresh_until(self) -> float: ...


K = TypeVar("K", bound=Kept)


class RenderedPages(Generic[K]):
    """An LRU of rendered pages (or downloads) by key, bounded in bytes; expired entries
    are misses."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, K] = OrderedDict()

    def get(self, key: str, now: float | None = None) -> K | None:
        rendered = self._entries.get(key)
        if rendered is None:
            return None
        if rendered.fresh_until <= (time.time() if now is None else now):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return rendered

    def put(self, key: str, rendered: K) -> None:
        if rendered.size > self._max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = rendered
        self._bytes += rendered.size + len(key)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def forget(self, prefix: str) -> int:
        """Drop every rendering whose key starts with ``prefix`` (all views of one page, when
        a copy sent to the mirror replaces it); how many went. A scan: such copies are rare."""
        stale = [key for key in self._entries if key.startswith(prefix)]
        for key in stale:
            self._drop(key)
        return len(stale)

    def clear(self) -> None:
        """Forget every kept page (their footers name addresses that just changed)."""
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size + len(key)


class KeptListings:
    """Home and site index pages as rendered, by request and view, kept while the lists they
    show are the very same objects (``SiteFeeds`` makes a new list only from new copies).

    Keys include the address a reader used, so their number is bounded: past ``capacity``
    the memory starts over. ``made`` counts the pages put, so tests can tell renders apart
    from answers out of memory.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._pages: dict[str, tuple[tuple[object, ...], str]] = {}
        self.made = 0

    def get(self, key: str, shown: tuple[object, ...]) -> str | None:
        kept = self._pages.get(key)
        if kept is None or len(kept[0]) != len(shown):
            return None
        same = all(a is b for a, b in zip(kept[0], shown, strict=True))
        return kept[1] if same else None

    def put(self, key: str, shown: tuple[object, ...], html: str) -> None:
        if len(self._pages) >= self._capacity:
            self._pages.clear()
        self._pages[key] = (shown, html)
        self.made += 1


def respond(request: web.BaseRequest, rendered: Rendered, config: CacheConfig) -> web.Response:
    """The page as a response: 304 when the reader's copy is current, gzip when accepted;
    with every security header, so that it is whole without the server's signal."""
    zipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = rendered.headers(zipped, request.secure, config)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and etag_matches(if_none_match, headers["ETag"]):
        unchanged = {k: v for k, v in headers.items() if k not in NOT_IN_304}
        return web.Response(status=304, headers=unchanged)
    return web.Response(body=rendered.gzipped if zipped else rendered.body, headers=headers)


def cache_control(rendered: Rendered, config: CacheConfig, now: float | None = None) -> str:
    """Public (the page is the same for every reader), fresh for what is left of it."""
    max_age = max(0, int(rendered.fresh_until - (time.time() if now is None else now)))
    stale_if_error = config.stale_if_error_seconds or YEAR_SECONDS
    if rendered.stale:
        return f"public, max-age={max_age}, stale-if-error={stale_if_error}"
    return (
        f"public, max-age={max_age}, "
        f"stale-while-revalidate={config.stale_while_revalidate_seconds}, "
        f"stale-if-error={stale_if_error}"
    )


@lru_cache(maxsize=CACHED_ENCODINGS)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether the client takes gzip; browsers send a handful of distinct values."""
    if "gzip" not in accept_encoding:
        return False
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() in {"gzip", "x-gzip"}:
            return params.replace(" ", "").lower() not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 asks for ``If-None-Match``."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
