from __future__ import annotations

import lxml.html
import pytest

from mirror.hiding import SEARCHES, page_words, required_words


def page_of(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><body>{body}</body></html>")


PAGE = page_of(
    '<div class="ad-holder Lead" id="x-banner2" data-slot="leaderboard">'
    '<a href="https://click.example/go?id=42">go</a><span title="广告，sponsor">s</span></div>'
)


def test_page_words_read_classes_ids_and_attribute_text() -> None:
    words = page_words(PAGE)
    assert words.classes == {"ad-holder", "Lead"}
    assert words.ids == {"x-banner2"}
    assert "data-slot" in words.text
    assert "https://click.example/go?id=42" in words.text


@pytest.mark.parametrize(
    ("selector", "may_match"),
    [
        ("#banner", False),  # only inside "x-banner2"
        (".holder", False),  # "ad-holder" is one word
        ('[data-slot="leaderboard"]', True),
        (".LEAD", True),  # attribute words are compared in lower case
        ('[id^="x-ban"]', True),  # a part of a word
        ('[id^="y-ban"]', False),
        ('a[href^="https://click.example/"]', True),
        ('a[href^="https://clack.test/"]', False),
        (".sponsor", True),  # cut at a fullwidth comma
        ("[data-slot]", True),  # attribute names count too
        ("[data-missing]", False),
        ('.lead[data-slot="banner"]', False),  # every word is required
        ("div > span", True),  # no word to require
        (".absent:not(.lead)", False),  # words in parentheses are not required
        (".gone, .other", True),  # a list: no one word is required
    ],
)
def test_prefilter_rules_out_only_selectors_that_cannot_match(
    selector: str, may_match: bool
) -> None:
    """The same answer whether the words are searched for or collected first."""
    words = page_words(PAGE)
    assert words.possible([selector]) == ([selector] if may_match else [])
    many = [f"{selector}:nth-child({n})" for n in range(SEARCHES + 1)]
    assert words.possible(many) == (many if may_match else [])


def test_required_words_are_those_outside_parentheses() -> None:
    assert required_words('a[href^="https://ads.example.com/banner"]') == (
        ("ads", True),
        ("banner", False),
        ("example", True),
    )
    assert required_words('[id^="div-gpt-ad"]') == (("div-gpt-ad", False),)
    assert required_words(".ad-box:not(.kept) > img") == (("ad-box", True),)
    assert required_words("div > span") == ()
