"""The article's schema.org JSON-LD (``<script type="application/ld+json">``), read safely.

Publishers fill it for search engines, so it is often the cleanest source of headline,
author and date. It is hostile input like the rest of the page: bad JSON is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lxml.html import HtmlElement

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNews",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "TechArticle",
        "ScholarlyArticle",
        "LiveBlogPosting",
    }
)
MAX_NODES = 2000
SCRIPT_TYPE = "application/ld+json"


@dataclass(frozen=True)
class LinkedData:
    """Headline, first author and publication date of the page's article node."""

    headline: str = ""
    author: str = ""
    published: str = ""


def linked_data(page: HtmlElement) -> LinkedData:
    """The first article-typed JSON-LD node's fields; empty when there is none."""
    for script in page.iter("script"):
        if script.get("type") != SCRIPT_TYPE:
            continue
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        node = _article_node(data)
        if node is not None:
            return LinkedData(
                headline=_text(node.get("headline")),
                author=_author(node.get("author")),
                published=_text(node.get("datePublished")),
            )
    return LinkedData()


def _article_node(data: object) -> dict[str, object] | None:
    stack, seen = [data], 0
    while stack and seen < MAX_NODES:
        item = stack.pop(0)
        seen += 1
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k in ARTICLE_TYPES for k in kinds):
                return item
            stack.extend(v for v in item.values() if isinstance(v, (list, dict)))
    return None


def _author(value: object) -> str:
    if isinstance(value, list):
        return _author(value[0]) if value else ""
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""
