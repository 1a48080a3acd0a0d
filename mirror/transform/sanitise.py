"""Sanitising: an allowlist, applied by ammonia (through ``nh3``) after our own transforms.

Only article markup survives: no script, style, frame, object, form, ``<base>`` or
``<meta>``; no ``on*``, ``style``, ``srcdoc`` or ``formaction`` attribute; URLs limited to
http(s) and mailto (relative URLs were made absolute before this stage, and fragments
are kept), and ``data:`` only for a raster image's ``src``. SVG and MathML are dropped
whole, so no namespace confusion can survive. Anything not listed here is dropped, so new
browser features are refused by default.

nh3 0.3.8 bundles ammonia 4.2.5, which has the 2025 fix for mutation XSS through SVG and
MathML namespace changes (RUSTSEC-2025-0071, fixed in 4.1.2) and the later ones for MathML
``annotation-xml`` and SVG ``animate``/``set`` (fixed in 4.1.3 and 4.1.4); the lower bound
in ``pyproject.toml`` keeps it so.
"""

from __future__ import annotations

import re

import nh3

from mirror.transform.urls import format_srcset, parse_srcset

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "picture",
        "pre",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "source",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
    }
)
# Removed together with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "template",
        "iframe",
        "object",
        "embed",
        "noscript",
        "svg",
        "math",
        "form",
        "textarea",
        "select",
        "button",
        "title",
        "noembed",
        "noframes",
        "xmp",
    }
)
GLOBAL_ATTRIBUTES = frozenset({"lang", "dir", "title", "id"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(GLOBAL_ATTRIBUTES),
    "a": {"href"},
    "img": {"src", "srcset", "alt", "width", "height", "sizes"},
    "source": {"srcset", "type", "media", "sizes"},
    "video": {"poster", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
# The one place a data: URL may stay: an inline raster image, which cannot run script.
RASTER_DATA_URL = re.compile(
    r"data:image/(png|jpeg|gif|webp|avif|bmp);base64,[a-z0-9+/=\s]*\Z", re.IGNORECASE
)
WEB_SCHEMES = ("http://", "https://")
URL_PREFIXES = (*WEB_SCHEMES, "mailto:", "#")
# Checked here too, not only by ammonia, which leaves some (``cite``) unchecked.
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster"})


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """URLs: web, mailto or fragment only, ``data:`` only in an image's ``src``."""
    if attribute == "srcset":
        candidates = [(u, d) for u, d in parse_srcset(value) if u.lower().startswith(WEB_SCHEMES)]
        return format_srcset(candidates) or None
    if attribute not in URL_ATTRIBUTES:
        return value
    url = value.strip()
    if tag == "img" and attribute == "src" and RASTER_DATA_URL.match(url):
        return value
    return value if url.lower().startswith(URL_PREFIXES) else None


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    attribute_filter=_filter_attribute,
    link_rel=None,
    strip_comments=True,
)


def sanitise(html: str) -> str:
    """The allowlisted subset of ``html``; sanitising the result again changes nothing."""
    return _CLEANER.clean(html)
