"""``mirror serve``: bind the listeners, make the keys and certificate, then serve in one
process or in forked workers (``mirror.cli.supervisor``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path
from typing import Any

from aiohttp import web

from mirror.addresses import manifest
from mirror.cli.common import STOP_SIGNALS, command, load
from mirror.cli.supervisor import run_loop, serve_workers, shared_counters
from mirror.errors import ConfigError
from mirror.keys import (
    load_cache_key,
    load_token_ring,
)
from mirror.resources import check as check_resources
from mirror.settings import Config
from mirror.store.cache import open_store
from mirror.web.metrics import RouteAccessLogger, configure_logging
from mirror.web.tls import ensure_self_signed, fingerprint, server_context


def register(commands: Any) -> None:
    command(commands, "serve", _serve, "serve the mirror over HTTPS")


def _serve(args: argparse.Namespace) -> int:
    check_resources()
    config = load(args)
    configure_logging()
    load_token_ring(config.server.data_dir, config.server.token_key)  # made once, before workers
    load_cache_key(config.server.data_dir)
    manifest.load_signing_key(config.server.data_dir)
    sock = _bind(config.server.host, config.server.port)
    onion = (
        _bind(config.server.onion_host, config.server.onion_port)
        if config.server.onion_listen
        else None
    )
    tls = None if config.server.plain_http else _certificate(config)
    # Held back until the event loop handles them (or, with workers, until all children exist).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    _announce(config, sock, tls[0] if tls else None)
    with sock, onion or contextlib.nullcontext(), shared_counters():
        if config.server.workers == 1:
            run_loop(config, _serve_forever(config, sock, tls, onion))
            return 0
        asyncio.run(_create_cache_file(config))
        return serve_workers(config, lambda: _serve_forever(config, sock, tls, onion))


async def _create_cache_file(config: Config) -> None:
    """Make the SQLite cache file before the workers exist: processes creating one new file
    at once can meet in SQLite's lock upgrade, where one is refused rather than made to wait."""
    if config.cache.store == "sqlite":
        async with open_store(config.cache, config.server.data_dir):
            pass


async def _serve_forever(
    config: Config,
    sock: socket.socket,
    tls: tuple[Path, Path] | None,
    onion: socket.socket | None = None,
) -> None:
    """Serve ``sock`` (over TLS with ``tls``) and, for Tor, ``onion`` in plain HTTP: one
    application behind both, which tells them apart by the listener (``web.onion``)."""
    from mirror.web.server import create_app, start_runner

    access_log = logging.getLogger("mirror.access") if config.server.access_log else None
    runner = await start_runner(
        create_app(config),
        access_log=access_log,
        access_log_class=RouteAccessLogger,
        handle_signals=False,
    )
    ssl_context = server_context(*tls) if tls else None
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    if onion is not None:
        await web.SockSite(runner, onion).start()
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
    if config.server.onion_listen:
        print(
            f"mirror: onion service {config.publisher.onion_url}/ "
            f"on http://{config.server.onion_listen}/",
            flush=True,
        )
