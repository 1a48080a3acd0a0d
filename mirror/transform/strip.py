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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from lxml.html import HtmlElement

from mirror.transform.filters import RESOURCE_TYPES, StripRules, compile_selectors
from mirror.transform.hiding import PageAttributes
from mirror.transform.urls import clean_url, map_urls, parse_srcset

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
# Scripts and stylesheets never reach a reader (extraction and the sanitiser drop every one),
# so the page pass does not ask the lists about them; the body pass checks every type.
PAGE_RESOURCES = tuple(sorted(set(RESOURCE_TYPES) - {"a", "script", "link"}))


@dataclass(frozen=True)
class StripReport:
    """What the stage removed, for metrics."""

    elements: int
    params: int


def strip_page(page: HtmlElement, page_url: str, rules: StripRules) -> int:
    """Remove blocked resources and hidden elements from the whole ``page``, whose resource
    URLs are absolute (``mirror.transform.hiding`` says how the hiding rules stay cheap).

    Links are left to ``strip_junk``: a page has hundreds, the article a few.
    """
    attributes = PageAttributes(page)
    resources = page.iter(*PAGE_RESOURCES)
    blocks = _blocked_requests(page_url, rules)
    blocked = [e for e in _elements(resources) if _is_blocked(e, blocks)]
    selectors = rules.engine.hiding_selectors(page_url, attributes.classes, attributes.ids)
    hidden = attributes.possible(selectors, rules.engine.generic)
    own = rules.site(page_url).remove
    return _unlink(page, blocked) + _remove(page, _select(page, [*hidden, *own]))


def strip_junk(body: HtmlElement, page_url: str, rules: StripRules) -> StripReport:
    """Remove ads, trackers, pixels and tracking parameters from an extracted ``body``."""
    elements = [e for e in _elements(body.iter()) if e is not body]
    blocks = _blocked_requests(page_url, rules)
    blocked = [e for e in elements if e.tag in RESOURCE_TYPES and _is_blocked(e, blocks)]
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


def _blocked_requests(page_url: str, rules: StripRules) -> Callable[[str, str], bool]:
    """Whether the lists block a request for a URL by an element (by tag) of ``page_url``.

    Each URL and tag is asked once: a page names an image in its ``src``, its ``srcset``
    and its ``<picture>`` sources, and a quarter of the checks on the benchmark pages
    repeated one already made.
    """

    @cache
    def blocks(url: str, tag: str) -> bool:
        return rules.engine.blocks(url, page_url, tag)

    return blocks


def _is_blocked(element: HtmlElement, blocks: Callable[[str, str], bool]) -> bool:
    tag = str(element.tag)
    for url in _resource_urls(element):
        if url.startswith(("http://", "https://")) and blocks(url, tag):
            return True
    return False


def _select(page: HtmlElement, selectors: Iterable[str]) -> list[HtmlElement]:
    found: list[HtmlElement] = []
    for compiled in compile_selectors(tuple(selectors)):
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
