"""The ``mirror`` command: ``serve``, ``link`` and ``extract``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from mirror.errors import ConfigError
from mirror.keys import load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import process_page
from mirror.render import environment
from mirror.settings import Config, load_config, public_url
from mirror.siterules import load_site_rules
from mirror.tls import ensure_self_signed, fingerprint, server_context


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
    extract.add_argument("--config", type=Path, help="TOML configuration (for its site rules)")
    extract.add_argument(
        "--explain", action="store_true", help="which rule or heuristic chose the body (stderr)"
    )
    extract.set_defaults(run=_extract)
    return parser


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    asyncio.run(_serve_forever(config))
    return 0


async def _serve_forever(config: Config) -> None:
    from mirror.server import create_app

    runner = web.AppRunner(create_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    sock = _bind(config.server.host, config.server.port)
    ssl_context, cert = None, None
    if not config.server.plain_http:
        cert, key = _certificate(config)
        ssl_context = server_context(cert, key)
    site = web.SockSite(runner, sock, ssl_context=ssl_context)
    await site.start()
    _announce(config, sock, cert)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
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


def _extract(args: argparse.Namespace) -> int:
    rules = load_site_rules(load_config(args.config).server.data_dir) if args.config else None
    article = process_page(sys.stdin.buffer.read(), args.charset, args.url, rules)
    if args.explain:
        print(f"mirror: body chosen by {article.extracted_by}", file=sys.stderr)
    page = environment().get_template("extract.html").render(article=article)
    sys.stdout.write(page)
    return 0
