"""What every command module shares: how a command is added to the parser, the stop
signals, and the cache opened for a command that reads or trims it."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from mirror.errors import ConfigError
from mirror.keys import (
    load_cache_key,
)
from mirror.settings import Config, load_config
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache, open_store

T = TypeVar("T")
Run = Callable[[argparse.Namespace], int]
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def group(commands: Any, name: str, help_text: str) -> Any:
    """A command made of actions (``mirror cache stats``); returns where actions are added."""
    parent = commands.add_parser(name, help=help_text)
    return parent.add_subparsers(required=True, metavar="ACTION")


def command(commands: Any, name: str, run: Run, help_text: str) -> argparse.ArgumentParser:
    """A command (or action) that reads the configuration; every one takes ``--config``."""
    added: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    added.add_argument("--config", type=Path, help="TOML configuration file")
    added.set_defaults(run=run)
    return added


def load(args: argparse.Namespace) -> Config:
    """The configuration the command was given (``--config``), else the defaults."""
    return load_config(args.config)


async def with_cache(config: Config, action: Callable[[PageCache], Awaitable[T]]) -> T:
    secret = load_cache_key(config.server.data_dir)
    try:
        async with PageCache(open_store(config.cache, config.server.data_dir), secret) as cache:
            return await action(cache)
    except StoreUnavailable as exc:
        raise ConfigError(f"the cache store cannot be reached: {exc}") from exc
