from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from mirror.errors import OriginStatus
from mirror.fetch.client import Fetcher
from mirror.keys import load_token_ring
from mirror.links import LinkBuilder
from mirror.pool import TransformPool
from mirror.settings import Config, Site
from mirror.share.feeds import FeedLinks
from mirror.share.sitefeeds import Latest, SiteFeeds
from tests.conftest import ARTICLE_URL, Origin
from tests.support.feed_fixtures import ATOM_FEED

FEED_URL = "https://chinadigitaltimes.net/feed/"


@pytest.fixture
async def fetcher(config: Config) -> AsyncIterator[Fetcher]:
    async with Fetcher(config.fetch) as opened:
        yield opened


def site(*feeds: str) -> Site:
    return Site(name="cdt", origin="https://chinadigitaltimes.net", feeds=feeds)


async def test_feed_is_fetched_once_while_fresh(fetcher: Fetcher, origin: Origin) -> None:
    feeds = SiteFeeds(fetcher, fresh_seconds=60)
    first = await feeds.latest(site(FEED_URL))
    second = await feeds.latest(site(FEED_URL))
    assert first == second
    assert first.items[0].link == ARTICLE_URL and not first.failed
    assert origin.hits["/feed/"] == 1


async def test_a_feed_is_parsed_once_per_fetch_in_the_pool(
    fetcher: Fetcher, origin: Origin
) -> None:
    async with TransformPool(1, 30.0) as pool:
        feeds = SiteFeeds(fetcher, fresh_seconds=60, pool=pool)
        first = await feeds.latest(site(FEED_URL))
        second = await feeds.latest(site(FEED_URL))
        assert pool.tasks == 1  # one parse, in a worker process
    assert second is first  # the merged list too is made once per set of copies
    assert first.items[0].link == ARTICLE_URL


async def test_a_refetched_feed_is_parsed_again(fetcher: Fetcher, origin: Origin) -> None:
    feeds = SiteFeeds(fetcher, fresh_seconds=0)
    first = await feeds.latest(site(FEED_URL))
    second = await feeds.latest(site(FEED_URL))
    assert origin.hits["/feed/"] == 2
    assert second == first and second is not first


async def test_a_republished_feed_is_made_once_per_copy_and_address(
    fetcher: Fetcher, origin: Origin, config: Config
) -> None:
    links = LinkBuilder(load_token_ring(config.server.data_dir))
    here = FeedLinks("https://mirror.example", links, config.is_mirrored)
    there = FeedLinks("https://other.example", links, config.is_mirrored)
    async with TransformPool(1, 30.0) as pool:
        feeds = SiteFeeds(fetcher, fresh_seconds=60, pool=pool)
        first = await feeds.republished(FEED_URL, here, "https://mirror.example/s/cdt/", "f")
        again = await feeds.republished(FEED_URL, here, "https://mirror.example/s/cdt/", "f")
        assert again is first
        assert pool.tasks == 2  # the parse of the fetch, and one re-publishing
        other = await feeds.republished(FEED_URL, there, "https://other.example/s/cdt/", "f")
        assert pool.tasks == 3
    assert b"https://mirror.example/m/" in first[0]
    assert b"https://other.example/m/" in other[0]
    assert origin.hits["/feed/"] == 1


async def test_old_copy_is_used_when_the_origin_fails(fetcher: Fetcher, origin: Origin) -> None:
    feeds = SiteFeeds(fetcher, fresh_seconds=0)
    kept = await feeds.body(FEED_URL)

    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable

    origin.routes["/feed/"] = broken
    assert await feeds.body(FEED_URL) == kept
    assert origin.hits["/feed/"] == 2


async def test_unreadable_feeds_are_reported_not_raised(fetcher: Fetcher, origin: Origin) -> None:
    async def atom(request: web.Request) -> web.Response:
        return web.Response(body=ATOM_FEED, content_type="application/atom+xml")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="application/xml")

    origin.routes["/atom.xml"] = atom
    origin.routes["/broken.xml"] = html
    feeds = SiteFeeds(fetcher, fresh_seconds=60)
    latest = await feeds.latest(
        site(
            FEED_URL,
            "https://chinadigitaltimes.net/atom.xml",
            "https://chinadigitaltimes.net/broken.xml",
            "https://chinadigitaltimes.net/missing.xml",
        )
    )
    assert latest.failed
    titles = [item.title for item in latest.items]
    assert titles[:2] == ["Second story", "First story"]
    assert "Western Countries Turn Up the Heat on Xinjiang" in titles
    with pytest.raises(OriginStatus):
        await feeds.body("https://chinadigitaltimes.net/missing.xml")


async def test_a_failing_origin_is_not_asked_again_at_once(
    fetcher: Fetcher, origin: Origin
) -> None:
    feeds = SiteFeeds(fetcher, fresh_seconds=60)
    missing = "https://chinadigitaltimes.net/missing.xml"
    for _ in range(3):
        with pytest.raises(OriginStatus):
            await feeds.body(missing)
    assert origin.hits["/missing.xml"] == 1


async def test_pages_do_not_wait_for_a_slow_feed(fetcher: Fetcher, origin: Origin) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.Response(body=ATOM_FEED, content_type="application/atom+xml")

    origin.routes["/slow.xml"] = slow
    feeds = SiteFeeds(fetcher, fresh_seconds=60)
    slow_site = site("https://chinadigitaltimes.net/slow.xml")
    assert await feeds.latest(slow_site, wait=0.05) == Latest(failed=True)
    await asyncio.sleep(0.8)
    later = await feeds.latest(slow_site, wait=0.05)
    assert not later.failed and later.items[0].title == "Second story"
    assert origin.hits["/slow.xml"] == 1
