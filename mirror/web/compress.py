"""Response compression: brotli when the client takes it, else gzip, else none.

aiohttp compresses only with gzip/deflate, and brotli saves a fifth more on our pages,
which matters on slow mobile links. Only text bodies built in memory are compressed.
"""

from __future__ import annotations

import gzip
from functools import lru_cache

import brotli
from aiohttp import web

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "image/svg+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
    }
)
MIN_BYTES = 256
BROTLI_QUALITY = 6
GZIP_LEVEL = 6
CACHED_HEADERS = 256


@lru_cache(maxsize=CACHED_HEADERS)
def choose_coding(accept_encoding: str) -> str | None:
    """``br`` or ``gzip`` from an ``Accept-Encoding`` header (``q=0`` refuses), else None.

    Browsers send a handful of distinct values, so the answer is kept per value."""
    offered: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        offered[name.strip()] = quality
    for coding in ("br", "gzip"):
        if offered.get(coding, offered.get("*", 0.0)) > 0:
            return coding
    return None


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        packed: bytes = brotli.compress(body, quality=BROTLI_QUALITY)
        return packed
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


@lru_cache(maxsize=CACHED_HEADERS)
def vary_with_encoding(vary: str) -> str | None:
    """``vary`` with ``Accept-Encoding`` added, or None when it names it already."""
    names = [v.strip() for v in vary.split(",") if v.strip()]
    if "accept-encoding" in {v.lower() for v in names}:
        return None
    return ", ".join([*names, "Accept-Encoding"])


def compressed(request: web.Request, response: web.StreamResponse) -> None:
    """Compress an in-memory text body for this client, and say that it varies by encoding.

    A response that is encoded already (pages kept gzipped in memory) is left as it is."""
    if not isinstance(response, web.Response) or "Content-Encoding" in response.headers:
        return
    body = response.body
    if response.content_type not in COMPRESSIBLE or not isinstance(body, bytes):
        return
    vary = vary_with_encoding(",".join(response.headers.getall("Vary", [])))
    if vary is not None:
        response.headers["Vary"] = vary
    coding = choose_coding(request.headers.get("Accept-Encoding", ""))
    if coding is None or len(body) < MIN_BYTES:
        return
    response.body = compress(body, coding)
    response.headers["Content-Encoding"] = coding
