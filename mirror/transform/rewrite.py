"""Render-time rewriting: origin URLs in a stored body become mirror URLs.

Runs per response on the small, already sanitised body, so stored pages stay free of
mirror URLs. Links to mirrored pages become ``/m/<token>``; images (``src``, ``srcset``,
``<picture><source>``, ``<video poster>``) become ``/r/<token>``, so the reader's browser
asks only the mirror; an inline ``data:`` raster image (allowed by the sanitiser) stays.
Links elsewhere stay direct, open without a referrer, and carry a visible mark that they
leave the mirror; fragments and ``mailto:`` links are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement

from mirror.links import Kind, LinkBuilder
from mirror.transform.responsive import Cost, Offering, offer_pictures
from mirror.transform.urls import format_srcset, parse_srcset

# The visible mark ("↗") is drawn by the stylesheet on this class, so the article's text
# stays exactly the origin's.
EXTERNAL_CLASS = "external"
IMAGE_ELEMENTS = frozenset({"img", "source", "video"})
IMAGE_ATTRIBUTES = ("src", "poster")
IMAGE_PREFIX = f"/{Kind.IMAGE.value}/"


def rewrite_body(body_html: str, links: LinkBuilder, is_mirrored: Callable[[str], bool]) -> str:
    """``body_html`` with every origin URL pointed at the mirror (or marked external)."""
    return offered_body(body_html, links, is_mirrored)[0]


def offered_body(
    body_html: str,
    links: LinkBuilder,
    is_mirrored: Callable[[str], bool],
    offering: Offering | None = None,
) -> tuple[str, Cost]:
    """``rewrite_body``, its pictures offered as ``offering`` says (``transform.responsive``:
    every width and format, or links in the ``none`` mode), and what they cost."""
    if not body_html.strip():
        return "", Cost()
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    cost = Cost()
    if offering is not None:
        cost = offer_pictures(root, lambda url: image_path(url, links), offering)
    return _rewritten(root, links, is_mirrored), cost


def _rewritten(root: HtmlElement, links: LinkBuilder, is_mirrored: Callable[[str], bool]) -> str:
    for anchor in root.iter("a"):
        _rewrite_anchor(anchor, links, is_mirrored)
    for element in root.iter(*IMAGE_ELEMENTS):
        _rewrite_image(element, links)
    return (root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root
    )


def image_path(url: str, links: LinkBuilder) -> str:
    return links.path(url, Kind.IMAGE) if _is_web(url) else ""


def _proxied(url: str, links: LinkBuilder) -> str:
    """A mirror path for ``url``; one already made (an offered picture's file) is kept."""
    return url if url.startswith(IMAGE_PREFIX) else image_path(url, links)


def _is_web(url: str) -> bool:
    try:
        return urlsplit(url).scheme in {"http", "https"}
    except ValueError:  # unparseable (``http://[::1``): no link to make
        return False


def _rewrite_anchor(
    anchor: HtmlElement, links: LinkBuilder, is_mirrored: Callable[[str], bool]
) -> None:
    href = anchor.get("href")
    if href is None or not _is_web(href):
        return
    if is_mirrored(href):
        anchor.set("href", links.path(href, Kind.PAGE))
        return
    anchor.set("rel", "noopener noreferrer")
    anchor.set("class", EXTERNAL_CLASS)
    anchor.set("title", "Leaves the mirror")


def _rewrite_image(element: HtmlElement, links: LinkBuilder) -> None:
    for attribute in IMAGE_ATTRIBUTES:
        url = element.get(attribute)
        if url is None or (element.tag == "img" and url.startswith("data:image/")):
            continue
        proxied = _proxied(url, links)
        if proxied:
            element.set(attribute, proxied)
        else:
            del element.attrib[attribute]
    srcset = element.get("srcset")
    if srcset is not None:
        candidates = [(_proxied(u, links), d) for u, d in parse_srcset(srcset)]
        element.set("srcset", format_srcset([(u, d) for u, d in candidates if u]))
    if element.tag == "img":
        element.set("loading", "lazy")
