from __future__ import annotations

import lxml.html
import pytest

from mirror.transform.hiding import (
    AttributeSearch,
    HidingIndex,
    PageAttributes,
    required_tags,
    requirements,
)


def page_of(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><body>{body}</body></html>")


PAGE = page_of(
    '<div class="ad-holder Lead" id="x-banner2" data-slot="leaderboard">'
    '<a href="https://click.example/go?id=42" onclick="track()">go</a>'
    '<span title="广告，sponsor">s</span></div>'
)


def test_classes_and_ids_are_read_as_written() -> None:
    attributes = PageAttributes(PAGE)
    assert attributes.classes == {"ad-holder", "Lead"}
    assert attributes.ids == {"x-banner2"}


# (selector, whether it may match)
CASES = [
    ("#banner", False),  # only inside "x-banner2"
    ("#x-banner2", True),
    (".holder", False),  # "ad-holder" is one word
    ('[data-slot="leaderboard"]', True),
    ('[data-slot="banner"]', False),
    ('[title*="leaderboard"]', False),  # the word is in another attribute
    (".LEAD", True),  # compared in lower case
    ('[id^="x-ban"]', True),  # a part of a word
    ('[id^="y-ban"]', False),
    ('a[href^="https://click.example/"]', True),
    ('a[href^="https://clack.test/"]', False),
    ('[title~="sponsor"]', True),  # cut at a fullwidth comma
    ("[data-slot]", True),  # attributes by name
    ("[onclick]", True),
    ("[data-missing]", False),
    ('.lead[data-slot="banner"]', False),  # every requirement counts
    ("div > span", True),  # no word to require
    (".absent:not(.lead)", False),  # words in parentheses are not required
    (".gone, .other", True),  # a list requires nothing
    ("amp-ad", False),  # element names count too
    ("div span.lead", True),
    ("span > a[href*='click']", True),
    ("section .lead", False),
]


@pytest.mark.parametrize(("selector", "may_match"), CASES)
def test_prefilter_rules_out_only_selectors_that_cannot_match(
    selector: str, may_match: bool
) -> None:
    """The same answer for a selector checked one by one and for one filed in the index."""
    unfiled = HidingIndex.of(())
    assert PageAttributes(PAGE).possible({selector}, unfiled) == ([selector] if may_match else [])
    many = {f"{selector}:nth-child({n})" for n in range(3)}
    index = HidingIndex.of(many | {".elsewhere", "[data-elsewhere]", "amp-elsewhere"})
    assert PageAttributes(PAGE).possible(many, index) == (sorted(many) if may_match else [])


def test_filed_selectors_are_only_those_the_page_is_given() -> None:
    """A generic selector a site makes an exception for is not tried there."""
    index = HidingIndex.of(["#x-banner2", "[data-slot]"])
    assert PageAttributes(PAGE).possible({"[data-slot]"}, index) == ["[data-slot]"]


def test_each_selector_is_filed_under_its_cheapest_requirement() -> None:
    index = HidingIndex.of(
        [
            ".ad-box[data-slot]",
            'a[href^="https://ads.example/"]',
            "div[data-ad-slot]",
            '[aria-label="Ad"]',
            "[data-x] > span",
            "amp-ad > div",
            '[id^="div-gpt-"]',
            "div > span",
        ]
    )
    assert index.words == {
        "class": {"ad-box": [".ad-box[data-slot]"]},
        "href": {"ads": ['a[href^="https://ads.example/"]']},
    }
    assert index.tested == {
        ("data-ad-slot", "true()"): ["div[data-ad-slot]"],
        ("aria-label", ". = 'Ad'"): ['[aria-label="Ad"]'],
        ("data-x", "true()"): ["[data-x] > span"],  # required, if not by the subject
    }
    assert index.tags == {"amp-ad": ["amp-ad > div"]}
    assert index.parts == {("id", "div-gpt-"): ['[id^="div-gpt-"]']}
    assert index.always == ("div > span",)


def test_attribute_tests_are_made_in_one_search() -> None:
    search = AttributeSearch(
        [
            ("data-slot", "true()"),
            ("data-slot", ". = 'leaderboard'"),
            ("data-slot", ". = 'banner'"),
            ("onclick", "starts-with(., 'track')"),
            ("data-missing", "true()"),
            ("title", "contains(., '广告')"),
        ]
    )
    assert search.passed(PAGE) == {
        ("data-slot", "true()"),
        ("data-slot", ". = 'leaderboard'"),
        ("onclick", "starts-with(., 'track')"),
        ("title", "contains(., '广告')"),
    }
    assert AttributeSearch([]).passed(PAGE) == set()


def test_required_tags_are_the_type_selectors_outside_parentheses() -> None:
    assert required_tags("AMP-AD") == {"amp-ad"}
    assert required_tags('div.x > a[href^="https://x/"] + span:not(p)') == {"div", "a", "span"}
    assert required_tags(".x #y [data-z] :first-child") == set()
    assert required_tags("ins, amp-ad") == set()


def test_requirements_are_words_in_attributes_outside_parentheses() -> None:
    assert requirements('a[href^="https://ads.example.com/banner"]') == (
        ("href", "ads", True),
        ("href", "banner", False),
        ("href", "example", True),
    )
    assert requirements('[id^="div-gpt-ad"]') == (("id", "div-gpt-ad", False),)
    assert requirements("[data-ad-slot]") == (("", "data-ad-slot", True),)
    assert requirements(".ad-box:not(.kept) > img#top") == (
        ("class", "ad-box", True),
        ("id", "top", True),
    )
    assert requirements("div > span") == ()
