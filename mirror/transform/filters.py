"""Ad and tracker rules: EasyList-syntax lists, matched by Brave's adblock-rust engine.

Why a real engine: the field's lists (EasyList, EasyPrivacy) hold some 130,000 rules with
options, exceptions and per-site element hiding; adblock-rust (the ``adblock`` package)
matches a URL in microseconds and returns the element-hiding selectors for a page. A small
built-in list (``data/builtin-filters.txt``) ships with the package, so a fresh install
strips the common ad networks before ``mirror filters update`` has ever run; downloaded
lists live in ``<data dir>/filters/`` and are read when the mirror starts (downloading
them is an operator's task: ``mirror.filterlists``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import adblock
from cssselect import HTMLTranslator, SelectorError, parse
from cssselect.xpath import XPathExpr, is_non_whitespace
from lxml import etree

from mirror.errors import ConfigError, MirrorError
from mirror.settings import Config
from mirror.transform.anchors import Anchor, anchors
from mirror.transform.hiding import HidingIndex

BUILTIN_LIST = "builtin-filters.txt"
LIST_DIR = "filters"
LIST_HEADER = "[Adblock"
# A page no list names: what the lists hide on it, they hide on every page.
GENERIC_PROBE = "https://page.invalid/"
# Resource types, as adblock-rust names them, of the elements the network rules remove.
RESOURCE_TYPES: dict[str, str] = {
    "script": "script",
    "iframe": "sub_frame",
    "frame": "sub_frame",
    "img": "image",
    "source": "media",
    "link": "stylesheet",
    "embed": "object",
    "object": "object",
    "video": "media",
    "audio": "media",
    "track": "media",
    "a": "other",
}


class BrokenList(MirrorError):
    """A downloaded list is empty or not an Adblock Plus list; the old copy is kept."""


@dataclass(frozen=True)
class FilterEngine:
    """The compiled rules: network blocking and element hiding, for one set of lists.

    adblock-rust hands back the generic hiding selectors that are not a bare class or id
    (some five hundred, with EasyList) for every page, as new Python strings each time:
    ``engine`` holds every rule but those, which are filed once in ``generic`` and added
    to a page's own as adblock-rust adds them (unless the site makes an exception).
    """

    engine: adblock.Engine
    generic: HidingIndex

    def blocks(self, url: str, page_url: str, element: str) -> bool:
        """True when a request for ``url`` made by ``element`` on ``page_url`` is blocked."""
        kind = RESOURCE_TYPES.get(element, "other")
        return bool(self.engine.check_network_urls(url, page_url, kind).matched)

    def hiding_selectors(
        self, page_url: str, classes: Collection[str], ids: Collection[str]
    ) -> set[str]:
        """CSS selectors of elements to remove from ``page_url``: per-site and generic.

        adblock-rust returns the generic rules keyed by a class or id only for the classes
        and ids the page actually has, which keeps the set small.
        """
        resources = self.engine.url_cosmetic_resources(page_url)
        selectors = resources.hide_selectors  # a new set at every reading: ours to extend
        # The package's type stub omits ``generichide`` (a ``#@#+generichide`` exception).
        if not resources.generichide:  # type: ignore[attr-defined]
            selectors |= self.generic.selectors - resources.exceptions
            found = self.engine.hidden_class_id_selectors(
                list(classes), list(ids), resources.exceptions
            )
            selectors.update(found)
        return selectors


@dataclass(frozen=True)
class SiteStripRules:
    """A site's own additions: removal selectors, and tracking parameters it needs kept."""

    remove: tuple[str, ...] = ()
    keep_params: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StripRules:
    """Everything the strip stage needs: the engine and each configured site's additions."""

    engine: FilterEngine
    sites: Mapping[str, SiteStripRules] = field(default_factory=dict)

    def site(self, url: str) -> SiteStripRules:
        """The additions of the site serving ``url`` (by host name).

        Asked for every URL of the body (its tracking parameters), and most configurations
        name no site: the URL is parsed only when some site has additions.
        """
        if not self.sites:
            return NO_SITE_RULES
        return self.sites.get((urlsplit(url).hostname or "").lower(), NO_SITE_RULES)


NO_SITE_RULES = SiteStripRules()


def load_rules(config: Config) -> StripRules:
    """The built-in and downloaded lists, and the sites' rules; bad selectors stop start-up."""
    engine = build_engine(list_texts(config.server.data_dir / LIST_DIR))
    sites = {}
    for site in config.sites:
        for selector in site.remove:
            if compile_selector(selector) is None:
                raise ConfigError(f"site {site.name}: cannot use selector {selector!r}")
        keep = frozenset(p.lower() for p in site.keep_params)
        sites[site.host] = SiteStripRules(remove=site.remove, keep_params=keep)
    return StripRules(engine, sites)


@cache
def default_rules() -> StripRules:
    """The built-in list alone, no site rules (``mirror extract``, tests, benchmarks)."""
    return StripRules(build_engine(list_texts(None)))


@lru_cache(maxsize=8192)
def compile_selector(selector: str) -> etree.XPath | None:
    """A CSS selector as compiled XPath; None for what cssselect cannot express (``:has``)."""
    try:
        return etree.XPath(_TRANSLATOR.css_to_xpath(selector))
    except (SelectorError, etree.XPathError, ValueError):
        return None


