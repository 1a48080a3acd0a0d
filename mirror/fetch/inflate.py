"""Content-Encoding undone incrementally, with every layer held to a size limit.

aiohttp's own decompression has no limit on what a small body may inflate to, so the
fetcher turns it off and feeds raw chunks through ``Inflater``. Each decoder is asked for at
most one byte more than the room left under ``limit``; getting that byte means the body is too
large, so a 1 MiB body that would inflate to 1 GiB is stopped after ``limit`` bytes, and
memory stays near the limit whatever the ratio. Stacked encodings (``gzip, br``) are undone
in reverse order, each layer with the same limit.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Protocol

import brotli

# zstd is in the standard library from 3.14 on; backports.zstd is the same module before.
if sys.version_info >= (3, 14):
    from compression.zstd import ZstdDecompressor, ZstdError
else:
    from backports.zstd import ZstdDecompressor, ZstdError


class BodyTooLarge(Exception):
    """A layer produced more than the limit."""


class BrokenEncoding(Exception):
    """The body is not valid in the encoding it claims, or is cut short, or unknown."""


class _Layer(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...

    def finished(self) -> bool: ...


class _Zlib:
    """gzip (members may be concatenated) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._object: zlib._Decompress | None = None
        self._pending = b""  # deflate's first byte, until the second tells zlib from raw

    def _new(self, first: bytes) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        data = self._pending + data
        self._pending = b""
        if self._object is None and not self._gzip and len(data) < 2:
            self._pending = data
            return b""
        out: list[bytes] = []
        produced = 0
        while data and produced <= room:
            if self._object is None or (self._gzip and self._object.eof):
                self._object = self._new(data)
            elif self._object.eof:
                break
            out.append(self._object.decompress(data, room + 1 - produced))
            produced += len(out[-1])
            data = self._object.unconsumed_tail or self._object.unused_data
        return b"".join(out)

    def finished(self) -> bool:
        return self._object is not None and self._object.eof


class _Brotli:
    def __init__(self) -> None:
        self._object = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out = [self._object.process(data, output_buffer_limit=room + 1)]
        produced = len(out[0])
        while produced <= room and not self._object.can_accept_more_data():
            out.append(self._object.process(b"", output_buffer_limit=room + 1 - produced))
            if not out[-1]:
                break
            produced += len(out[-1])
        return out[0] if len(out) == 1 else b"".join(out)

    def finished(self) -> bool:
        return bool(self._object.is_finished())


class _Zstd:
    """zstd, frames possibly concatenated."""

    def __init__(self) -> None:
        self._object = ZstdDecompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        produced = 0
        while produced <= room:
            if self._object.eof:
                data = self._object.unused_data + data
                if not data:
                    break
                self._object = ZstdDecompressor()
            elif not data and self._object.needs_input:
                break
            out.append(self._object.decompress(data, room + 1 - produced))
            produced += len(out[-1])
            data = b""
        return b"".join(out)

    def finished(self) -> bool:
        return self._object.eof


LAYERS: dict[str, Callable[[], _Layer]] = {
    "gzip": lambda: _Zlib(gzip=True),
    "x-gzip": lambda: _Zlib(gzip=True),
    "deflate": lambda: _Zlib(gzip=False),
    "br": _Brotli,
    "zstd": _Zstd,
}
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class Inflater:
    """Undoes a Content-Encoding header's layers on a stream of chunks, within ``limit``."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        unknown = [n for n in names if n not in LAYERS and n != "identity"]
        if unknown:
            raise BrokenEncoding(f"unknown content encoding {unknown[0]!r}")
        self._layers = [LAYERS[n]() for n in reversed(names) if n != "identity"]
        self._produced = [0] * len(self._layers)
        self._limit = limit
        self._size = 0

    @property
    def compressed(self) -> bool:
        """Whether there is anything to undo (else ``feed`` only counts bytes)."""
        return bool(self._layers)

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes for ``chunk``; raises ``BodyTooLarge`` past the limit."""
        data = chunk
        for index, layer in enumerate(self._layers):
            room = self._limit - self._produced[index]
            try:
                data = layer.feed(data, room)
            except (zlib.error, brotli.error, ZstdError) as exc:
                raise BrokenEncoding(type(exc).__name__) from exc
            self._produced[index] += len(data)
            if self._produced[index] > self._limit:
                raise BodyTooLarge
        self._size += len(data)
        if self._size > self._limit:
            raise BodyTooLarge
        return data

    def finish(self) -> None:
        """Raises ``BrokenEncoding`` if any layer's stream ended early."""
        if not all(layer.finished() for layer in self._layers):
            raise BrokenEncoding("the compressed body is cut short")
