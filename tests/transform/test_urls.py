from __future__ import annotations

import lxml.html
import pytest

from mirror.transform.urls import (
    absolutize,
    clean_url,
    document_base,
    format_srcset,
    is_tracking_param,
    parse_srcset,
)


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("https://a.example/p?utm_source=x&utm_medium=y&id=3", "https://a.example/p?id=3"),
        ("https://a.example/p?fbclid=abc", "https://a.example/p"),
        ("https://a.example/p?id=1&gclid=2#top", "https://a.example/p?id=1#top"),
        ("https://a.example/#frag?utm_campaign=x", "https://a.example/#frag"),
        ("https://a.example/p?q=utm_source", "https://a.example/p?q=utm_source"),
        ("mailto:a@example.org?utm_source=x", "mailto:a@example.org?utm_source=x"),
    ],
)
def test_clean_url(dirty: str, clean: str) -> None:
    assert clean_url(dirty) == clean


def test_tracking_param_list_is_case_insensitive_with_prefixes() -> None:
    assert is_tracking_param("UTM_Whatever")
    assert is_tracking_param("mc_eid")
    assert not is_tracking_param("id")


def test_srcset_round_trip() -> None:
    value = "a.jpg 1024w, /b.jpg 300w,c.jpg 2x"
    assert parse_srcset(value) == [("a.jpg", "1024w"), ("/b.jpg", "300w"), ("c.jpg", "2x")]
    assert format_srcset(parse_srcset("x.jpg")) == "x.jpg"


def test_absolutize_honours_base_and_keeps_fragments() -> None:
    page = lxml.html.document_fromstring(
        '<html><head><base href="/sub/"></head><body><a href="x">x</a><a href="#n">n</a>'
        '<img src="i.png" srcset="i.png 1x, /j.png 2x"></body></html>'
    )
    base = document_base(page, "https://a.example/dir/page")
    assert base == "https://a.example/sub/"
    absolutize(page, base)
    hrefs = [a.get("href") for a in page.iter("a")]
    assert hrefs == ["https://a.example/sub/x", "#n"]
    img = next(page.iter("img"))
    assert img.get("src") == "https://a.example/sub/i.png"
    assert img.get("srcset") == "https://a.example/sub/i.png 1x, https://a.example/j.png 2x"


def test_javascript_base_is_ignored() -> None:
    page = lxml.html.document_fromstring('<base href="javascript:alert(1)"><p>x</p>')
    assert document_base(page, "https://a.example/") == "https://a.example/"


def test_lazy_images_are_promoted() -> None:
    from mirror.transform.urls import promote_lazy_images

    page = lxml.html.document_fromstring(
        '<img src="data:image/gif;base64,R0lGOD" data-src="/real.jpg" data-srcset="/r.jpg 2x">'
        '<img data-lazy-src="/lazy.jpg"><img data-original="/orig.jpg" src="/placeholder.gif">'
        '<picture><source data-srcset="/w.webp 1x"><source data-src="/s.webp"></picture>'
        '<video data-poster="/poster.jpg"></video><img src="/plain.jpg">'
    )
    promote_lazy_images(page)
    assert [i.get("src") for i in page.iter("img")] == [
        "/real.jpg",
        "/lazy.jpg",
        "/orig.jpg",
        "/plain.jpg",
    ]
    assert next(page.iter("img")).get("srcset") == "/r.jpg 2x"
    assert [s.get("srcset") for s in page.iter("source")] == ["/w.webp 1x", "/s.webp"]
    assert next(page.iter("video")).get("poster") == "/poster.jpg"


def test_sites_keep_the_parameters_they_need() -> None:
    url = "https://a.example/p?s_cid=1&utm_source=x"
    assert clean_url(url) == "https://a.example/p"
    assert clean_url(url, frozenset({"s_cid"})) == "https://a.example/p?s_cid=1"


def test_absolutize_reaches_srcsets_on_any_element_and_leaves_the_rest() -> None:
    page = lxml.html.document_fromstring(
        '<html><body><a href="x">x</a><picture><source srcset="s.webp 1x">'
        '<img src="/i.jpg" srcset="a.jpg 1x,b.jpg 2x"></picture>'
        '<div srcset="d.jpg 1x" data-src="kept"></div>'
        '<a href="https://o.example/y">y</a></body></html>'
    )
    absolutize(page, "https://n.example/d/p")
    base = "https://n.example/d/"
    assert [a.get("href") for a in page.iter("a")] == [f"{base}x", "https://o.example/y"]
    assert next(page.iter("source")).get("srcset") == f"{base}s.webp 1x"
    img = next(page.iter("img"))
    assert img.get("src") == "https://n.example/i.jpg"
    assert img.get("srcset") == f"{base}a.jpg 1x, {base}b.jpg 2x"
    div = next(page.iter("div"))
    assert (div.get("srcset"), div.get("data-src")) == (f"{base}d.jpg 1x", "kept")
