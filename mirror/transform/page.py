"""The pure middle of the pipeline: a decoded page in, a clean article out.

    parse → drop SVG and scripts → promote lazy images → absolutize → strip the page →
    extract → absolutize the body → strip the body → sanitise (last)

No I/O and nothing of aiohttp: benchmarks, ``mirror extract``, the export and the server
all run exactly this.
"""

from __future__ import annotations

from dataclasses import replace

import lxml.html
from lxml.html import HtmlElement

from mirror.article import Article
from mirror.counters import count, count_stripped
from mirror.transform.filters import StripRules, default_rules
from mirror.transform.reader.extract import extract_article
from mirror.transform.reader.parse import drop_never_read, parse_page
from mirror.transform.reader.siterules import ReaderModeRules
from mirror.transform.sanitise import sanitise
from mirror.transform.strip import PAGE_RESOURCES, strip_junk, strip_page
from mirror.transform.urls import absolutize, clean_url, document_base, promote_lazy_images


def process_page(
    text: str,
    url: str,
    rules: StripRules | None = None,
    site_rules: ReaderModeRules | None = None,
) -> Article:
    """prepare the page → extract → clean the body; pure, no I/O.

    ``rules`` are the ad and tracker lists; ``site_rules`` the reader-mode rules per site.
    """
    rules = rules or default_rules()
    page, base = prepare_page(text, url, rules)
    article, content = extract_article(page, url, site_rules)
    if article.full_page:
        count("extraction_fallback")
    clean = clean_body(content, url, base, rules)
    return replace(article, url=clean_url(url, rules.site(url).keep_params), body=clean)


def prepare_page(text: str, url: str, rules: StripRules) -> tuple[HtmlElement, str]:
    """Parse once → drop SVG and unread scripts → promote lazy images → absolutize
    resources → strip ads; the page and its base URL (``<base href>`` honoured, before the
    sanitiser removes it).

    Ad rules run on the whole page, before extraction (``strip.strip_page`` says why); lazy
    images are promoted and the URLs of the resources they check made absolute first, so
    that the rules see the requests a browser would make. Links wait for ``clean_body``: a
    page has hundreds, the article a few.
    """
    page = parse_page(text)
    drop_never_read(page)
    base = document_base(page, url)
    promote_lazy_images(page)
    absolutize(page, base, PAGE_RESOURCES)
    count_stripped(strip_page(page, url, rules), 0)
    return page, base


def clean_body(content: HtmlElement, url: str, base: str, rules: StripRules) -> str:
    """Absolutize what extraction kept, strip it (pixels, trackers, parameters), then
    sanitise, last."""
    absolutize(content, base)
    before = len(lxml.html.tostring(content, encoding="unicode"))
    report = strip_junk(content, url, rules)
    stripped = lxml.html.tostring(content, encoding="unicode")
    count_stripped(report.elements, before - len(stripped))
    return sanitise(stripped)
