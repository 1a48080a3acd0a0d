from __future__ import annotations

import lxml.html

from mirror.strip import is_blocked_url, strip_junk


def body_of(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")


def test_blocked_hosts_match_subdomains_and_paths() -> None:
    assert is_blocked_url("https://pagead2.googlesyndication.com/x.js")
    assert is_blocked_url("https://www.facebook.com/tr?id=1")
    assert not is_blocked_url("https://www.facebook.com/cdtimes")
    assert not is_blocked_url("https://notdoubleclick.net.example.org/")
    assert not is_blocked_url("https://chinadigitaltimes.net/")


def test_ads_trackers_and_pixels_go_text_stays() -> None:
    body = body_of(
        '<p>Kept <a href="https://a.example/?utm_source=x&amp;id=2">link</a></p>'
        '<div class="ad-slot">Advertisement</div>'
        '<div id="share-bar">Share this:</div>'
        '<iframe src="https://googleads.g.doubleclick.net/x"></iframe>'
        '<img src="https://pixel.quantserve.com/p.gif">'
        '<img src="https://a.example/pixel.gif" width="1" height="1">'
        '<img src="https://a.example/photo.jpg" width="600">'
        '<p class="header">Header class is not an ad</p>'
    )
    report = strip_junk(body)
    html = lxml.html.tostring(body, encoding="unicode")
    assert "Advertisement" not in html and "Share this" not in html
    assert "doubleclick" not in html and "quantserve" not in html and "pixel.gif" not in html
    assert "photo.jpg" in html and "Header class" in html and "Kept" in html
    assert "utm_source" not in html and "id=2" in html
    assert report.elements == 5
    assert report.params == 1
