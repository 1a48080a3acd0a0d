from __future__ import annotations

from pathlib import Path

import lxml.etree
import lxml.html
import pytest
import trafilatura
from trafilatura.settings import Document

from mirror.fetch.decode import decode_html
from mirror.transform.reader import cascade
from mirror.transform.reader.cascade import trafilatura_body
from mirror.transform.reader.parse import parse_page
from tests.support.paths import FIXTURES

PAGES = sorted([*(FIXTURES / "reader").glob("*.html"), *(FIXTURES / "cdt").glob("*.html")])

STORY = " ".join(
    f"Paragraph {n} of the report says the ferry crews stopped work at dawn on the quay."
    for n in range(8)
)
COMMENTS = "<div id='comments'><p>First! This comment is long enough to count as text.</p></div>"
FORUM_LD = (
    "<script type='application/ld+json'>"
    '{"@context": "https://schema.org", "@type": "DiscussionForumPosting"}</script>'
)


def _serialised(body: lxml.etree._Element | None) -> bytes | None:
    return None if body is None else lxml.etree.tostring(body)


def _bare(page: lxml.html.HtmlElement) -> bytes | None:
    document = trafilatura.bare_extraction(
        page,
        fast=True,
        output_format="html",
        include_formatting=True,
        include_links=True,
        include_images=True,
        include_tables=True,
        include_comments=False,
    )
    return _serialised(document.body) if isinstance(document, Document) else None


def _page(body: str, head: str = "") -> lxml.html.HtmlElement:
    return parse_page(f"<html><head>{head}</head><body>{body}</body></html>")


def _story(paragraphs: str) -> str:
    return f"<article><h1>Ferries stop</h1>{paragraphs}</article>"


CRAFTED = {
    "plain story": _page(_story("".join(f"<p>{STORY}</p>" for _ in range(3)))),
    "story and comments (raw tree pruned)": _page(_story(f"<p>{STORY}</p>") + COMMENTS),
    "forum thread (comments kept)": _page(_story(f"<p>{STORY}</p>") + COMMENTS, FORUM_LD),
    "too short (baseline rescue)": _page(_story("<p>Two short lines.</p><p>Only.</p>")),
    "short story on a long page (recall retry)": _page(
        _story(f"<p>{STORY[:400]}</p>")
        + "".join(f"<div class='teaser'><div>{STORY}</div></div>" for _ in range(6))
    ),
}


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_the_body_is_bare_extractions_on_every_fixture(path: Path) -> None:
    page = parse_page(decode_html(path.read_bytes(), None))
    assert _serialised(trafilatura_body(page)) == _bare(page)


@pytest.mark.parametrize("name", CRAFTED)
def test_the_body_is_bare_extractions_on_each_path_of_the_cascade(name: str) -> None:
    page = CRAFTED[name]
    found = _serialised(trafilatura_body(page))
    assert found is not None
    assert found == _bare(page)


def test_the_rescue_stages_read_the_pruned_tree_but_a_forum_is_not_pruned() -> None:
    plain = CRAFTED["story and comments (raw tree pruned)"]
    forum = CRAFTED["forum thread (comments kept)"]
    _, raw = cascade._cleaned(plain)
    assert raw is not plain
    assert b"First!" not in lxml.etree.tostring(raw)
    assert cascade._cleaned(forum)[1] is forum


def test_the_page_handed_in_is_left_untouched() -> None:
    page = CRAFTED["story and comments (raw tree pruned)"]
    before = lxml.etree.tostring(page)
    trafilatura_body(page)
    assert lxml.etree.tostring(page) == before


def test_a_page_with_no_text_has_no_body() -> None:
    assert trafilatura_body(_page("<div><img src='a.png'></div>")) is None


@pytest.mark.parametrize(
    "page",
    [
        *CRAFTED.values(),
        _page("<div>a</div><div>b</div><p>c<span>d</span></p><ul><li>e</li><li>f</li></ul>"),
        _page("<table><tr><td>1</td><td>2</td></tr></table><br>x<br>y"),
        *(parse_page(decode_html(path.read_bytes(), None)) for path in PAGES),
    ],
)
def test_the_page_text_bound_is_never_below_html2txts_length(
    page: lxml.html.HtmlElement,
) -> None:
    assert cascade._page_text_bound(page) >= len(trafilatura.html2txt(page))


def test_bare_extraction_is_asked_only_when_trafilatura_would_rescue_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[lxml.html.HtmlElement] = []
    real = cascade._bare_extraction

    def spy(page: lxml.html.HtmlElement) -> lxml.etree._Element | None:
        asked.append(page)
        return real(page)

    monkeypatch.setattr(cascade, "_bare_extraction", spy)
    for page in CRAFTED.values():
        trafilatura_body(page)
    rescued = ["too short (baseline rescue)", "short story on a long page (recall retry)"]
    assert asked == [CRAFTED[name] for name in rescued]
