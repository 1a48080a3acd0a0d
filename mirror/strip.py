"""Strip ads, trackers and widgets from an extracted article body.

A first rule set: hosts of ad networks and trackers (``data/blocked-hosts.txt``), class and
id patterns that mark ads, share bars and popups, tracking pixels (1x1 or hidden images),
and tracking query parameters on every URL. Works in place on the lxml element that the
extract stage produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from mirror.urls import clean_url, data_lines, iter_url_attributes, map_urls, parse_srcset

# Class/id tokens that mark something other than the article, drawn from EasyList's generic
# element-hiding rules for the most common WordPress and news themes.
JUNK_PATTERN = re.compile(
    r"(^|[-_\s])(ad|ads|adsbygoogle|advert\w*|sponsor\w*|promo\w*|share\w*|sharedaddy|"
    r"social|popup|modal|newsletter|subscribe|cookie\w*|related|taboola|outbrain|"
    r"jp-relatedposts|addtoany|a2a_kit|disqus\w*)($|[-_\s])",
    re.IGNORECASE,
)
PIXEL_MAX = 2


@dataclass(frozen=True)
class StripReport:
    """What the stage removed, for metrics."""

    elements: int
    params: int


@cache
def _blocked() -> tuple[frozenset[str], tuple[str, ...]]:
    entries = data_lines("blocked-hosts.txt")
    hosts = frozenset(e for e in entries if "/" not in e)
    paths = tuple(e for e in entries if "/" in e)
    return hosts, paths


def is_blocked_url(url: str) -> bool:
    """True when ``url`` points at a known ad or tracker host (or host/path prefix)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    hosts, paths = _blocked()
    labels = host.split(".")
    suffixes = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if any(suffix in hosts for suffix in suffixes):
        return True
    return any(f"{suffix}{parts.path}".startswith(paths) for suffix in suffixes)


def strip_junk(body: HtmlElement) -> StripReport:
    """Remove ads, trackers, widgets and tracking parameters from ``body`` in place."""
    doomed = [e for e in body.iter() if isinstance(e.tag, str) and _is_junk(e)]
    removed = 0
    for element in doomed:
        if element.getparent() is not None and element is not body:
            element.drop_tree()
            removed += 1
    params = _clean_params(body)
    return StripReport(elements=removed, params=params)


def _is_junk(element: HtmlElement) -> bool:
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    if JUNK_PATTERN.search(marks):
        return True
    if element.tag == "img" and _is_pixel(element):
        return True
    return any(_points_at_blocked(element, attribute) for _, attribute in _own_urls(element))


def _own_urls(element: HtmlElement) -> list[tuple[HtmlElement, str]]:
    return [(e, a) for e, a in iter_url_attributes(element) if e is element]


def _points_at_blocked(element: HtmlElement, attribute: str) -> bool:
    value = element.get(attribute, "")
    urls = [u for u, _ in parse_srcset(value)] if attribute == "srcset" else [value]
    return any(is_blocked_url(u) for u in urls)


def _is_pixel(img: HtmlElement) -> bool:
    style = img.get("style", "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style or img.get("hidden") is not None:
        return True
    sizes = [img.get("width", ""), img.get("height", "")]
    return any(s.isdigit() and int(s) <= PIXEL_MAX for s in sizes)


def _clean_params(body: HtmlElement) -> int:
    changed = 0

    def clean(url: str) -> str:
        nonlocal changed
        cleaned = clean_url(url)
        changed += cleaned != url
        return cleaned

    map_urls(body, clean)
    return changed
