"""Helpers that read served HTML the way a reader sees it."""

from __future__ import annotations

import re

import lxml.html


def visible_text(html: str) -> str:
    """The page's text with whitespace folded, as the checks compare it."""
    return fold(lxml.html.document_fromstring(html).text_content())


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assert_in_order(haystack: str, needles: list[str]) -> None:
    position = 0
    for needle in needles:
        found = haystack.find(fold(needle), position)
        assert found >= 0, f"missing or out of order: {needle[:60]!r}"
        position = found + len(fold(needle))
