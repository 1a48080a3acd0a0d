from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import adblock
import lxml.html
import pytest
from lxml import etree

from mirror.settings import Config
from mirror.transform.filters import (
    BrokenList,
    FilterEngine,
    build_engine,
    check_list,
    compile_selector,
    compile_selectors,
    default_rules,
    load_rules,
)
from tests.support.filter_fixtures import (
    EASYLIST,
    EASYPRIVACY,
)

PAGE = "https://news.example/story/"


def engine() -> FilterEngine:
    return build_engine([EASYLIST, EASYPRIVACY])


def test_network_rules_by_resource_type() -> None:
    rules = engine()
    assert rules.blocks("https://cdn.ads-fixture.example/a.js", PAGE, "script")
    assert rules.blocks("https://beacon-fixture.example/p.gif", PAGE, "img")
    assert not rules.blocks("https://news.example/photo.jpg", PAGE, "img")


def test_hiding_selectors_only_for_classes_present() -> None:
    rules = engine()
    assert ".fixture-ad" in rules.hiding_selectors(PAGE, {"fixture-ad", "x"}, set())
    assert ".fixture-ad" not in rules.hiding_selectors(PAGE, {"x"}, set())


def test_builtin_list_strips_the_common_networks_on_a_fresh_install() -> None:
    rules = default_rules().engine
    for url in (
        "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js",
        "https://www.googletagmanager.com/gtag/js?id=UA-1",
        "https://connect.facebook.net/en_US/fbevents.js",
        "https://www.facebook.com/tr?id=1&ev=PageView",
        "https://pixel.quantserve.com/pixel/p-1.gif",
        "https://images.taboola.com/x.jpg",
        "https://stats.wp.com/e-201846.js",
    ):
        assert rules.blocks(url, PAGE, "script"), url
    assert not rules.blocks("https://www.facebook.com/cdtimes", PAGE, "a")
    assert not rules.blocks("https://chinadigitaltimes.net/wp-content/x.jpg", PAGE, "img")
    assert ".adsbygoogle" in rules.hiding_selectors(PAGE, {"adsbygoogle"}, set())


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "<!doctype html><title>Error</title>", "[Adblock Plus 2.0]\n! only comments\n"],
)
def test_broken_lists_are_refused(text: str) -> None:
    with pytest.raises(BrokenList):
        check_list(text)


def test_a_real_list_header_passes() -> None:
    check_list("\ufeff[Adblock Plus 2.0]\n! c\n||x.example^\n")


def test_selectors_compile_or_are_refused() -> None:
    assert compile_selector("div.ad > p") is not None
    assert compile_selector("div:-abp-has(.x)") is None
    assert compile_selector("div[") is None


MERGED_PAGE = lxml.html.document_fromstring(
    '<html><body><div id="gpt-1" class="ad top"><p class="x">a</p><ins class="y">b</ins></div>'
    '<section class="ad"><p>c</p></section><amp-ad></amp-ad><span lang="en">d</span></body></html>'
)
SELECTORS = (
    'div[id^="gpt-"]',  # one element: tested in the one merged walk
    ".ad.top",
    "ins:not(.z)",
    "amp-ad",
    "*:lang(en)",
    ".ad > p",  # a combinator: a walk of its own
    "section p, .x",  # a list
    "p::first-line",  # a pseudo-element: cssselect cannot say it either
    "div:-abp-has(.x)",  # what cssselect cannot say
    ".absent",
)


def test_selectors_of_one_element_share_one_walk_and_find_the_same() -> None:
    def found(paths: list[etree.XPath]) -> set[lxml.html.HtmlElement]:
        return {element for path in paths for element in path(MERGED_PAGE)}

    one_by_one = [p for p in map(compile_selector, SELECTORS) if p is not None]
    merged = compile_selectors(SELECTORS)
    assert found(list(merged)) == found(one_by_one)
    assert len(found(one_by_one)) == 6
    # over the elements with a given attribute, over every element, the combinator, the list
    assert len(merged) == 2 + 2


