"""Pictures offered at render time: the widest origin file, true widths, the none mode."""

from __future__ import annotations

import lxml.html

from mirror.article import PictureInfo
from mirror.transform.responsive import (
    Labels,
    Offering,
    offer_pictures,
    picture_sources,
    size_text,
)
from mirror.transform.variants import Offer, Variant

OFFER = Offer(widths=(360, 720, 1080), light_widths=(360, 720), max_width=1080)
SITE = "https://news.example/"


def offered(body: str, mode: str, infos: dict[str, PictureInfo] | None = None) -> str:
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    labels = Labels("Left out: %(alt)s", "Left out")
    offer_pictures(
        root, lambda url: "/r/" + url.rsplit("/", 1)[1], Offering(mode, OFFER, infos or {}, labels)
    )
    return lxml.html.tostring(root, encoding="unicode")


def test_the_widest_origin_file_is_the_source() -> None:
    body = (
        f'<img src="{SITE}a-300.jpg" srcset="{SITE}a-300.jpg 300w, {SITE}a-1200.jpg 1200w, '
        f'{SITE}a-2x.jpg 2x"><img src="data:image/png;base64,AA"><img src="{SITE}b.png">'
    )
    assert picture_sources(body) == [f"{SITE}a-1200.jpg", f"{SITE}b.png"]


def test_widths_are_true_once_the_picture_is_known() -> None:
    info = PictureInfo(500, 250, {"720.webp": 9000}, 0.0)
    html = offered(f'<p><img src="{SITE}a.jpg" alt="x"> tail</p>', "full", {f"{SITE}a.jpg": info})
    assert (
        '<source type="image/webp" srcset="/r/a.jpg/360.webp 360w, /r/a.jpg/720.webp 500w"' in html
    )
    assert 'srcset="/r/a.jpg/360.jpeg 360w, /r/a.jpg/720.jpeg 500w"' in html
    assert 'width="500" height="250"' in html and "</picture> tail" in html


def test_an_unknown_picture_is_offered_at_every_width_of_its_mode() -> None:
    html = offered(
        f'<picture><source srcset="{SITE}o.webp"><img src="{SITE}a.jpg"></picture>', "light"
    )
    assert html.count("<picture>") == 1 and "o.webp" not in html
    assert 'srcset="/r/a.jpg/360.light.webp 360w, /r/a.jpg/720.light.webp 720w"' in html
    assert 'src="/r/a.jpg/720.light.jpeg"' in html and 'loading="lazy"' in html


def test_the_none_mode_names_the_picture_and_its_cost() -> None:
    info = PictureInfo(900, 600, {OFFER.small.name: 23 * 1024}, 0.0)
    body = (
        f'<picture><source srcset="{SITE}a.webp"><img src="{SITE}a.jpg" alt="A camp"></picture>'
        f'<img src="{SITE}b.jpg">'
    )
    html = offered(body, "none", {f"{SITE}a.jpg": info})
    assert "<img" not in html and "<picture" not in html and "<source" not in html
    assert (
        '<a href="/r/a.jpg/720.light.webp" class="image-request">Left out: A camp (23 KB)</a>'
        in html
    )
    assert '<a href="/r/b.jpg/720.light.webp" class="image-request">Left out</a>' in html


def test_variant_names_read_back_and_nothing_else_does() -> None:
    for variant in OFFER.variants():
        assert Variant.parse(variant.name) == variant and OFFER.allows(variant)
    for name in ("720.avif", "0720.webp", "720.webp.gz", "720.heavy.webp", "1.webp", ""):
        assert Variant.parse(name) is None, name
    assert not OFFER.allows(Variant(999))
    assert size_text(500) == "1 KB" and size_text(3 * 1024 * 1024 // 2) == "1.5 MB"
