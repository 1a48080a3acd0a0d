"""Bounded decoding of Content-Encoding: exact output within the limit, a stop past it."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest
from backports.zstd import ZstdCompressor

from mirror.fetch.inflate import BodyTooLarge, BrokenEncoding, Inflater
from tests.support.fetch_fixtures import MIB, brotli_bomb, chunks, gzip_bomb, zstd_bomb

PAGE = b"<p>" + "新疆".encode() * 20_000 + b"</p>"


def zstd(data: bytes) -> bytes:
    return ZstdCompressor().compress(data, ZstdCompressor.FLUSH_FRAME)


def inflate(body: bytes, encoding: str, limit: int, size: int = 64 * 1024) -> bytes:
    inflater = Inflater(encoding, limit)
    out = b"".join(inflater.feed(chunk) for chunk in chunks(body, size))
    inflater.finish()
    return out


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),
        ("br", brotli.compress),
        ("zstd", zstd),
        ("gzip, br", lambda d: brotli.compress(gzip.compress(d))),
        ("br, zstd", lambda d: zstd(brotli.compress(d))),
        ("", lambda d: d),
        ("identity", lambda d: d),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 1000, 64 * 1024])
def test_round_trip_in_any_chunking(
    encoding: str, encode: Callable[[bytes], bytes], chunk_size: int
) -> None:
    body = encode(PAGE)
    if chunk_size == 1:
        body, expected = encode(PAGE[:3000]), PAGE[:3000]
    else:
        expected = PAGE
    assert inflate(body, encoding, len(expected), chunk_size) == expected


def test_concatenated_members_and_frames() -> None:
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 4) == b"abcd"
    assert inflate(zstd(b"ab") + zstd(b"cd"), "zstd", 4) == b"abcd"


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("gzip", lambda: gzip_bomb(1024 * MIB)),
        ("br", lambda: brotli_bomb(1024 * MIB)),
        ("zstd", lambda: zstd_bomb(1024 * MIB)),
        ("deflate", lambda: zlib.compress(bytes(64 * MIB))),
        ("gzip, br", lambda: brotli.compress(gzip_bomb(1024 * MIB))),
    ],
)
def test_bombs_stop_at_the_limit_with_memory_near_it(
    encoding: str, bomb: Callable[[], bytes]
) -> None:
    body = bomb()
    assert len(body) <= 1.1 * MIB
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            inflate(body, encoding, MIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Each layer holds at most the limit plus a copy; two layers stack two of those.
    assert peak < 5 * MIB


def test_exactly_at_the_limit_is_accepted() -> None:
    assert inflate(gzip.compress(bytes(1000)), "gzip", 1000) == bytes(1000)
    with pytest.raises(BodyTooLarge):
        inflate(gzip.compress(bytes(1001)), "gzip", 1000)
    with pytest.raises(BodyTooLarge):
        inflate(bytes(1001), "", 1000)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08\x00garbage"),
        ("gzip", gzip.compress(PAGE)[:200]),
        ("br", brotli.compress(PAGE)[:-4]),
        ("zstd", zstd(PAGE)[:-4]),
        ("deflate", b"not deflate at all"),
        ("compress", b"x"),
        ("gzip, x-unknown", b"x"),
    ],
)
def test_broken_or_unknown_encodings(encoding: str, body: bytes) -> None:
    with pytest.raises(BrokenEncoding):
        inflate(body, encoding, 10 * MIB)
