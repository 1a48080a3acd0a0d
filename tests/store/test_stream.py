"""Two mirror instances on one real Redis, each with its own search index: what one stores
or purges, the other's index learns from the stream within seconds, across a restart."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from mirror.fetch.client import Fetcher
from mirror.indexing import Indexer
from mirror.keys import load_cache_key
from mirror.pipeline import Mirror
from mirror.settings import Config
from mirror.store.cache import PageCache, open_store
from tests.conftest import CHINESE_URL, Origin
from tests.support.search_fixtures import searching, serve_articles
from tests.support.servers import RedisServer

WITHIN_SECONDS = 10.0
HARBOUR = "/2024/05/harbour-strike/"


def instance(config: Config, redis: RedisServer, data_dir: Path) -> Config:
    """``config`` as one instance on the shared Redis runs it: its own data dir (and so its
    own index), the cache key every instance shares."""
    data_dir.mkdir(exist_ok=True)
    shutil.copy(config.server.data_dir / "cache.key", data_dir / "cache.key")
    cache = replace(config.cache, store="redis", redis_url=redis.url)
    return searching(replace(config, cache=cache, server=replace(config.server, data_dir=data_dir)))


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[Mirror]:
    secret = load_cache_key(config.server.data_dir)
    async with (
        Fetcher(config.fetch) as fetcher,
        PageCache(open_store(config.cache, config.server.data_dir), secret) as cache,
        Mirror(config, fetcher, cache) as mirror,
    ):
        yield mirror


async def found_within(mirror: Mirror, query: str, present: bool) -> float:
    """Seconds until a search of ``mirror`` finds (or no longer finds) ``query``."""
    assert mirror.search_index is not None
    start = time.monotonic()
    while time.monotonic() - start < WITHIN_SECONDS:
        if bool(mirror.search_index.search(query)) == present:
            return time.monotonic() - start
        await asyncio.sleep(0.05)  # polling for another instance's work, bounded above
    raise AssertionError(f"not {'found' if present else 'gone'} in {WITHIN_SECONDS} s")


async def test_stored_on_one_instance_found_on_the_other(
    config: Config, origin: Origin, redis_server: RedisServer, tmp_path: Path
) -> None:
    load_cache_key(config.server.data_dir)
    one = instance(config, redis_server, tmp_path / "one")
    two = instance(config, redis_server, tmp_path / "two")
    urls = serve_articles(origin)
    async with running(one) as first, running(two) as second:
        await first.page(CHINESE_URL)
        assert await found_within(second, "維吾爾", present=True) < WITHIN_SECONDS
        hits = second.search_index.search("维吾尔")  # type: ignore[union-attr]
        assert [hit.entry.url for hit in hits or []] == [CHINESE_URL]
        await second.page(urls[HARBOUR])
        await found_within(first, "dockworkers", present=True)
    async with running(one) as first:  # the other instance is down meanwhile
        await first.page(urls["/2024/05/moscow-journalists/"])
        secret = load_cache_key(one.server.data_dir)
        async with PageCache(open_store(one.cache, one.server.data_dir), secret) as cache:
            await cache.purge(CHINESE_URL, "cdt")
            async with Indexer(one, cache) as indexer:
                await indexer.purged(CHINESE_URL)
    async with running(two) as second:  # back: goes on from the last event it read
        await found_within(second, "журналисты", present=True)
        await found_within(second, "維吾爾", present=False)
        assert second.search_index.search("dockworkers")  # type: ignore[union-attr]
    at_rest = redis_server.dump()
    for word in (CHINESE_URL, urls[HARBOUR], "chinadigitaltimes", "dockworkers", "维吾尔"):
        assert word.encode("utf-8") not in at_rest, word
