"""Strip ads, trackers and widgets: EasyList-syntax rules, site selectors, pixels, parameters.

Two passes, both in place and pure (no I/O):

- ``strip_page`` runs on the *whole page*, before extraction, with network rules for
  resources and element-hiding rules. Element-hiding rules are
  written against the page as the browser sees it: they name the origin's classes and ids
  (``.ad-leaderboard``, ``#taboola-below``) and its structure (``.sidebar > .widget``).
  The extractor rebuilds the article without those attributes or ancestors, so after
  extraction the rules would no longer match anything. Removing the ads first also keeps
  them from being mistaken for article text.
- ``strip_junk`` runs on the extracted body: network rules again (the extractor may add a
  lead image), tracking pixels, class/id patterns of reader-mode junk, and tracking
  parameters on every URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

from mirror.filters import RESOURCE_TYPES, StripRules, compile_selector
from mirror.urls import clean_url, map_urls, parse_srcset

# Class/id tokens that mark something other than the article, drawn from EasyList's generic
# element-hiding rules for the most common WordPress and news themes. Applied to the
# extracted body only: on a whole page they would match wrappers such as "has-share-bar".
JUNK_PATTERN = re.compile(
    r"(^|[-_\s])(ad|ads|adsbygoogle|advert\w*|sponsor\w*|promo\w*|share\w*|sharedaddy|"
    r"social|popup|modal|newsletter|subscribe|cookie\w*|related|taboola|outbrain|"
    r"jp-relatedposts|addtoany|a2a_kit|disqus\w*)($|[-_\s])",
    re.IGNORECASE,
)
PIXEL_MAX = 2
RESOURCE_ATTRIBUTES = ("src", "href", "data", "poster")
NEVER_REMOVED = frozenset({"html", "head", "body"})
PAGE_RESOURCES = frozenset(RESOURCE_TYPES) - {"a"}
_PARENTHESISED = re.compile(r"\([^()]*\)")
_WORD = re.compile(r"[\w-]+")
_NAMED = re.compile(r"[.#]([\w-]+)")
_ATTRIBUTE_TEST = re.compile(
    r"\[\s*([\w-]+)\s*(?:([~|^$*]?=)\s*(?:\"([^\"]*)\"|'([^']*)'|([^\]\s]*)))?\s*[iIsS]?\s*\]"
)
# Words on nearly every page: requiring them would rule nothing out.
_EVERYWHERE = frozenset(
    {"href", "src", "class", "style", "title", "alt", "rel", "type", "name", "http", "https"}
    | {"www", "com", "net", "org", "html", "div", "span"}
)
# Where an attribute operator pins the value's edge, a word at that edge is whole.
_ANCHORS_START = frozenset({"=", "^=", "~=", "|="})
_ANCHORS_END = frozenset({"=", "$=", "~="})
# Elements with attributes: the others add nothing to the page's classes, ids or markup,
# and skipping them in C saves making a Python object for each.
_WITH_ATTRIBUTES = etree.XPath("descendant-or-self::*[@*]")


@dataclass(frozen=True)
class StripReport:
    """What the stage removed, for metrics."""

    elements: int
    params: int


def strip_page(page: HtmlElement, page_url: str, rules: StripRules) -> int:
    """Remove blocked resources and hidden elements from the whole ``page``; URLs absolute.

    Links are left to ``strip_junk``: a page has hundreds, the article a few.
    """
    classes: set[str] = set()
    ids: set[str] = set()
    markup: list[str] = []
    for element in _WITH_ATTRIBUTES(page):
        attributes = element.attrib
        for item in attributes.items():
            markup += item
        classes.update((attributes.get("class") or "").split())
        if attributes.get("id"):
            ids.add(attributes["id"])
    resources = page.iter(*PAGE_RESOURCES)
    blocked = [e for e in _elements(resources) if _is_blocked(e, page_url, rules)]
    selectors = rules.engine.hiding_selectors(page_url, classes, ids)
    hidden = _select(page, _present(selectors, " ".join(markup).lower()))
    own = _select(page, rules.site(page_url).remove)
    return _unlink(page, blocked) + _remove(page, [*hidden, *own])


def strip_junk(body: HtmlElement, page_url: str, rules: StripRules) -> StripReport:
    """Remove ads, trackers, pixels and tracking parameters from an extracted ``body``."""
    elements = [e for e in _elements(body.iter()) if e is not body]
    blocked = [e for e in elements if e.tag in RESOURCE_TYPES and _is_blocked(e, page_url, rules)]
    junk = [e for e in elements if _is_junk(e)]
    removed = _unlink(body, blocked) + _remove(body, junk)
    return StripReport(elements=removed, params=_clean_params(body, rules))


def _elements(nodes: Iterable[object]) -> Iterator[HtmlElement]:
    """Elements only: lxml also yields comments and processing instructions."""
    return (n for n in nodes if isinstance(n, HtmlElement) and isinstance(n.tag, str))


def _remove(root: HtmlElement, doomed: list[HtmlElement]) -> int:
    """Drop each element with its content (the page root and body excepted)."""
    removed = 0
    for element in doomed:
        if element.tag not in NEVER_REMOVED and element is not root and _within(root, element):
            element.drop_tree()
            removed += 1
    return removed


def _unlink(root: HtmlElement, blocked: list[HtmlElement]) -> int:
    """Drop blocked resources; a link to a blocked host keeps its text and loses the link.

    Anchors are not among the elements the lists block by resource, yet an ad click-through
    is a tracker: the words stay, the request goes.
    """
    links = [e for e in blocked if e.tag == "a" and e is not root]
    for link in links:
        link.drop_tag()
    return len(links) + _remove(root, [e for e in blocked if e.tag != "a"])


def _within(root: HtmlElement, element: HtmlElement) -> bool:
    """False once an ancestor was dropped: the element went with it, and is not counted."""
    top = element
    while (parent := top.getparent()) is not None:
        top = parent
    return top is root


def _resource_urls(element: HtmlElement) -> Iterator[str]:
    for attribute in RESOURCE_ATTRIBUTES:
        value = element.get(attribute)
        if value:
            yield value.strip()
    for url, _ in parse_srcset(element.get("srcset") or ""):
        yield url


def _is_blocked(element: HtmlElement, page_url: str, rules: StripRules) -> bool:
    tag = str(element.tag)
    return any(
        rules.engine.blocks(url, page_url, tag)
        for url in _resource_urls(element)
        if url.startswith(("http://", "https://"))
    )


def _present(selectors: Iterable[str], lowered_markup: str) -> list[str]:
    """The selectors whose required word occurs in the page's attributes (a cheap prefilter).

    Most of EasyList's few hundred generic selectors name an ad server's URL or an ad
    widget's id; on any one page nearly all are absent. A selector's word is searched for
    in the attribute text; a whole word must also stand alone there, which a pattern checks
    for the few words found (splitting all of a page's attributes into words costs more).
    """
    kept = []
    for selector in selectors:
        required = _required_word(selector)
        if required is None or (
            required[0] in lowered_markup
            and (not required[1] or _stands_alone(required[0], lowered_markup))
        ):
            kept.append(selector)
    return kept


def _stands_alone(word: str, text: str) -> bool:
    """Whether ``word`` (made of ``_WORD`` characters) occurs in ``text`` as a whole word.

    The pattern starts with the word itself, which the regex engine finds fast; the
    character before each find is checked apart (a look-behind first would be slow).
    """
    for found in _word_then_boundary(word).finditer(text):
        start = found.start()
        if start == 0 or not _WORD.match(text, start - 1):
            return True
    return False


@lru_cache(maxsize=8192)
def _word_then_boundary(word: str) -> re.Pattern[str]:
    return re.compile(re.escape(word) + r"(?![\w-])")


@lru_cache(maxsize=8192)
def _required_word(selector: str) -> tuple[str, bool] | None:
    """A word that any element matching ``selector`` carries in its attributes, and whether
    it stands whole there (bounded by non-word characters) or may be part of a longer word.

    Words inside parentheses (``:not(...)``, ``:has(...)``) are not required, so they are
    cut first; None means no word is safe to require, and the selector is always tried.
    """
    outer = selector
    while _PARENTHESISED.search(outer):
        outer = _PARENTHESISED.sub("", outer)
    if "," in outer:
        return None
    found: list[tuple[str, bool]] = []
    for test in _ATTRIBUTE_TEST.finditer(outer):
        name, operator = test.group(1), test.group(2) or ""
        found.append((name, True))
        value = next((g for g in test.groups()[2:] if g is not None), "")
        for word in _WORD.finditer(value):
            left = word.start() > 0 or operator in _ANCHORS_START
            right = word.end() < len(value) or operator in _ANCHORS_END
            found.append((word.group(), left and right))
    found += [(name, True) for name in _NAMED.findall(_ATTRIBUTE_TEST.sub("", outer))]
    usable = [(w.lower(), whole) for w, whole in found if len(w) >= 3]
    usable = [(w, whole) for w, whole in usable if w not in _EVERYWHERE]
    if not usable:
        return None
    return max(usable, key=lambda item: (item[1], len(item[0])))


def _select(page: HtmlElement, selectors: Iterable[str]) -> list[HtmlElement]:
    found: list[HtmlElement] = []
    for selector in selectors:
        compiled = compile_selector(selector)
        if compiled is not None:
            result = compiled(page)
            if isinstance(result, list):
                found += _elements(result)
    return found


def _is_junk(element: HtmlElement) -> bool:
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(JUNK_PATTERN.search(marks)) or (element.tag == "img" and _is_pixel(element))


def _is_pixel(img: HtmlElement) -> bool:
    style = img.get("style", "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style or img.get("hidden") is not None:
        return True
    sizes = [img.get("width", ""), img.get("height", "")]
    return any(s.strip().isdigit() and int(s) <= PIXEL_MAX for s in sizes)


def _clean_params(body: HtmlElement, rules: StripRules) -> int:
    changed = 0

    def clean(url: str) -> str:
        nonlocal changed
        cleaned = clean_url(url, rules.site(url).keep_params)
        changed += cleaned != url
        return cleaned

    map_urls(body, clean)
    return changed
