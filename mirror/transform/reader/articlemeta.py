"""What the page says about its article: title, byline, date, language, lead image.

A site rule's ``title:``, ``author:`` and ``date:`` XPath win; then the page's own markup,
in the order publishers fill it most reliably: Open Graph and ``article:`` meta, JSON-LD,
``<meta name>``, ``<time>``, ``<title>``. (trafilatura's metadata reader does more, with
htmldate, but costs more than the whole body extraction.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, partial
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from mirror.article import LeadImage
from mirror.transform.reader.linkeddata import linked_data
from mirror.transform.reader.siterules import SiteRule
from mirror.transform.textdir import guess_language

_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
TITLE_KEYS = ("og:title", "twitter:title")
TITLE_PATHS = (etree.XPath("(//h1)[1]//text()"), etree.XPath("//title/text()"))
AUTHOR_KEYS = ("author", "article:author")
# Paths that find an element by an attribute's value walk that attribute's values, not
# every element (``//@rel[. = 'author']/parent::a``, not ``//a[@rel='author']``): the same
# nodes, in the same order, for a fifth of the time.
AUTHOR_PATHS = (etree.XPath("(//@rel[. = 'author']/parent::a)[1]//text()"),)
DATE_KEYS = ("article:published_time", "datepublished", "date", "pubdate", "publishdate")
DATE_PATHS = (
    etree.XPath("//@itemprop[. = 'datePublished']/parent::*/@datetime"),
    etree.XPath("(//time/@datetime)[1]"),
)


@dataclass(frozen=True)
class PageMeta:
    """The article's metadata, read from the page before the body is chosen."""

    title: str = ""
    byline: str = ""
    published: str = ""
    lang: str = ""
    site_name: str = ""
    kind: str = ""
    lead_image: LeadImage | None = None

    def place_lead_image(self, body: HtmlElement) -> None:
        """Put the lead image at the top of the body unless the body already shows it."""
        lead = self.lead_image
        if lead is None or any(img.get("src") == lead.src for img in body.iter("img")):
            return
        figure = lxml.html.Element("figure")
        img = lxml.html.Element("img", src=lead.src, alt=lead.alt)
        if lead.srcset:
            img.set("srcset", lead.srcset)
        figure.append(img)
        body.insert(0, figure)


def read_meta(page: HtmlElement, url: str, rule: SiteRule | None) -> PageMeta:
    """Metadata of ``page``: the site rule's parts first, then the page's own markup."""
    metas = _meta_values(page)
    linked = cache(partial(linked_data, page))  # JSON-LD is parsed only when needed
    return PageMeta(
        title=_rule_text(page, rule, "title")
        or _first(metas, TITLE_KEYS)
        or _first_path(page, TITLE_PATHS)
        or linked().headline,
        byline=_rule_text(page, rule, "author")
        or _first(metas, AUTHOR_KEYS)
        or _first_path(page, AUTHOR_PATHS)
        or linked().author,
        published=_date(
            _rule_text(page, rule, "date")
            or _first(metas, DATE_KEYS)
            or _first_path(page, DATE_PATHS)
            or linked().published
        ),
        lang=_language(page, metas),
        site_name=metas.get("og:site_name", ""),
        kind=metas.get("og:type", "").lower(),
        lead_image=_lead_image(page, url, metas.get("og:image", "")),
    )


def _meta_values(page: HtmlElement) -> dict[str, str]:
    """Every ``<meta>``'s content by its lower-cased property, name, itemprop or http-equiv
    (the first of each wins), read in one pass over the page."""
    values: dict[str, str] = {}
    for meta in page.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        key = key or meta.get("http-equiv") or ""
        content = " ".join((meta.get("content") or "").split())
        if key and content and key.lower() not in values:
            values[key.lower()] = content
    return values


def _first(metas: dict[str, str], keys: tuple[str, ...]) -> str:
    """The first of ``keys`` with a value that is not a URL (``article:author`` may be one)."""
    return next((metas[k] for k in keys if k in metas and "://" not in metas[k]), "")


def _first_path(page: HtmlElement, paths: tuple[etree.XPath, ...]) -> str:
    for path in paths:
        found = path(page)
        for value in found if isinstance(found, list) else ():
            text = " ".join(str(value).split())
            if text:
                return text
    return ""


def _rule_text(page: HtmlElement, rule: SiteRule | None, part: str) -> str:
    if rule is None:
        return ""
    for node in rule.first(page, getattr(rule, part)):
        text = node.text_content() if isinstance(node, HtmlElement) else str(node)
        if text.strip():
            return " ".join(text.split())
    return ""


def _date(text: str) -> str:
    """An ISO date (``2018-11-16``) from ISO timestamps or CJK dates (``2018年11月16日``)."""
    match = _DATE.search(text)
    if match is None:
        return ""
    year, month, day = (g for g in match.groups() if g is not None)
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _language(page: HtmlElement, metas: dict[str, str]) -> str:
    declared = [
        page.get("lang") or page.get("{http://www.w3.org/XML/1998/namespace}lang") or "",
        metas.get("content-language", "").split(",")[0].strip(),
        metas.get("og:locale", "").replace("_", "-"),
    ]
    for lang in declared:
        if _LANG.fullmatch(lang):
            return lang
    body = page.find("body")
    return guess_language(body.text_content() if body is not None else "")


def _lead_image(page: HtmlElement, url: str, og_image: str) -> LeadImage | None:
    if not og_image:
        return None
    src = urljoin(url, og_image)
    name = src.rsplit("/", 1)[-1]
    for img in page.iter("img"):
        if name in (img.get("src") or "") and urljoin(url, img.get("src") or "") == src:
            return LeadImage(src=src, srcset=img.get("srcset", ""), alt=img.get("alt", ""))
    return LeadImage(src=src)