@lru_cache(maxsize=1024)
def compile_selectors(selectors: tuple[str, ...]) -> tuple[etree.XPath, ...]:
    """``selectors`` as few XPaths as finding their elements takes: each walk of a page
    costs as much as most tests made during it, so every selector of one element alone
    (``div[id^="gpt-"]``, ``.ad.top``, ``ins.x:not(.y)``) is tested in one walk; selectors
    with combinators (``.a > .b``) keep a walk of their own. What cssselect cannot express
    is left out.

    Testing every element costs more than the walk: a selector that requires an attribute
    (``anchors``) is tested only on the elements that have it, with a value that can match,
    ``(descendant-or-self::*/@class[contains(., 'ad')] | ...)/parent::*[...]``: a walk over
    the attributes of one name tests no element without one.
    """
    values: dict[str, dict[str, None]] = {}
    anchored: list[str] = []
    tests: list[str] = []
    walks: list[etree.XPath] = []
    for selector in selectors:
        test = _element_test(selector)
        anchor = min(anchors(selector), key=_anchor_order, default=None) if test else None
        if anchor is not None and test is not None:
            values.setdefault(anchor[0], {})[anchor[1]] = None
            anchored.append(test)
        elif test is not None:
            tests.append(test)
        elif (compiled := compile_selector(selector)) is not None:
            walks.append(compiled)
    if tests:
        walks.insert(0, etree.XPath(f"descendant-or-self::*[{_any(tests)}]"))
    if values:
        owners = " | ".join(
            f"descendant-or-self::*/@{name}[{' or '.join(tested)}]"
            for name, tested in values.items()
        )
        walks.insert(0, etree.XPath(f"({owners})/parent::*[{_any(anchored)}]"))
    return tuple(walks)


def _any(tests: list[str]) -> str:
    return " or ".join(f"({test})" for test in tests)


# Which attribute to test a selector's elements by, first: classes and ids are shared by
# most selectors, so their walks are shared too.
_ANCHOR_ORDER = {"class": 0, "id": 1}


def _anchor_order(anchor: Anchor) -> tuple[int, int]:
    """Classes first, then ids, then other attributes; the longest value (the rarest) first."""
    return _ANCHOR_ORDER.get(anchor[0], len(_ANCHOR_ORDER)), -len(anchor[1])


@lru_cache(maxsize=8192)
def _element_test(selector: str) -> str | None:
    """The XPath test of one element that ``selector`` makes, when it makes nothing else
    (no combinator, no pseudo-element) and XPath can say it; else None."""
    try:
        parsed = parse(selector)
        if len(parsed) != 1 or parsed[0].pseudo_element is not None:
            return None
        expression = _TRANSLATOR.xpath(parsed[0].parsed_tree)
    except (SelectorError, NotImplementedError, ValueError):
        return None
    if expression.path:
        return None
    parts = [] if expression.element == "*" else [f"self::{expression.element}"]
    parts += [f"({expression.condition})"] if expression.condition else []
    test = " and ".join(parts) or "true()"
    try:
        etree.XPath(f"self::*[{test}]")
    except etree.XPathError:
        return None
    return test


class _NameFirstTranslator(HTMLTranslator):
    """cssselect's HTML translation, with class (``~=``) tests that look for the name first.

    ``.ad-box`` becomes ``contains(concat(' ', normalize-space(@class), ' '), ' ad-box ')``,
    which builds two strings for every element with a class; a plain
    ``contains(@class, 'ad-box')`` in front rules out nearly every element without building
    any (``and`` stops at the first false), and the answer is the same.
    """

    def xpath_attrib_includes(self, xpath: XPathExpr, name: str, value: str | None) -> XPathExpr:
        if value and is_non_whitespace(value):
            xpath.add_condition(f"contains({name}, {self.xpath_literal(value)})")
        return super().xpath_attrib_includes(xpath, name, value)


_TRANSLATOR = _NameFirstTranslator()


def list_texts(list_dir: Path | None) -> list[str]:
    """The built-in list, then every downloaded list in ``list_dir`` (sorted, for stability)."""
    texts = [files("mirror.transform").joinpath("data", BUILTIN_LIST).read_text("utf-8")]
    if list_dir is not None and list_dir.is_dir():
        texts += [p.read_text("utf-8") for p in sorted(list_dir.glob("*.txt"))]
    return texts


def build_engine(texts: list[str]) -> FilterEngine:
    """The engine of ``texts``, its generic hiding selectors filed apart (``FilterEngine``)."""
    generic = _generic_selectors(texts)
    filed = {f"##{selector}" for selector in generic}
    rules = adblock.FilterSet()
    for text in texts:
        rules.add_filter_list("\n".join(s for s in text.split("\n") if s.strip() not in filed))
    return FilterEngine(adblock.Engine(rules), HidingIndex.of(generic))


def _generic_selectors(texts: list[str]) -> set[str]:
    """The selectors adblock-rust gives every page (a page no list names), each from a
    generic rule of its own (``##selector``), read from an engine of the cosmetic rules."""
    rules = adblock.FilterSet()
    for text in texts:
        rules.add_filter_list(text, rule_types="cosmeticonly")
    every_page = adblock.Engine(rules).url_cosmetic_resources(GENERIC_PROBE).hide_selectors
    lines = (line.strip() for text in texts for line in text.split("\n"))
    return every_page & {line[2:] for line in lines if line.startswith("##")}


def check_list(text: str) -> None:
    """Refuse what is not an Adblock Plus list with rules: an error page, an empty body."""
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines or not lines[0].startswith(LIST_HEADER):
        raise BrokenList("The list does not start with an [Adblock Plus] header.")
    if not any(line[0] not in "![" for line in lines):
        raise BrokenList("The list holds no rules.")