ANCHORED_PAGE = lxml.html.document_fromstring(
    '<html><body><div id="gpt-1" class="ad  top" data-x="" lang="en-GB">'
    '<p title="a b" class="x">a</p><p lang="fr">b</p><p>c</p></div></body></html>'
)
# Selectors tested over the elements that have one of their attributes (a class, an id,
# another) and some that must not be: they match elements without the attribute they name.
ANCHORED = (
    ".ad.top",
    ".top:not(.x)",
    "#gpt-1",
    '[ID^="gpt-"]',
    '[lang|="en"]',
    '[class$="top"]',
    '[title~="b"]',
    "[data-x]",
    '[data-x=""]',
    'p[lang!="fr"]',
    "p:not([lang])",
    "p:not(.x)",
)


def test_selectors_tested_by_an_attribute_find_what_they_find_alone() -> None:
    def found(paths: list[etree.XPath]) -> list[lxml.html.HtmlElement]:
        return sorted({e for path in paths for e in path(ANCHORED_PAGE)}, key=id)

    for selector in ANCHORED:
        alone = compile_selector(selector)
        assert alone is not None
        assert found(list(compile_selectors((selector,)))) == found([alone]), selector
    merged = compile_selectors(ANCHORED)
    assert "/parent::*" in merged[0].path  # the elements with a class, an id, a data-x
    assert found(list(merged)) == found([p for p in map(compile_selector, ANCHORED) if p])


def test_bad_site_selector_stops_start_up(config: Config) -> None:
    from dataclasses import replace

    from mirror.errors import ConfigError

    site = replace(config.sites[0], remove=("div[",))
    with pytest.raises(ConfigError):
        load_rules(replace(config, sites=(site,)))


def test_site_rules_come_from_the_config(write_config: Callable[..., Path]) -> None:
    from mirror.settings import load_config

    config = load_config(
        write_config(
            '[[sites]]\nname = "cdt"\norigin = "https://chinadigitaltimes.net"\n'
            'remove = ["aside#secondary", ".cdt-popup"]\nkeep_params = ["S_CID"]\n'
        ),
        environ={},
    )
    rules = load_rules(config)
    site = rules.site("https://chinadigitaltimes.net/2018/11/x/")
    assert site.remove == ("aside#secondary", ".cdt-popup")
    assert site.keep_params == frozenset({"s_cid"})
    assert rules.site("https://other.example/").remove == ()


HIDING_LIST = """[Adblock Plus 2.0]
##.fixture-ad
##[data-fixture-slot]
##a[href^="https://click.fixture.example/"]
##div > .fixture-promo
news.example##.site-popup
news.example#@#[data-fixture-slot]
@@||plain.example^$generichide
"""


@pytest.mark.parametrize(
    "url", [PAGE, "https://other.example/", "https://plain.example/a", "https://page.test/"]
)
def test_generic_selectors_filed_apart_are_given_as_adblock_rust_gives_them(url: str) -> None:
    """The engine without its generic selectors, and those added back, give each page what
    the whole engine gives it: a site's exceptions and ``$generichide`` count."""
    whole = adblock.FilterSet()
    whole.add_filter_list(HIDING_LIST)
    engine = adblock.Engine(whole)
    resources = engine.url_cosmetic_resources(url)
    classes = ["fixture-ad", "other"]
    expected = resources.hide_selectors
    if not resources.generichide:  # type: ignore[attr-defined]
        expected.update(engine.hidden_class_id_selectors(classes, [], resources.exceptions))
    rules = build_engine([HIDING_LIST])
    assert rules.hiding_selectors(url, classes, []) == expected
    assert rules.generic.selectors == {
        "[data-fixture-slot]",
        'a[href^="https://click.fixture.example/"]',
        "div > .fixture-promo",
    }
