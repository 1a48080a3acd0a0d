from __future__ import annotations

import lxml.html

from mirror.transform.textdir import (
    declared_direction,
    guess_language,
    mark_rtl_blocks,
    text_direction,
)


def test_direction_from_text_and_declaration() -> None:
    assert text_direction("ئۇيغۇر تىلى") == "rtl"
    assert text_direction("עברית היא שפה") == "rtl"
    assert text_direction("plain English words") == "ltr"
    assert text_direction("English", "RTL") == "rtl"
    assert text_direction("中文中文中文中文中文 ئۇي") == "ltr"


def test_direction_declared_in_markup_or_css() -> None:
    def page(html: str) -> lxml.html.HtmlElement:
        return lxml.html.document_fromstring(html)

    assert declared_direction(page("<html dir='RTL'><body><p>x</p></body></html>")) == "rtl"
    assert declared_direction(page("<html><body dir='rtl'><p>x</p></body></html>")) == "rtl"
    assert declared_direction(page("<html><body style='direction:rtl'><p>x</p></body></html>"))
    css = "<html><head><style>p{direction:ltr} html,body{direction: rtl}</style></head>"
    assert declared_direction(page(css + "<body><p>x</p></body></html>")) == "rtl"
    other = "<html><head><style>.quote{direction: rtl}</style></head><body><p>x</p></body></html>"
    assert declared_direction(page(other)) == ""
    inner = "<style>.body-text{direction:rtl} @media print{body{color:red}}</style><p>x</p>"
    assert declared_direction(page(inner)) == ""
    nested = "<style>@media screen{ :root{direction:rtl} }</style><p>x</p>"
    assert declared_direction(page(nested)) == "rtl"


def test_rtl_blocks_in_an_ltr_body_get_their_own_direction() -> None:
    body = lxml.html.fragment_fromstring(
        "<div><p>新疆的再教育营</p><blockquote><p>بىز ئۆز تىلىمىزدا</p></blockquote>"
        "<p dir='ltr'>שלום</p></div>"
    )
    mark_rtl_blocks(body)
    assert [e.get("dir") for e in body.iter("p", "blockquote")] == [None, "rtl", "rtl", "ltr"]


def test_language_guessed_only_for_scripts_that_name_one() -> None:
    assert guess_language("東京の天気は晴れでした") == "ja"
    assert guess_language("新疆的再教育营") == "zh"
    assert guess_language("서울의 날씨") == "ko"
    assert guess_language("مرحبا بالعالم") == ""
    assert guess_language("hello world") == ""
    assert guess_language("") == ""
