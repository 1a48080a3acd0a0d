"""Reader mode on pages we wrote ourselves, for structures the benchmark pages lack.

Each ``tests/fixtures/reader/<name>.html`` (hand-written, our own words) has a
``<name>.json`` beside it: the page's URL, the text the reader must keep (``must_contain``,
in order, as a reader sees it: blocks and table cells apart), markup it must keep
(``must_contain_html``), text it must drop (``must_not_contain``), and the article's
language, direction and whether the whole page is served (``full_page``). They go through
the whole pure pipeline, ``process_page``, as the server runs it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import lxml.html
import pytest

from mirror.article import Article
from mirror.transform.page import process_page
from tests.support.paths import FIXTURES
from tests.support.text_checks import assert_in_order, fold

READER = FIXTURES / "reader"
NAMES = sorted(p.stem for p in READER.glob("*.html"))
_APART = ("p", "div", "li", "td", "th", "tr", "br", "h1", "h2", "h3", "h4", "figcaption",
          "blockquote", "caption", "table", "figure")  # fmt: skip


def _run(name: str) -> tuple[Article, dict[str, Any]]:
    expected = json.loads((READER / f"{name}.json").read_text("utf-8"))
    html = (READER / f"{name}.html").read_text("utf-8")
    return process_page(html, expected["url"]), expected


def reader_text(body: str) -> str:
    """The body's text as a reader sees it: blocks, rows and cells apart, inline runs not."""
    root = copy.deepcopy(lxml.html.fragment_fromstring(body or "<div></div>", create_parent="div"))
    for element in root.iter(*_APART):
        element.text = " " + (element.text or "")
        element.tail = " " + (element.tail or "")
    return fold(root.text_content())


def test_every_fixture_has_its_expectations() -> None:
    assert len(NAMES) >= 16
    for name in NAMES:
        expected = json.loads((READER / f"{name}.json").read_text("utf-8"))
        assert expected["must_contain"], name


@pytest.mark.parametrize("name", NAMES)
def test_reader_keeps_the_article_and_drops_the_rest(name: str) -> None:
    article, expected = _run(name)
    text = reader_text(article.body)
    assert_in_order(text, expected["must_contain"])
    for markup in expected.get("must_contain_html", []):
        assert markup in article.body, markup
    for junk in expected["must_not_contain"]:
        assert junk not in text, junk


@pytest.mark.parametrize("name", NAMES)
def test_reader_reads_language_direction_and_kind(name: str) -> None:
    article, expected = _run(name)
    assert article.lang == expected["lang"]
    assert article.direction == expected["direction"]
    assert article.full_page is expected["full_page"], article.extracted_by


def test_reader_text_keeps_cells_apart_and_inline_runs_whole() -> None:
    body = "<table><tr><td>a</td><td>b</td></tr></table><p>x<b>y</b>, z</p>"
    assert reader_text(body) == "a b xy, z"
