"""The Redis store's own promises: prefix and TTLs, locks across instances, outages survived."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from aiohttp import web

from mirror.fetch.client import Fetcher
from mirror.keys import load_cache_key
from mirror.pipeline import Mirror
from mirror.settings import Config
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache
from mirror.store.redis import BACKOFF_SECONDS, RedisStore
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CHINESE_URL, Origin
from tests.support.servers import RedisServer


@asynccontextmanager
async def redis_mirror(config: Config, server: RedisServer) -> AsyncIterator[Mirror]:
    """One mirror instance on the shared Redis, as another process would run it."""
    secret = load_cache_key(config.server.data_dir)
    async with (
        Fetcher(config.fetch) as fetcher,
        PageCache(RedisStore(server.url, "mirror:", 3600), secret) as cache,
        Mirror(config, fetcher, cache) as mirror,
    ):
        yield mirror


async def test_keys_carry_the_prefix_and_a_ttl_renewed_on_read(
    redis_server: RedisServer,
) -> None:
    async with (
        RedisStore(redis_server.url, "ours:", 3600) as store,
        aioredis.Redis.from_url(redis_server.url) as raw,
    ):
        await store.put(b"\x01" * 32, b"sealed")
        await raw.set("theirs:x", "untouched")
        keys = [k for k in await raw.keys("*") if isinstance(k, bytes)]
        keys = [k for k in keys if not k.startswith(b"theirs:")]
        assert keys == [b"ours:e:" + (b"\x01" * 32).hex().encode()]
        await raw.expire(keys[0], 10)
        assert await store.get(b"\x01" * 32) == b"sealed"
        assert 3590 < await raw.ttl(keys[0]) <= 3600
        assert await store.stats() == {"entries": 1, "value_bytes": 6}


async def test_outage_is_reported_quickly_and_recovered_from(redis_server: RedisServer) -> None:
    async with RedisStore(redis_server.url, "p:", 3600) as store:
        await store.put(b"k", b"v")
        redis_server.stop()
        started = time.monotonic()
        for _ in range(3):
            try:
                await store.get(b"k")
                raise AssertionError("a stopped Redis answered")
            except StoreUnavailable:
                pass
        assert time.monotonic() - started < 2 * BACKOFF_SECONDS
        redis_server.start()
        await asyncio.sleep(BACKOFF_SECONDS)
        assert await store.get(b"k") is None  # a fresh server, without persistence
        await store.put(b"k", b"again")
        assert await store.get(b"k") == b"again"


async def test_mirror_serves_from_origin_while_redis_is_down(
    config: Config, origin: Origin, redis_server: RedisServer
) -> None:
    async with redis_mirror(config, redis_server) as mirror:
        redis_server.stop()
        served = await mirror.page(ARTICLE_URL)
        assert "Xinjiang" in served.stored.article.title
        assert origin.hits[ARTICLE_PATH] == 1
        redis_server.start()
        await asyncio.sleep(BACKOFF_SECONDS)
        await mirror.page(CHINESE_URL)
        async with aioredis.Redis.from_url(redis_server.url) as raw:
            # the page fetched after recovery, its response, and the list of stored pages
            assert await raw.dbsize() == 3


async def test_instances_share_one_fetch_through_the_lock(
    config: Config, origin: Origin, redis_server: RedisServer, article_html: bytes
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.Response(body=article_html, content_type="text/html")

    origin.routes[ARTICLE_PATH] = slow
    async with redis_mirror(config, redis_server) as one, redis_mirror(config, redis_server) as two:
        first, second = await asyncio.gather(one.page(ARTICLE_URL), two.page(ARTICLE_URL))
    assert origin.hits[ARTICLE_PATH] == 1
    assert first.stored == second.stored


async def test_kept_entries_have_no_ttl_and_survive_memory_pressure(
    redis_server: RedisServer,
) -> None:
    """Reads renew a TTL only where there is one; under ``volatile-lru`` (deploy/compose.yaml)
    Redis evicts the entries that expire and never the kept ones."""
    async with (
        RedisStore(redis_server.url, "p:", 3600) as store,
        aioredis.Redis.from_url(redis_server.url) as raw,
    ):
        await store.put(b"kept", b"k" * 20_000, keep=True)
        assert await store.get(b"kept") == b"k" * 20_000
        assert await raw.ttl(b"p:e:" + b"kept".hex().encode()) == -1
        used = (await raw.info("memory"))["used_memory"]
        await raw.config_set("maxmemory", used + 2_000_000)
        await raw.config_set("maxmemory-policy", "volatile-lru")
        for i in range(300):  # 6 MB through 2 MB of room
            await store.put(i.to_bytes(2, "big"), bytes([i % 251]) * 20_000)
        # Redis's LRU is approximate: which entries went varies, that many went does not.
        assert (await raw.info("stats"))["evicted_keys"] > 0
        assert (await store.stats())["entries"] < 150
        assert await store.get(b"kept") == b"k" * 20_000
