"""Stored articles indexed as they are stored, through the running mirror and the TLS
origin: found in four scripts, purged ones gone, the index kept across a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.pipeline import Mirror
from mirror.settings import Config
from tests.conftest import ARTICLE_URL, CHINESE_URL, Origin, open_cache, open_mirror
from tests.support.removal_fixtures import always_ask, remove_at_origin
from tests.support.search_fixtures import (
    ARTICLES,
    article_html,
    search_config_file,
    searching,
    serve_articles,
)


def found(mirror: Mirror, query: str, **filters: object) -> list[str]:
    assert mirror.search_index is not None
    hits = mirror.search_index.search(query, **filters)  # type: ignore[arg-type]
    assert hits is not None
    return [hit.entry.url for hit in hits]


async def test_search_is_off_by_default(config: Config) -> None:
    async with open_mirror(config) as mirror:
        await mirror.page(ARTICLE_URL)
        assert mirror.search_index is None
    assert not (config.server.data_dir / "search.sqlite3").exists()


@pytest.mark.parametrize("query", ["新疆", "维吾尔", "維吾爾", "疆"])
async def test_a_chinese_article_is_found_by_short_and_traditional_queries(
    config: Config, query: str
) -> None:
    async with open_mirror(searching(config)) as mirror:
        await mirror.page(CHINESE_URL)
        assert found(mirror, query) == [CHINESE_URL]


async def test_english_russian_and_arabic_articles_are_found(
    config: Config, origin: Origin
) -> None:
    urls = serve_articles(origin)
    async with open_mirror(searching(config)) as mirror:
        for url in urls.values():
            await mirror.page(url)
        for path, (_, _, word) in ARTICLES.items():
            assert found(mirror, word) == [urls[path]]
            assert found(mirror, word.upper()) == [urls[path]]
        hit = mirror.search_index.search("dockworkers")[0]  # type: ignore[union-attr,index]
        assert hit.entry.site == "cdt"
        assert hit.entry.title == "Dockworkers strike at the harbour"
        assert hit.entry.source == "origin"
        assert any(marked and text.lower() == "dockworkers" for text, marked in hit.snippet)


async def test_a_removed_article_is_found_with_its_label(config: Config, origin: Origin) -> None:
    urls = serve_articles(origin)
    path = "/2024/05/harbour-strike/"
    async with open_mirror(searching(always_ask(config))) as mirror:
        await mirror.page(urls[path])
        assert found(mirror, "dockworkers", removed_only=True) == []
        remove_at_origin(origin, path, "410")
        await mirror.page(urls[path])
        assert found(mirror, "dockworkers", removed_only=True) == [urls[path]]
        hit = mirror.search_index.search("dockworkers")[0]  # type: ignore[union-attr,index]
        assert hit.entry.source == "removed"
        assert hit.entry.removed


async def test_a_pushed_copy_is_indexed(config: Config) -> None:
    url = "https://chinadigitaltimes.net/2024/06/pushed/"
    async with open_mirror(searching(config)) as mirror:
        page = article_html("Pushed", "The publisher pushed this harbourmaster story.")
        await mirror.accept(url, page, "utf-8", "publisher", 1_700_000_000.0)
        hits = mirror.search_index.search("harbourmaster")  # type: ignore[union-attr]
        assert [(h.entry.url, h.entry.source) for h in hits or []] == [(url, "publisher")]


async def test_the_index_outlives_a_restart(config: Config, origin: Origin) -> None:
    urls = serve_articles(origin)
    async with open_mirror(searching(config)) as mirror:
        await mirror.page(urls["/2024/05/harbour-strike/"])
    async with open_mirror(searching(config)) as mirror:
        assert found(mirror, "dockworkers") == [urls["/2024/05/harbour-strike/"]]


async def test_a_purged_article_is_gone(
    origin: Origin, ca_file: Path, write_config: Callable[..., Path]
) -> None:
    toml, config = search_config_file(origin, ca_file, write_config)
    async with open_mirror(config) as mirror:
        await mirror.page(CHINESE_URL)
        assert found(mirror, "新疆") == [CHINESE_URL]
        purge = ["cache", "purge", CHINESE_URL, "--config", str(toml)]
        assert await asyncio.to_thread(main, purge) == 0
        assert found(mirror, "新疆") == []
    async with open_cache(config) as cache:
        assert await cache.get_page(CHINESE_URL) is None
