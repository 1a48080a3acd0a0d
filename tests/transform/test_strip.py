from __future__ import annotations

import lxml.html

from mirror.transform.filters import StripRules, build_engine
from mirror.transform.strip import strip_junk, strip_page

PAGE_URL = "https://news.example/2024/story/"
FIXTURE_LIST = """[Adblock Plus 2.0]
! a small list in EasyList syntax, for tests
||ads.example^
||tracker.example^$image
@@||ads.example/allowed/
##.ad-box
##[id^="gpt-slot"]
##a[href^="https://click.example/"]
##.sidebar > .promo
news.example##.site-popup
other.example##.story
news.example#@#.ad-box-kept
"""


def rules(**sites: object) -> StripRules:
    return StripRules(build_engine([FIXTURE_LIST]))


def page_of(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><body>{body}</body></html>")


def html_of(element: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(element, encoding="unicode")


def strip(body: str, strip_rules: StripRules | None = None) -> tuple[str, int]:
    page = page_of(body)
    removed = strip_page(page, PAGE_URL, strip_rules or rules())
    return html_of(page), removed


RESOURCES = (
    '<p>Story text</p><script src="https://ads.example/a.js"></script>'
    '<iframe src="https://x.ads.example/frame"></iframe>'
    '<img src="https://tracker.example/p.gif" alt="pixel">'
    '<picture><source srcset="https://ads.example/banner.webp 1x"></picture>'
    '<video poster="https://ads.example/p.jpg"></video>'
    '<link rel="stylesheet" href="https://ads.example/s.css">'
    '<img src="https://ads.example/allowed/chart.png" alt="allowed">'
    '<script src="https://tracker.example/t.js"></script>'
)


def test_network_rules_remove_elements_whose_resource_is_blocked() -> None:
    body = lxml.html.fragment_fromstring(RESOURCES, create_parent="div")
    report = strip_junk(body, PAGE_URL, rules())
    html = html_of(body)
    assert "Story text" in html
    for gone in ("a.js", "frame", "p.gif", "banner.webp", "p.jpg", "s.css"):
        assert gone not in html, gone
    assert "allowed/chart.png" in html  # an @@ exception
    assert "tracker.example/t.js" in html  # the rule is for images only
    assert report.elements == 6


def test_a_url_is_judged_by_the_element_asking_for_it() -> None:
    """The lists are asked once per URL and tag: an image rule blocks the image only."""
    same = "https://tracker.example/same"
    body = lxml.html.fragment_fromstring(
        f'<p>Text</p><img src="{same}"><script src="{same}"></script><img src="{same}">',
        create_parent="div",
    )
    report = strip_junk(body, PAGE_URL, rules())
    assert [e.tag for e in body.iter("img", "script")] == ["script"]
    assert report.elements == 2


def test_page_pass_removes_blocked_resources_a_reader_could_see() -> None:
    """Scripts and stylesheets are left to extraction and the sanitiser, which drop all."""
    html, removed = strip(RESOURCES)
    for gone in ("frame", "p.gif", "banner.webp", "p.jpg"):
        assert gone not in html, gone
    assert "a.js" in html and "s.css" in html
    assert removed == 4


def test_blocked_link_loses_its_href_and_keeps_its_text() -> None:
    body = lxml.html.fragment_fromstring(
        '<p>See <a href="https://ads.example/click">the offer</a>.</p>', create_parent="div"
    )
    report = strip_junk(body, PAGE_URL, rules())
    html = html_of(body)
    assert "the offer" in html and "ads.example" not in html
    assert report.elements == 1


def test_generic_and_site_element_hiding() -> None:
    html, removed = strip(
        '<div class="ad-box">Buy now</div><div id="gpt-slot-3">Slot</div>'
        '<a href="https://click.example/x">Sponsored</a>'
        '<div class="sidebar"><p class="promo">Promo</p></div><p class="promo">Kept promo</p>'
        '<div class="site-popup">Popup</div><div class="story">Story</div>'
    )
    for gone in ("Buy now", "Slot", "Sponsored", ">Promo<", "Popup"):
        assert gone not in html, gone
    assert "Kept promo" in html and "Story" in html
    assert removed == 5


def test_site_exception_keeps_an_element() -> None:
    html, _ = strip('<div class="ad-box-kept ad-box">Kept</div>')
    assert "Kept" not in html  # .ad-box still matches: only the exact selector is excepted
    html, _ = strip('<div class="ad-box-kept">Kept</div>')
    assert "Kept" in html


def test_site_selectors_from_the_config() -> None:
    from mirror.transform.filters import SiteStripRules

    own = StripRules(
        build_engine([FIXTURE_LIST]), {"news.example": SiteStripRules(remove=("aside.newsletter",))}
    )
    html, removed = strip('<aside class="newsletter">Sign up</aside><p>Text</p>', own)
    assert "Sign up" not in html and "Text" in html and removed == 1
    html, _ = strip('<aside class="newsletter">Sign up</aside>')
    assert "Sign up" in html


def test_body_and_html_are_never_removed() -> None:
    page = page_of("<p>x</p>")
    body = page.find("body")
    assert body is not None
    body.set("class", "ad-box")
    strip_page(page, PAGE_URL, rules())
    assert "<p>x</p>" in html_of(page)


def test_ads_trackers_and_pixels_go_text_stays() -> None:
    body = lxml.html.fragment_fromstring(
        '<p>Kept <a href="https://a.example/?utm_source=x&amp;id=2">link</a></p>'
        '<div class="ad-slot">Advertisement</div>'
        '<div id="share-bar">Share this:</div>'
        '<iframe src="https://ads.example/x"></iframe>'
        '<img src="https://tracker.example/p.gif">'
        '<img src="https://a.example/pixel.gif" width="1" height="1">'
        '<img src="https://a.example/hidden.gif" style="display: none">'
        '<img src="https://a.example/photo.jpg" width="600">'
        '<p class="header">Header class is not an ad</p>',
        create_parent="div",
    )
    report = strip_junk(body, PAGE_URL, rules())
    html = html_of(body)
    assert "Advertisement" not in html and "Share this" not in html
    for gone in ("ads.example", "tracker.example", "pixel.gif", "hidden.gif"):
        assert gone not in html, gone
    assert "photo.jpg" in html and "Header class" in html and "Kept" in html
    assert "utm_source" not in html and "id=2" in html
    assert report.elements == 6
    assert report.params == 1


def test_site_keeps_the_parameters_it_needs() -> None:
    from mirror.transform.filters import SiteStripRules

    own = StripRules(
        build_engine([FIXTURE_LIST]),
        {"shop.example": SiteStripRules(keep_params=frozenset({"s_cid"}))},
    )
    body = lxml.html.fragment_fromstring(
        '<p><a href="https://shop.example/?s_cid=a&amp;utm_source=b">s</a>'
        '<a href="https://other.example/?s_cid=a">o</a></p>',
        create_parent="div",
    )
    strip_junk(body, PAGE_URL, own)
    html = html_of(body)
    assert 'https://shop.example/?s_cid=a"' in html
    assert 'href="https://other.example/"' in html
