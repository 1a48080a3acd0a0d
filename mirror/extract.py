"""Reader mode: find the article in a parsed page.

A first version leaning on trafilatura for the body, with metadata read from the page
itself (``<html lang>``, Open Graph, ``<time>``). It takes the tree the pipeline parsed
once and leaves it untouched.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml.html import HtmlElement

from mirror.article import Article, LeadImage

RTL_SHARE = 0.3
_RTL_BIDI = frozenset({"R", "AL"})


def extract_article(page: HtmlElement, url: str) -> tuple[Article, HtmlElement]:
    """The article's metadata and its body as a new element (the page is not modified)."""
    produced = trafilatura.extract(
        page,
        url=url,
        output_format="html",
        include_formatting=True,
        include_links=True,
        include_images=True,
        include_tables=True,
        include_comments=False,
        with_metadata=True,
    )
    document = lxml.html.document_fromstring(produced or "<html><body></body></html>")
    meta = {m.get("name"): m.get("content") or "" for m in document.iter("meta")}
    body = document.find("body")
    if body is None:
        body = lxml.html.Element("div")
    body.tag = "div"
    lead = _lead_image(page, url)
    if lead is not None:
        _ensure_lead_figure(body, lead)
    text = body.text_content()
    article = Article(
        url=url,
        title=meta.get("title") or _page_title(page),
        body="",
        byline=meta.get("author", ""),
        published=meta.get("date", ""),
        lang=_language(page),
        direction=text_direction(text, page.get("dir", "")),
        lead_image=lead,
        site_name=meta.get("sitename", ""),
    )
    return article, body


def text_direction(text: str, declared: str = "") -> str:
    """``rtl`` when the page says so or most strong letters are right-to-left."""
    if declared.lower() in {"rtl", "ltr"}:
        return declared.lower()
    strong = [unicodedata.bidirectional(c) for c in text if c.isalpha()]
    strong = [b for b in strong if b in _RTL_BIDI or b == "L"]
    if strong and sum(b in _RTL_BIDI for b in strong) / len(strong) > RTL_SHARE:
        return "rtl"
    return "ltr"


def _language(page: HtmlElement) -> str:
    lang = page.get("lang") or page.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    return lang if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", lang) else ""


def _page_title(page: HtmlElement) -> str:
    titles = page.xpath("//title/text()")
    return str(titles[0]).strip() if titles else ""


def _lead_image(page: HtmlElement, url: str) -> LeadImage | None:
    og = page.xpath("//meta[@property='og:image']/@content")
    if not og:
        return None
    src = urljoin(url, str(og[0]).strip())
    for img in page.iter("img"):
        if urljoin(url, img.get("src") or "") == src:
            return LeadImage(src=src, srcset=img.get("srcset", ""), alt=img.get("alt", ""))
    return LeadImage(src=src)


def _ensure_lead_figure(body: HtmlElement, lead: LeadImage) -> None:
    """Put the lead image at the top of the body unless the body already shows it."""
    if any(img.get("src") == lead.src for img in body.iter("img")):
        return
    figure = lxml.html.Element("figure")
    img = lxml.html.Element("img", src=lead.src, alt=lead.alt)
    if lead.srcset:
        img.set("srcset", lead.srcset)
    figure.append(img)
    body.insert(0, figure)
