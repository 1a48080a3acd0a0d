"""``mirror cache``: look into and trim the store."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from mirror.cli.common import command, group, load, with_cache
from mirror.indexing import Indexer
from mirror.settings import Config
from mirror.store.cache import PageCache


def register(commands: Any) -> None:
    cache = group(commands, "cache", "look into and trim the cache")
    command(cache, "stats", _cache_stats, "how many entries and bytes the store holds")
    command(
        cache, "purge", _cache_purge, "forget the stored page, origin response and image of one URL"
    )
    cache.choices["purge"].add_argument("url")
    command(cache, "prune", _cache_prune, "drop expired entries and evict down to the size bound")


def _cache_stats(args: argparse.Namespace) -> int:
    config = load(args)
    stats = asyncio.run(with_cache(config, lambda cache: cache.store.stats()))
    print(f"store: {config.cache.store}")
    for name, value in stats.items():
        print(f"{name}: {value}")
    return 0


def _cache_purge(args: argparse.Namespace) -> int:
    config = load(args)
    deleted = asyncio.run(with_cache(config, lambda cache: _purge(config, cache, args.url)))
    print(f"purged {deleted} entries")
    return 0 if deleted else 1


async def _purge(config: Config, cache: PageCache, url: str) -> int:
    """Forget ``url`` in the store and in the search index (a purge leaves no trace)."""
    site = config.site_for(url)
    deleted = await cache.purge(url, site.name if site else "")
    async with Indexer(config, cache) as indexer:
        await indexer.purged(url)
    return deleted


def _cache_prune(args: argparse.Namespace) -> int:
    config = load(args)
    dropped = asyncio.run(with_cache(config, lambda cache: cache.store.prune()))
    print(f"pruned {dropped} entries")
    return 0
