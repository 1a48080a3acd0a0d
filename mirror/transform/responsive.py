"""How an article page offers its pictures: widths through ``srcset``/``sizes``, formats
through ``<picture>``, or in the ``none`` mode a link that says what the picture costs.

Run at render time on the stored body (which keeps the origin's ``<img>`` as it was), so
the variants a mirror offers can change without touching the store. Each ``<img>`` whose
picture is on the web becomes::

    <picture>
      <source type="image/webp" srcset="/r/T/360.webp 360w, /r/T/720.webp 720w, …" sizes="…">
      <img src="/r/T/720.jpeg" srcset="/r/T/360.jpeg 360w, …" sizes="…" alt="…">
    </picture>

with the light mode's names (``360.light.webp``) when the reader chose it. What the mirror
knows of a picture it already made (``PictureInfo``) keeps each width's descriptor true (a
720 px picture offers no 1080 file) and gives the ``<img>`` its ``width``/``height``, so
the text does not move when the picture arrives. A picture not made yet is offered at every
width, its descriptors the widths asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement

from mirror.article import PictureInfo
from mirror.transform.urls import parse_srcset
from mirror.transform.variants import FORMATS, Offer, Variant

# The article column: the page is at most 40rem wide with 1rem of padding each side.
SIZES = "(max-width: 40rem) calc(100vw - 2rem), 38rem"
KB = 1024


@dataclass(frozen=True)
class Labels:
    """The words of a picture left out (``none`` mode), in the reader's language."""

    left_out: str = "Picture left out: %(alt)s"
    left_out_bare: str = "Picture left out"


@dataclass(frozen=True)
class Offering:
    """How one page offers its pictures: the reader's mode, the mirror's offer, and what
    is known of each picture (by its origin URL)."""

    mode: str
    offer: Offer
    infos: Mapping[str, PictureInfo]
    labels: Labels = Labels()


@dataclass(frozen=True)
class Cost:
    """What the pictures of a page cost: how many, how many of them are measured, and the
    bytes of the measured ones at most (each picture's widest file) in each mode."""

    count: int = 0
    measured: int = 0
    light: int = 0
    full: int = 0


def picture_source(image: HtmlElement) -> str | None:
    """The origin file a picture is made from: the widest of its ``srcset`` candidates
    (``w`` descriptors), else its ``src``; None for an inline or non-web picture."""
    best, best_width = image.get("src", ""), 0
    for url, descriptor in parse_srcset(image.get("srcset", "")):
        width = int(descriptor[:-1]) if re.fullmatch(r"[0-9]+w", descriptor) else 0
        if width > best_width and _is_web(url):
            best, best_width = url, width
    return best if _is_web(best) else None


def picture_sources(body_html: str) -> list[str]:
    """The origin files of a stored body's pictures, each once, in order."""
    if not body_html.strip():
        return []
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    found = [picture_source(image) for image in root.iter("img")]
    return list(dict.fromkeys(url for url in found if url))


def offer_pictures(root: HtmlElement, path_of: Callable[[str], str], offering: Offering) -> Cost:
    """Every web picture in ``root`` offered as ``offering`` says (``path_of`` makes a
    picture's ``/r/<token>`` path); what they cost."""
    count = measured = light = full = 0
    for image in list(root.iter("img")):
        source = picture_source(image)
        if source is None:
            continue
        info = offering.infos.get(source)
        count += 1
        if info is not None:
            measured += 1
            light += _widest_file(info, offering.offer, light=True)
            full += _widest_file(info, offering.offer, light=False)
        base = path_of(source)
        if offering.mode == "none":
            _left_out(image, base, info, offering)
        else:
            _offered(image, base, info, offering)
    return Cost(count, measured, light, full)


def size_text(size: int) -> str:
    """``23 KB``, ``1.4 MB``: what a reader on a metered link counts in."""
    if size < KB * KB:
        return f"{max(1, round(size / KB))} KB"
    return f"{size / KB / KB:.1f} MB"


def _offered(image: HtmlElement, base: str, info: PictureInfo | None, offering: Offering) -> None:
    light = offering.mode == "light"
    widths = _widths(offering.offer.widths_for(light), info)
    for attribute in ("srcset", "sizes", "src"):
        image.attrib.pop(attribute, None)
    picture = _picture_around(image)
    for fmt in FORMATS:
        srcset = ", ".join(
            f"{base}/{Variant(asked, fmt, light).name} {real}w" for asked, real in widths
        )
        if fmt == FORMATS[-1]:
            middle = widths[len(widths) // 2][0]
            image.set("src", f"{base}/{Variant(middle, fmt, light).name}")
            image.set("srcset", srcset)
            image.set("sizes", SIZES)
        else:
            source = lxml.html.Element("source", type=Variant(1, fmt).content_type)
            source.set("srcset", srcset)
            source.set("sizes", SIZES)
            picture.insert(picture.index(image), source)
    image.set("loading", "lazy")
    image.set("decoding", "async")
    if info is not None:
        image.set("width", str(info.width))
        image.set("height", str(info.height))


def _widths(asked: tuple[int, ...], info: PictureInfo | None) -> list[tuple[int, int]]:
    """(width asked, width the file has) for each width worth offering: none wider than
    the picture, whose file would only repeat the picture's own size."""
    if info is None:
        return [(width, width) for width in asked]
    offered: list[tuple[int, int]] = []
    for width in asked:
        offered.append((width, min(width, info.width)))
        if width >= info.width:
            break
    return offered


def _picture_around(image: HtmlElement) -> HtmlElement:
    """The ``<picture>`` that holds ``image``: its own (the origin's sources dropped), or
    a new one in its place."""
    parent = _parent(image)
    if parent is not None and parent.tag == "picture":
        for source in parent.findall("source"):
            parent.remove(source)
        return parent
    picture = lxml.html.Element("picture")
    picture.tail, image.tail = image.tail, None
    if parent is not None:
        parent.replace(image, picture)
    picture.append(image)
    return picture


def _left_out(image: HtmlElement, base: str, info: PictureInfo | None, offering: Offering) -> None:
    """The ``none`` mode: the picture becomes a link to its light file, named by its alt
    text and saying how many bytes it will cost."""
    widest = offering.offer.small
    link = lxml.html.Element("a", href=f"{base}/{widest.name}")
    link.set("class", "image-request")
    alt = (image.get("alt") or "").strip()
    labels = offering.labels
    link.text = labels.left_out % {"alt": alt} if alt else labels.left_out_bare
    if info is not None:
        link.text += f" ({size_text(_widest_file(info, offering.offer, light=True))})"
    link.tail = image.tail
    parent = _parent(image)
    if parent is not None and parent.tag == "picture":
        image, parent = parent, parent.getparent()
        link.tail = image.tail
    if parent is not None:
        parent.replace(image, link)


def _parent(image: HtmlElement) -> HtmlElement | None:
    """``image``'s parent, once out of any ``<source>``: libxml2's HTML parser nests what
    follows a ``<source>`` inside it."""
    parent = image.getparent()
    while parent is not None and parent.tag == "source":
        parent.drop_tag()
        parent = image.getparent()
    return parent


def _widest_file(info: PictureInfo, offer: Offer, light: bool) -> int:
    widest = Variant(offer.widths_for(light)[-1], FORMATS[0], light)
    return info.sizes.get(widest.name, 0)


def _is_web(url: str) -> bool:
    return urlsplit(url).scheme in {"http", "https"}
