from __future__ import annotations

import pytest

from mirror.transform.sanitise import sanitise

ATTACKS = [
    '<img src="https://a.example/x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<script>alert(1)</script>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<base href="javascript:alert(1)//">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    '<img src="x" alt="a" title="b">',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attacks_are_neutralised(attack: str) -> None:
    clean = sanitise(f"<p>before</p>{attack}<p>after</p>").lower()
    assert "<script" not in clean
    assert "javascript:" not in clean
    assert "onerror" not in clean and "onclick" not in clean
    for tag in ("<iframe", "<object", "<embed", "<form", "<meta", "<style", "<base", "<svg"):
        assert tag not in clean
    assert "style=" not in clean
    assert "before" in clean and "after" in clean


def test_article_markup_survives() -> None:
    html = (
        '<h2>Head</h2><p lang="ug" dir="rtl">ئۇيغۇر</p><blockquote cite="https://a.example/">'
        '<p>q</p></blockquote><figure><img src="https://a.example/i.jpg" alt="a">'
        "<figcaption>c</figcaption></figure><ruby>漢<rt>han</rt></ruby>"
        '<table><tr><td colspan="2">t</td></tr></table><a href="#n">n</a>'
    )
    clean = sanitise(html)
    for piece in (
        "<h2>",
        'dir="rtl"',
        "<blockquote",
        "<figcaption>",
        "<ruby>",
        "<rt>",
        'colspan="2"',
        'href="#n"',
        'alt="a"',
    ):
        assert piece in clean


def test_sanitising_twice_changes_nothing() -> None:
    once = sanitise("".join(ATTACKS) + "<p>x <b>y</b></p>")
    assert sanitise(once) == once


def test_data_urls_only_for_raster_image_sources() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    clean = sanitise(
        f'<img src="{png}" alt="inline">'
        '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="svg">'
        '<a href="data:text/html;base64,PHNjcmlwdD4=">a</a>'
        f'<img src="https://a.example/x.png" srcset="https://a.example/x.png 1x, {png} 2x">'
        '<video poster="https://a.example/p.jpg" src="https://a.example/v.mp4"></video>'
    )
    assert f'src="{png}"' in clean
    assert "svg+xml" not in clean and "text/html" not in clean
    assert 'srcset="https://a.example/x.png 1x"' in clean
    assert '<video poster="https://a.example/p.jpg"></video>' in clean
