"""URL helpers shared by the transform stages: absolutising, srcset, tracking parameters.

Pure functions over strings and lxml elements; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml.html import HtmlElement

# Attributes that hold one URL, by element; srcset-like attributes are handled apart.
URL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "link": ("href",),
    "script": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "area": ("href",),
    "img": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "q": ("cite",),
    "blockquote": ("cite",),
    "del": ("cite",),
    "ins": ("cite",),
}
SRCSET_ATTRIBUTES = ("srcset",)
# Lazy-loading scripts keep the real image here and a placeholder (or nothing) in src; with
# scripts gone, the real one must be promoted, or the reader sees a blank.
LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url")
LAZY_SRCSETS = ("data-srcset", "data-lazy-srcset")
LAZY_ELEMENTS = ("img", "source", "video")
_SRCSET_SPLIT = re.compile(r",\s+|,(?=\S+\s+\d)")
# Browsers drop tabs and newlines inside a URL and C0 controls around it; we drop them all,
# which also keeps lxml from refusing the value (it rejects control characters).
_URL_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\t\n\r]")
# Any element may carry a srcset.
_SRCSETS = etree.XPath("|".join(f"descendant-or-self::*/@{name}" for name in SRCSET_ATTRIBUTES))


def data_lines(name: str) -> list[str]:
    """Non-comment lines of a data file shipped in ``mirror/data``."""
    text = files("mirror.transform").joinpath("data", name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


@cache
def _tracking_rules() -> tuple[frozenset[str], tuple[str, ...]]:
    names = data_lines("tracking-params.txt")
    exact = frozenset(n.lower() for n in names if not n.endswith("*"))
    prefixes = tuple(n[:-1].lower() for n in names if n.endswith("*"))
    return exact, prefixes


def is_tracking_param(name: str, keep: frozenset[str] = frozenset()) -> bool:
    """True for a parameter on the tracking list, unless ``keep`` (lower case) names it."""
    exact, prefixes = _tracking_rules()
    lowered = name.lower()
    return lowered not in keep and (lowered in exact or lowered.startswith(prefixes))


def clean_url(url: str, keep: frozenset[str] = frozenset()) -> str:
    """``url`` without tracking parameters, in the query or in a ``#fragment?query``.

    ``keep`` holds the parameters (lower case) that the URL's site needs (``sites.keep_params``).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return url
    query = _without_tracking(parts.query, keep)
    fragment = parts.fragment
    if "?" in fragment:
        head, _, tail = fragment.partition("?")
        kept = _without_tracking(tail, keep)
        fragment = f"{head}?{kept}" if kept else head
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


def _without_tracking(query: str, keep: frozenset[str]) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k, keep)]
    return query if len(kept) == len(pairs) else urlencode(kept)


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """``"a.jpg 1x, b.jpg 2x"`` → ``[("a.jpg", "1x"), ("b.jpg", "2x")]``."""
    candidates = []
    for item in _SRCSET_SPLIT.split(value.strip()):
        url, _, descriptor = item.strip().partition(" ")
        if url:
            candidates.append((url, descriptor.strip()))
    return candidates


def format_srcset(candidates: list[tuple[str, str]]) -> str:
    return ", ".join(f"{url} {d}".strip() for url, d in candidates)


def iter_url_attributes(
    root: HtmlElement, elements: tuple[str, ...] = tuple(URL_ATTRIBUTES)
) -> Iterator[tuple[HtmlElement, str]]:
    """Every (element, attribute) pair under ``root`` that holds a URL or a srcset.

    The single URLs of ``elements`` come first, then the srcsets, each in document order:
    lxml finds the elements in C, so a page's many other elements never become Python
    objects.
    """
    for element in root.iter(*elements):
        for attribute in URL_ATTRIBUTES.get(str(element.tag), ()):
            if element.get(attribute) is not None:
                yield element, attribute
    for value in _SRCSETS(root):
        yield value.getparent(), value.attrname


def map_urls(
    root: HtmlElement,
    change: Callable[[str], str],
    elements: tuple[str, ...] = tuple(URL_ATTRIBUTES),
) -> None:
    """Replace every URL of ``elements`` under ``root`` by ``change(url)``, srcsets included.

    An attribute is written only when its value changes: most URLs on a page stay as
    they are, and writing them back costs as much as the rest of the walk. A URL that
    cannot be parsed (``http://[::1``) leads nowhere in a browser either: its attribute is
    dropped, so one broken link never costs the reader the page.
    """
    for element, attribute in iter_url_attributes(root, elements):
        original = element.get(attribute, "")
        try:
            changed = _changed(original, attribute, change)
        except ValueError:
            del element.attrib[attribute]
            continue
        if changed != original:
            element.set(attribute, changed)


def _changed(original: str, attribute: str, change: Callable[[str], str]) -> str:
    value = _URL_CONTROLS.sub("", original)
    if attribute in SRCSET_ATTRIBUTES:
        return format_srcset([(change(u), d) for u, d in parse_srcset(value)])
    return change(value.strip())


def promote_lazy_images(root: HtmlElement) -> None:
    """Put lazy-load attributes (``data-src``, ``data-srcset``, ...) in ``src``/``srcset``."""
    for element in root.iter(*LAZY_ELEMENTS):
        if element.tag == "video":
            poster = _first_attribute(element, ("data-poster",))
            if poster:
                element.set("poster", poster)
            continue
        source = _first_attribute(element, LAZY_SOURCES)
        srcset = _first_attribute(element, LAZY_SRCSETS)
        if element.tag == "img" and source:
            element.set("src", source)
        elif source and not srcset:
            srcset = source  # <source data-src> inside <picture>
        if srcset:
            element.set("srcset", srcset)


def _first_attribute(element: HtmlElement, names: tuple[str, ...]) -> str:
    for name in names:
        value = (element.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return ""


def absolutize(
    root: HtmlElement, base: str, elements: tuple[str, ...] = tuple(URL_ATTRIBUTES)
) -> None:
    """Make the URLs of ``elements`` under ``root`` absolute against ``base`` (srcsets on any
    element too); fragments stay fragments."""
    map_urls(root, lambda url: url if url.startswith(_KEPT_AS_IS) else urljoin(base, url), elements)


# Already absolute (most URLs on a page), or a fragment: urljoin would return them unchanged.
_KEPT_AS_IS = ("#", "http://", "https://")


def document_base(page: HtmlElement, url: str) -> str:
    """The base URL of a page: its first ``<base href>`` resolved against ``url``."""
    href = next((b.get("href") for b in page.iter("base") if b.get("href") is not None), None)
    candidate = url if href is None else urljoin(url, href.strip())
    return candidate if urlsplit(candidate).scheme in {"http", "https"} else url
