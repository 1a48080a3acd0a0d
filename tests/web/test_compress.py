from __future__ import annotations

import gzip

import brotli
import pytest

from mirror.web.compress import choose_coding, compress
from tests.conftest import RunningMirror


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
        ("*", "br"),
        ("gzip;q=0, *;q=0.5", "br"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_coding_is_chosen_from_accept_encoding(header: str, expected: str | None) -> None:
    assert choose_coding(header) == expected


def test_both_codings_round_trip() -> None:
    body = "读者 ".encode() * 500
    assert brotli.decompress(compress(body, "br")) == body
    assert gzip.decompress(compress(body, "gzip")) == body


@pytest.mark.parametrize("coding", ["br", "gzip"])
async def test_pages_and_styles_are_compressed(running_mirror: RunningMirror, coding: str) -> None:
    for path in ("/", "/static/mirror.css", "/about", "/no/such/page"):
        response, _ = await running_mirror.get(path, headers={"Accept-Encoding": coding})
        assert response.headers["Content-Encoding"] == coding, path
        assert "Accept-Encoding" in response.headers["Vary"]


async def test_nothing_is_compressed_unasked(running_mirror: RunningMirror) -> None:
    response, html = await running_mirror.get("/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert "<!doctype html>" in html
