"""Pictures made in the tests (no binary fixtures): photographs with secrets, hostile files."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from PIL import Image

from mirror.web.appkeys import MIRROR, RENDERED

if TYPE_CHECKING:
    from tests.conftest import RunningMirror

GPS_IFD = 0x8825
ORIENTATION = 0x0112
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-place</rdf:RDF></x:xmpmeta>'
TRAILER = b"<html><script>alert(1)</script></html>"
# What ``jpeg_with_secrets`` hides in a file; none of it may be in any file the mirror makes.
SECRETS = (
    b"secret-place",
    b"xmpmeta",
    b"Secret Camera",
    b"serial 12345",
    b"Exif\x00\x00",
    b"<html",
    b"alert(1)",
)


def photo(width: int = 1200, height: int = 800, mode: str = "RGB") -> Image.Image:
    """A photograph-like picture: gradients and noise, not one flat colour."""
    rng = random.Random(7)
    image = Image.linear_gradient("L").resize((width, height)).convert(mode)
    noise = Image.effect_noise((width, height), 40).convert(mode)
    image = Image.blend(image, noise, 0.3)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        image.paste(rng.choice(["red", "green", "navy"]), (x, y, x + 80, y + 60))
    return image


def jpeg_with_secrets(image: Image.Image, orientation: int = 1, quality: int = 75) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x0110] = "Secret Camera 9000"  # model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 0.0), 3: "E", 4: (116.0, 23.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=XMP, comment=b"camera serial 12345", quality=quality)
    return out.getvalue() + TRAILER


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of a few KB that declares ``width`` x ``height`` pixels (1-bit grey)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + b"\0" * (width // 8 + 1)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(200)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


GIF_COLOURS = 128
GIF_CLEAR, GIF_END = GIF_COLOURS, GIF_COLOURS + 1
GIF_RUN = 100  # pixels between clear codes: the table never outgrows 8-bit codes (126)


def many_frames_gif(frames: int, size: int = 8) -> bytes:
    """An animated GIF of ``frames`` frames, each ``size`` x ``size`` pixels of one colour
    (frame ``i``: colour ``i`` of a 128-colour table), written byte by byte: Pillow takes
    seconds to encode 10,000 frames. Each frame's LZW data is the "uncompressed" form
    every decoder reads: a clear code, then one 8-bit code a pixel, a clear code again
    before the table would need wider codes, and the end code."""
    palette = b"".join(bytes((i * 37 % 256, i * 91 % 256, i * 2)) for i in range(GIF_COLOURS))
    screen = struct.pack("<HHBBB", size, size, 0xF6, 0, 0)  # a global table of 128 colours
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop for ever
    parts = [b"GIF89a", screen, palette, loop]
    for index in range(frames):
        codes = bytearray()
        for start in range(0, size * size, GIF_RUN):
            codes += bytes([GIF_CLEAR]) + bytes([index % GIF_COLOURS]) * min(
                GIF_RUN, size * size - start
            )
        codes.append(GIF_END)
        blocks = b"".join(
            bytes([len(codes[at : at + 255])]) + codes[at : at + 255]
            for at in range(0, len(codes), 255)
        )
        control = b"\x21\xf9\x04\x00" + struct.pack("<H", 4) + b"\x00\x00"  # 40 ms
        descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, size, size, 0)
        parts += [control, descriptor, b"\x07", blocks, b"\x00"]  # LZW minimum code size 7
    return b"".join(parts) + b"\x3b"


async def pictures_made(mirror: RunningMirror, path: str) -> None:
    """Open the article at ``path`` once, wait for its pictures to be made behind the
    reader's back, and forget the rendering made before they were (kept only briefly)."""
    await mirror.get(path)
    await mirror.app[MIRROR].settled()
    mirror.app[RENDERED].clear()


def serving(body: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An origin route answering ``body`` as a JPEG (the mirror believes only the bytes)."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="image/jpeg")

    return handler
