from __future__ import annotations

import lxml.html

from mirror.transform.reader.articlemeta import read_meta
from mirror.transform.reader.siterules import parse_rule

URL = "https://news.example/2019/11/story"


def _page(head: str, body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_open_graph_and_meta_fill_the_fields() -> None:
    meta = read_meta(
        _page(
            """<title>Story - Site</title><meta property="og:title" content="Story">
            <meta name="author" content="Ann Writer"><meta property="og:site_name" content="Site">
            <meta property="article:published_time" content="2019-11-18T08:00:00Z">
            <meta property="og:image" content="/i/lead.jpg">
            <meta property="og:locale" content="fr_FR">"""
        ),
        URL,
        None,
    )
    assert (meta.title, meta.byline, meta.site_name) == ("Story", "Ann Writer", "Site")
    assert meta.published == "2019-11-18"
    assert meta.lang == "fr-FR"
    assert meta.lead_image is not None
    assert meta.lead_image.src == "https://news.example/i/lead.jpg"


def test_site_rule_wins_and_cjk_dates_are_read() -> None:
    rule = parse_rule("news.example", "title: //h1\ndate: //p[@class='meta']\nauthor: //b")
    meta = read_meta(
        _page(
            '<meta property="og:title" content="Generic">',
            "<h1>Real title</h1><p class='meta'>2018年11月5日</p><b>Zhang San</b>",
        ),
        URL,
        rule,
    )
    assert (meta.title, meta.published, meta.byline) == ("Real title", "2018-11-05", "Zhang San")


def test_json_ld_and_language_guess_as_last_resort() -> None:
    ld = '<script type="application/ld+json">{"@type": "Article", "headline": "LD title",'
    ld += ' "datePublished": "2019-01-02", "author": {"name": "Li Si"}}</script>'
    meta = read_meta(_page(ld, "<p>东京的天气今天很好。</p>"), URL, None)
    assert (meta.title, meta.published, meta.byline) == ("LD title", "2019-01-02", "Li Si")
    assert meta.lang == "zh"
