from __future__ import annotations

import lxml.html

from mirror.transform.reader.linkeddata import linked_data


def _page(*scripts: str) -> lxml.html.HtmlElement:
    tags = "".join(f'<script type="application/ld+json">{s}</script>' for s in scripts)
    return lxml.html.document_fromstring(f"<html><head>{tags}</head><body></body></html>")


def test_article_node_found_in_a_graph() -> None:
    data = """{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "S"},
      {"@type": ["NewsArticle"], "headline": " A  headline ", "datePublished": "2019-11-18T10:00Z",
       "author": [{"@type": "Person", "name": "Ann Writer"}]}]}"""
    found = linked_data(_page("{not json", data))
    assert found.headline == "A headline"
    assert found.published == "2019-11-18T10:00Z"
    assert found.author == "Ann Writer"


def test_no_article_node_gives_empty_fields() -> None:
    found = linked_data(_page('{"@type": "Organization", "name": "Org"}', "[1, 2, null]"))
    assert found.headline == found.author == found.published == ""


def test_deep_nesting_is_bounded() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert linked_data(_page(deep)).headline == ""
