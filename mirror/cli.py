"""The ``mirror`` command: ``serve``, ``link``, ``extract`` and ``cache``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from mirror.cache import PageCache, StoreUnavailable, open_store
from mirror.errors import ConfigError
from mirror.keys import load_cache_key, load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import process_page
from mirror.render import environment
from mirror.settings import Config, load_config, public_url
from mirror.tls import ensure_self_signed, fingerprint, server_context

T = TypeVar("T")
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except ConfigError as exc:
        print(f"mirror: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirror", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the mirror over HTTPS")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.set_defaults(run=_serve)

    link = commands.add_parser("link", help="print the mirror URL for an article URL")
    link.add_argument("url")
    link.add_argument("--config", type=Path, help="TOML configuration file")
    link.set_defaults(run=_link)

    extract = commands.add_parser("extract", help="reader-mode HTML of a page read from stdin")
    extract.add_argument("--url", required=True, help="the page's URL (for relative links)")
    extract.add_argument("--charset", help="charset from the HTTP header, if known")
    extract.set_defaults(run=_extract)

    cache = commands.add_parser("cache", help="look into and trim the cache")
    actions = cache.add_subparsers(required=True, metavar="ACTION")
    for name, run, help_text in (
        ("stats", _cache_stats, "how many entries and bytes the store holds"),
        ("purge", _cache_purge, "forget the stored page and image of one URL"),
        ("prune", _cache_prune, "drop expired entries and evict down to the size bound"),
    ):
        action = actions.add_parser(name, help=help_text)
        if name == "purge":
            action.add_argument("url")
        action.add_argument("--config", type=Path, help="TOML configuration file")
        action.set_defaults(run=run)
    return parser


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    load_token_ring(config.server.data_dir, config.server.token_key)  # made once, before workers
    load_cache_key(config.server.data_dir)
    sock = _bind(config.server.host, config.server.port)
    tls = None if config.server.plain_http else _certificate(config)
    # Held back until the event loop handles them (or, with workers, until all children exist).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    _announce(config, sock, tls[0] if tls else None)
    with sock:
        if config.server.workers == 1:
            asyncio.run(_serve_forever(config, sock, tls))
            return 0
        return _serve_workers(config, sock, tls)


def _serve_workers(config: Config, sock: socket.socket, tls: tuple[Path, Path] | None) -> int:
    """Fork processes that all accept on one listening socket; the kernel spreads the
    connections, so throughput scales with cores while each process stays single-threaded."""
    children: list[int] = []

    def forward(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for _ in range(config.server.workers):
        pid = os.fork()
        if pid == 0:  # the child serves until told to stop, then leaves without cleanup
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            code = 0
            try:
                asyncio.run(_serve_forever(config, sock, tls))
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    failed = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


async def _serve_forever(
    config: Config, sock: socket.socket, tls: tuple[Path, Path] | None
) -> None:
    from mirror.server import create_app

    runner = web.AppRunner(create_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    ssl_context = server_context(*tls) if tls else None
    site = web.SockSite(runner, sock, ssl_context=ssl_context)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    await stop.wait()
    await runner.cleanup()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def _certificate(config: Config) -> tuple[Path, Path]:
    if config.server.tls_cert and config.server.tls_key:
        return Path(config.server.tls_cert), Path(config.server.tls_key)
    if config.server.tls_cert or config.server.tls_key:
        raise ConfigError("server.tls_cert and server.tls_key go together")
    names = ["localhost", "127.0.0.1", "::1", config.server.host]
    return ensure_self_signed(config.server.data_dir, names)


def _announce(config: Config, sock: socket.socket, cert: Path | None) -> None:
    port = sock.getsockname()[1]
    scheme = "http" if cert is None else "https"
    host = config.server.host if ":" not in config.server.host else f"[{config.server.host}]"
    print(f"mirror: serving on {scheme}://{host}:{port}/", flush=True)
    if config.server.public_url:
        print(f"mirror: public URL {config.server.public_url}/", flush=True)
    if cert is not None:
        print(f"mirror: certificate SHA-256 fingerprint {fingerprint(cert)}", flush=True)


def _link(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    links = LinkBuilder(load_token_ring(config.server.data_dir, config.server.token_key))
    print(public_url(config) + links.path(args.url, Kind.PAGE))
    return 0


def _cache_stats(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    stats = asyncio.run(_with_cache(config, lambda cache: cache.store.stats()))
    print(f"store: {config.cache.store}")
    for name, value in stats.items():
        print(f"{name}: {value}")
    return 0


def _cache_purge(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    deleted = asyncio.run(_with_cache(config, lambda cache: cache.purge(args.url)))
    print(f"purged {deleted} entries")
    return 0 if deleted else 1


def _cache_prune(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    dropped = asyncio.run(_with_cache(config, lambda cache: cache.store.prune()))
    print(f"pruned {dropped} entries")
    return 0


async def _with_cache(config: Config, action: Callable[[PageCache], Awaitable[T]]) -> T:
    secret = load_cache_key(config.server.data_dir)
    try:
        async with PageCache(open_store(config.cache, config.server.data_dir), secret) as cache:
            return await action(cache)
    except StoreUnavailable as exc:
        raise ConfigError(f"the cache store cannot be reached: {exc}") from exc


def _extract(args: argparse.Namespace) -> int:
    article = process_page(sys.stdin.buffer.read(), args.charset, args.url)
    page = environment().get_template("extract.html").render(article=article)
    sys.stdout.write(page)
    return 0
