from __future__ import annotations

import pytest

from mirror.errors import NotAnArticle, TooLarge
from mirror.transform.images import checked_image, raster_type
from tests.conftest import tiny_png


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (tiny_png(), "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x1cftypavif", "image/avif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
        (b"<html><script>alert(1)</script>", None),
        (b"", None),
    ],
)
def test_type_comes_from_the_bytes(body: bytes, kind: str | None) -> None:
    assert raster_type(body) == kind


def test_claimed_png_that_is_html_is_refused() -> None:
    with pytest.raises(NotAnArticle):
        checked_image(b"<html><script>alert(1)</script>", 1000)


def test_size_limit() -> None:
    body = tiny_png()
    assert checked_image(body, len(body)) == "image/png"
    with pytest.raises(TooLarge):
        checked_image(body, len(body) - 1)
