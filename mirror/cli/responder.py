"""``mirror responder``: answer mail with the mirror's addresses and articles."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from mirror.cli.common import STOP_SIGNALS, command, load
from mirror.errors import ConfigError
from mirror.fetch.client import Fetcher
from mirror.keys import (
    load_cache_key,
)
from mirror.resources import check as check_resources
from mirror.settings import Config
from mirror.store.cache import PageCache, open_store
from mirror.web.metrics import configure_logging


def register(commands: Any) -> None:
    command(commands, "responder", _responder, "answer mail with our addresses and articles")


def _responder(args: argparse.Namespace) -> int:
    check_resources()
    config = load(args)
    if not config.responder.address:
        raise ConfigError("responder.address is not set: the responder answers for it")
    configure_logging()
    asyncio.run(_respond_until_stopped(config))
    return 0


async def _respond_until_stopped(config: Config) -> None:
    """``mirror responder``: the mail responder on the mirror's own pipeline and store."""
    from mirror.pipeline import Mirror
    from mirror.responder.service import listening

    secret = load_cache_key(config.server.data_dir)
    store = open_store(config.cache, config.server.data_dir)
    async with (
        Fetcher(config.fetch, sites=config.sites) as fetcher,
        PageCache(store, secret) as cache,
        Mirror(config, fetcher, cache) as mirror,
        listening(config, mirror) as server,
    ):
        host, port = server.sockets[0].getsockname()[:2]
        print(f"mirror: answering mail on {host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
