from __future__ import annotations

import gzip

import pytest

from mirror.settings import CacheConfig
from mirror.web.responses import (
    YEAR_SECONDS,
    KeptListings,
    Rendered,
    RenderedPages,
    accepts_gzip,
    cache_control,
    etag_matches,
)


def test_rendered_pages_are_bounded_lru_and_expire() -> None:
    one = Rendered.of("a" * 1000, fresh_until=100.0)
    pages = RenderedPages[Rendered](max_bytes=3 * (one.size + len("a")))
    for key in ("a", "b", "c"):
        pages.put(key, Rendered.of(key * 1000, fresh_until=100.0))
    assert pages.get("a", now=50.0) is not None  # "b" is now the least recently used
    pages.put("d", Rendered.of("d" * 1000, fresh_until=100.0))
    assert pages.get("b", now=50.0) is None
    assert pages.get("a", now=50.0) is not None
    assert pages.get("d", now=100.0) is None  # freshness over: a miss, and forgotten


def test_too_large_a_page_is_not_kept() -> None:
    pages = RenderedPages[Rendered](max_bytes=100)
    pages.put("big", Rendered.of("x" * 10_000, fresh_until=1e12))
    assert pages.get("big") is None


def test_every_view_of_one_page_is_forgotten_and_only_those() -> None:
    pages = RenderedPages[Rendered](max_bytes=1 << 20)
    for key in ("tok en 0", "tok ru 1", "token2 en 0"):
        pages.put(key, Rendered.of(key, fresh_until=1e12))
    assert pages.forget("tok ") == 2
    assert pages.get("tok en 0") is None
    assert pages.get("tok ru 1") is None
    assert pages.get("token2 en 0") is not None
    pages.put("tok en 0", Rendered.of("again", fresh_until=1e12))
    assert pages.get("tok en 0") is not None, "the byte count stayed right"


def test_rendered_etag_is_strong_and_tracks_the_bytes() -> None:
    first = Rendered.of("<p>one</p>", 0.0)
    assert first.etag == Rendered.of("<p>one</p>", 5.0).etag
    assert first.etag != Rendered.of("<p>two</p>", 0.0).etag
    assert gzip.decompress(first.gzipped) == first.body
    assert not first.etag.startswith("W/")


def test_cache_control_states_what_the_mirror_does() -> None:
    config = CacheConfig(stale_while_revalidate_seconds=300, stale_if_error_seconds=0)
    fresh = Rendered.of("x", fresh_until=1600.0)
    assert cache_control(fresh, config, now=1000.0) == (
        f"public, max-age=600, stale-while-revalidate=300, stale-if-error={YEAR_SECONDS}"
    )
    stale = Rendered.of("x", fresh_until=1030.0, stale=True)
    limited = CacheConfig(stale_if_error_seconds=7200)
    assert cache_control(stale, limited, now=1000.0) == "public, max-age=30, stale-if-error=7200"
    assert "max-age=0," in cache_control(fresh, config, now=5000.0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_etag_matching_is_weak_as_the_rfc_asks() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('W/"abc", "zzz"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abc-gz"', '"abc"')
    assert not etag_matches("", '"abc"')


def test_a_listing_is_kept_while_its_lists_are_the_same_objects() -> None:
    kept = KeptListings(capacity=2)
    lists = (object(), object())
    kept.put("home en", lists, "<html>home</html>")
    assert kept.get("home en", lists) == "<html>home</html>"
    assert kept.get("home en", (lists[0], object())) is None  # one feed was fetched again
    assert kept.get("home en", lists[:1]) is None
    assert kept.get("home fa", lists) is None
    kept.put("home fa", lists, "fa")
    kept.put("home ru", lists, "ru")  # past capacity: the memory starts over
    assert kept.get("home en", lists) is None
    assert kept.get("home ru", lists) == "ru"
    assert kept.made == 3
