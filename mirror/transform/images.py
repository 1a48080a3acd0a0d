"""What ``/r/`` serves: raster images only, recognised by their bytes, within a size limit.

An origin's Content-Type is a claim, not a fact: an "image/png" that is really HTML or SVG
could run script if a browser sniffed it. The type served is the one the bytes prove.
"""

from __future__ import annotations

from mirror.errors import NotAnArticle, TooLarge

# Leading bytes of each raster format we serve (SVG is deliberately absent: it can script).
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def raster_type(body: bytes) -> str | None:
    """The raster image type ``body`` starts with, or None."""
    for signature, kind in SIGNATURES:
        if body.startswith(signature):
            return kind
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if body[4:8] == b"ftyp" and body[8:12] in {b"avif", b"avis"}:
        return "image/avif"
    return None


def checked_image(body: bytes, max_bytes: int) -> str:
    """The proven raster type of ``body``; errors for anything too large or not raster."""
    if len(body) > max_bytes:
        raise TooLarge(f"The image is over the limit of {max_bytes} bytes.")
    kind = raster_type(body)
    if kind is None:
        raise NotAnArticle("The site sent something that is not a picture.")
    return kind
