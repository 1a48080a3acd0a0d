"""The search pages through the running mirror: articles the mirror stored from the TLS
origin found in four scripts, the removed-only filter and its label, a purge, the feed of
a search, the search box, paging, and escaping of what an article says."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import feedparser
import lxml.html
import pytest

from mirror.cli import main
from mirror.errors import QueryRefused
from mirror.links import Kind
from mirror.search.index import Entry, SearchIndex
from mirror.search.query import MAX_QUERY_CHARS
from mirror.settings import Config
from mirror.web.appkeys import LINKS, MIRROR
from tests.conftest import (
    ARTICLE_URL,
    CHINESE_URL,
    ORIGIN_HOST,
    Origin,
    RunningMirror,
    serve_mirror,
)
from tests.support.removal_fixtures import always_ask, remove_at_origin
from tests.support.search_fixtures import ARTICLES, searching, serve_articles

HARBOUR = "/2024/05/harbour-strike/"


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def page_path(mirror: RunningMirror, url: str) -> str:
    return mirror.app[LINKS].path(url, Kind.PAGE)


def index_of(mirror: RunningMirror) -> SearchIndex:
    index = mirror.app[MIRROR].search_index
    assert index is not None
    return index


def results(html: str) -> list[lxml.html.HtmlElement]:
    return list(tree(html).xpath("//ol[contains(@class, 'results')]/li"))


def linked(html: str) -> list[str]:
    return [str(li.xpath("a/@href")[0]) for li in results(html)]


@pytest.fixture
async def searched(config: Config, origin: Origin) -> AsyncIterator[RunningMirror]:
    """The mirror with search on, every origin article opened (so stored and indexed)."""
    urls = serve_articles(origin)
    async with serve_mirror(searching(always_ask(config))) as mirror:
        for url in (*urls.values(), ARTICLE_URL, CHINESE_URL):
            response, _ = await mirror.get(page_path(mirror, url))
            assert response.status == 200, url
        yield mirror


async def search(mirror: RunningMirror, path: str, **query: str) -> tuple[int, str]:
    response, html = await mirror.get(path, params=query)
    return response.status, html


@pytest.mark.parametrize(
    ("query", "url"),
    [
        ("dockworkers", f"https://{ORIGIN_HOST}{HARBOUR}"),
        ("Журналисты", f"https://{ORIGIN_HOST}/2024/05/moscow-journalists/"),
        ("الصحفيين", f"https://{ORIGIN_HOST}/2024/05/cairo-press/"),
        ("新疆", CHINESE_URL),
        ("維吾爾", CHINESE_URL),
    ],
)
async def test_articles_in_four_scripts_are_found(
    searched: RunningMirror, query: str, url: str
) -> None:
    for path in ("/search", "/s/cdt/search"):
        status, html = await search(searched, path, q=query)
        assert status == 200
        assert linked(html) == [page_path(searched, url)], (path, query)
        [result] = results(html)
        assert result.xpath("string(.//bdi)") == "China Digital Times"
        assert result.xpath(".//time/@datetime")
        assert result.xpath(".//p[@class='snippet']/mark")
        assert result.xpath(".//span[@class='label']") == []  # a live copy has no label


async def test_the_search_page_says_nothing_of_the_query_elsewhere(
    searched: RunningMirror,
) -> None:
    response, html = await searched.get("/search", params={"q": "dockworkers"})
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "script" not in html.lower().replace("no scripts", "")
    marked = tree(html).xpath("//p[@class='snippet']/mark/text()")
    assert {word.lower() for word in marked} == {"dockworkers"}


async def test_a_removed_article_is_found_with_the_filter_and_labelled(
    searched: RunningMirror, origin: Origin
) -> None:
    _, before = await search(searched, "/search", q="Xinjiang", removed="1")
    assert results(before) == []
    remove_at_origin(origin, "/2018/11/western-countries-turn-up-the-heat-on-xinjiang/", "404")
    response, _ = await searched.get(page_path(searched, ARTICLE_URL))
    assert response.status == 200
    for path in ("/search", "/s/cdt/search"):
        _, html = await search(searched, path, q="Xinjiang", removed="1", hl="ru")
        assert linked(html) == [page_path(searched, ARTICLE_URL) + "?hl=ru"]
        label = tree(html).xpath("string(//ol//span[@class='label'])")
        assert label == "Удалена с исходного сайта"
        assert tree(html).xpath("//input[@name='removed']/@checked")
    _, unfiltered = await search(searched, "/search", q="Xinjiang")
    assert linked(unfiltered) == [page_path(searched, ARTICLE_URL)]
    assert tree(unfiltered).xpath("string(//ol//span[@class='label'])") == "Removed at origin"


async def test_a_purged_article_is_gone(searched: RunningMirror, config: Config) -> None:
    _, html = await search(searched, "/search", q="dockworkers")
    assert len(results(html)) == 1
    toml = Path(config.server.data_dir).parent / "mirror.toml"
    toml.write_text(toml.read_text("utf-8") + "\n[search]\nenabled = true\n", "utf-8")
    purge = ["cache", "purge", f"https://{ORIGIN_HOST}{HARBOUR}", "--config", str(toml)]
    assert await asyncio.to_thread(main, purge) == 0
    _, after = await search(searched, "/search", q="dockworkers")
    assert results(after) == []
    assert "No article kept here holds these words." in after


async def test_the_feed_of_a_search_lists_its_articles(searched: RunningMirror) -> None:
    _, html = await search(searched, "/search", q="dockworkers", hl="zh-Hans")
    [feed_link] = tree(html).xpath("//link[@rel='alternate']/@href")
    async with searched.client.get(searched.base + feed_link) as response:
        assert response.status == 200
        assert response.content_type == "application/rss+xml"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        body = await response.text()
    feed = feedparser.parse(body)
    assert not feed.bozo
    url = f"https://{ORIGIN_HOST}{HARBOUR}"
    assert [entry.link for entry in feed.entries] == [
        searched.base + page_path(searched, url) + "?hl=zh-Hans"
    ]
    assert feed.entries[0].title == ARTICLES[HARBOUR][0]
    assert "dockworkers" in feed.entries[0].summary
    assert "dockworkers" in feed.feed.title
    assert ORIGIN_HOST not in body
    response, _ = await searched.get("/s/cdt/search/feed", params={"q": "Журналисты"})
    assert response.status == 200


async def test_the_search_box_is_on_the_home_site_and_removed_pages(
    searched: RunningMirror,
) -> None:
    for path, action, removed in [
        ("/", "/search", False),
        ("/s/cdt/", "/s/cdt/search", False),
        ("/s/cdt/removed", "/s/cdt/search", True),
    ]:
        _, html = await searched.get(path, params={"hl": "fa"})
        [form] = tree(html).xpath("//form[@role='search']")
        assert form.get("action") == action and form.get("method") == "get", path
        assert form.xpath(".//input[@name='hl']/@value") == ["fa"]
        assert bool(form.xpath(".//input[@name='removed']/@checked")) == removed, path


async def test_search_is_a_404_and_has_no_box_while_off(running_mirror: RunningMirror) -> None:
    for path in ("/search?q=xinjiang", "/s/cdt/search?q=x", "/search/feed?q=x"):
        response, html = await running_mirror.get(path)
        assert response.status == 404, path
        assert "Page not found" in html
    for path in ("/", "/s/cdt/", "/s/cdt/removed"):
        _, html = await running_mirror.get(path)
        assert tree(html).xpath("//form[@role='search']") == [], path


async def test_results_are_paged_twenty_at_a_time(config: Config) -> None:
    async with serve_mirror(searching(config)) as mirror:
        entries = [
            Entry(
                f"https://{ORIGIN_HOST}/a/{n}/",
                "cdt",
                f"Story {n}",
                "harbour news",
                n,
                "origin",
                False,
            )
            for n in range(25)
        ]
        await asyncio.to_thread(index_of(mirror).put_many, entries)
        _, first = await search(mirror, "/search", q="harbour")
        assert len(results(first)) == 20
        # equal relevance: the newest first
        assert linked(first)[0] == page_path(mirror, f"https://{ORIGIN_HOST}/a/24/")
        [older] = tree(first).xpath("//a[@rel='next']/@href")
        assert tree(first).xpath("//a[@rel='prev']") == []
        _, second = await mirror.get(older)
        assert len(results(second)) == 5
        assert tree(second).xpath("//a[@rel='next']") == []
        [newer] = tree(second).xpath("//a[@rel='prev']/@href")
        assert newer == "/search?q=harbour&page=1"
        for page in ("0", "51", "x", "²"):
            status, _ = await search(mirror, "/search", q="harbour", page=page)
            assert status == 404, page


async def test_what_an_article_says_is_escaped(config: Config) -> None:
    async with serve_mirror(searching(config)) as mirror:
        hostile = Entry(
            f"https://{ORIGIN_HOST}/x/",
            "cdt",
            "<script>alert(1)</script> harbour",
            'harbour <img src=x onerror="alert(1)"> <b>bold</b>',
            1.0,
            "archive",
            False,
        )
        await asyncio.to_thread(index_of(mirror).put, hostile)
        _, html = await search(mirror, "/search", q="harbour <script>")
        [result] = results(html)
        assert result.xpath(".//script | .//img | .//b") == []
        assert "&lt;img src=x" in html and "&lt;script&gt;" in html
        assert result.xpath("string(.//span[@class='label'])") == "Internet Archive copy"


async def test_a_query_of_punctuation_or_too_long_is_a_400_that_says_why(
    searched: RunningMirror,
) -> None:
    for query in ('"" * ^ ()', "x" * 201):
        status, html = await search(searched, "/search", q=query)
        assert status == 400
        assert "This search could not be made" in html
        assert query not in html
    status, html = await search(searched, "/search", q="")
    assert status == 200 and results(html) == []
    assert f"at most {MAX_QUERY_CHARS} characters" in QueryRefused.hint


async def test_the_rate_limit_applies_to_search(config: Config) -> None:
    limits = replace(config.limits, rate=0.001, burst=2)
    async with serve_mirror(searching(replace(config, limits=limits))) as mirror:
        statuses = [(await search(mirror, "/search", q="harbour"))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_a_failing_index_is_a_503_page_and_articles_still_read(
    searched: RunningMirror,
) -> None:
    # A damaged index: its table of articles gone under the running mirror.
    with sqlite3.connect(index_of(searched).path.resolve()) as damage:
        damage.execute("DROP TABLE articles")
    status, html = await search(searched, "/search", q="dockworkers")
    assert status == 503
    assert "Search is not available just now" in html
    response, _ = await searched.get(page_path(searched, ARTICLE_URL))
    assert response.status == 200
