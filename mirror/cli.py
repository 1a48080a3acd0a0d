"""The ``mirror`` command: serve, link, extract, cache, filters, export, keys, alternates,
manifest, responder, push, verify."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from mirror import signedpush
from mirror.counters import share
from mirror.errors import ConfigError, MirrorError
from mirror.fetch.client import Fetcher
from mirror.filterlists import UpdateResult, update_lists
from mirror.keys import (
    b64encode,
    load_cache_key,
    load_token_ring,
    parse_public_key,
    rotate_token_ring,
    write_secret_file,
)
from mirror.links import Kind, LinkBuilder
from mirror.resources import check as check_resources
from mirror.settings import Config, load_config, public_url
from mirror.store.base import StoreUnavailable
from mirror.store.cache import PageCache, open_store
from mirror.transform.filters import LIST_DIR
from mirror.web import alternates, manifest
from mirror.web.alternates import HIDDEN, address_book
from mirror.web.metrics import RouteAccessLogger, configure_logging
from mirror.web.tls import ensure_self_signed, fingerprint, server_context

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
    except manifest.ManifestError as exc:
        print(f"mirror: invalid manifest: {exc}", file=sys.stderr)
        return 1
    except MirrorError as exc:
        print(f"mirror: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return result


Run = Callable[[argparse.Namespace], int]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirror", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _command(commands, "serve", _serve, "serve the mirror over HTTPS")
    _command(commands, "link", _link, "print the mirror URL for an article URL").add_argument("url")

    extract = _command(commands, "extract", _extract, "reader-mode HTML of a page read from stdin")
    extract.add_argument("--url", required=True, help="the page's URL (for relative links)")
    extract.add_argument("--charset", help="charset from the HTTP header, if known")
    extract.add_argument(
        "--explain", action="store_true", help="which rule or heuristic chose the body (stderr)"
    )

    cache = _group(commands, "cache", "look into and trim the cache")
    _command(cache, "stats", _cache_stats, "how many entries and bytes the store holds")
    _command(
        cache, "purge", _cache_purge, "forget the stored page, origin response and image of one URL"
    )
    cache.choices["purge"].add_argument("url")
    _command(cache, "prune", _cache_prune, "drop expired entries and evict down to the size bound")

    filters = _group(commands, "filters", "manage the ad and tracker lists")
    _command(filters, "update", _update_filters, "download the lists into the data dir")

    export = _command(commands, "export", _export, "write a static mirror or a WARC of a site")
    export.add_argument("--site", required=True, help="the site's name in the configuration")
    export.add_argument("--out", required=True, type=Path, help="directory to write into")
    export.add_argument(
        "--format",
        choices=("static", "warc"),
        default="static",
        help="static: files any host can serve (default); warc: WARC 1.1 for archivists",
    )
    export.add_argument("--since", type=_date, help="only articles published on or after")
    export.add_argument("--depth", type=int, help="internal links to follow (export.depth)")

    keys = _group(commands, "keys", "keys: list, rotate, init; publisher and contributor keys")
    _command(
        keys, "list", _keys_list, "list token key ids (never the keys); * marks the current one"
    )
    _command(
        keys, "rotate", _keys_rotate, "add a new current token key; old keys keep opening links"
    )
    _command(
        keys, "init", _keys_init, "create every missing key in the data dir (before replicas start)"
    )
    publisher_keys = _command(
        keys, "publisher", _keys_publisher, "make a publisher's key pair for signed pushes"
    )
    publisher_keys.add_argument("--out", type=Path, default=Path("publisher.key"))
    contributor_keys = _command(
        keys, "contributor", _keys_contributor, "make a contributor's key for captures"
    )
    contributor_keys.add_argument("name", help="who the contributor is, for you")

    push = _command(commands, "push", _push, "send an article to a mirror, signed (publishers)")
    push.add_argument("url", help="the article's address on the site")
    push.add_argument("file", type=Path, help="the article's HTML (UTF-8)")
    push.add_argument("--key", required=True, type=Path, help="the publisher's private key file")
    push.add_argument("--mirror", help="the mirror's address; server.public_url if omitted")
    push.add_argument(
        "--fingerprint", help="the mirror certificate's SHA-256 (self-signed mirrors)"
    )

    addresses = _group(commands, "alternates", "this mirror's other addresses: list, add, check")
    _command(addresses, "list", _alternates_list, "each address, its last check, shown or not")
    _command(addresses, "add", _alternates_add, "list a new address (no restart)")
    addresses.choices["add"].add_argument("address", help="a base URL, e.g. https://m3.example.org")
    _command(addresses, "remove", _alternates_remove, "take an address off the list")
    addresses.choices["remove"].add_argument("address")
    _command(addresses, "check", _alternates_check, "check every address now (exit 1: one failed)")

    signing = _group(commands, "manifest", "the signed mirror manifest: sign, verify")
    _command(signing, "sign", _manifest_sign, "print a signed manifest of our addresses")
    verify = _command(signing, "verify", _manifest_verify, "check a manifest file (exit 1 if bad)")
    verify.add_argument("file", type=Path)
    verify.add_argument("--public-key", help="trusted key (base64url); else the data dir's")

    _command(commands, "responder", _responder, "answer mail with our addresses and articles")

    check = _command(commands, "verify", _verify, "check a downloaded article (exit 1 if changed)")
    check.add_argument("file", type=Path, help="a single-file HTML or EPUB download")
    check.add_argument(
        "--public-key",
        help="the public_key of the mirror's /.well-known/mirrors.json (base64url or PEM, "
        "or a file holding it); else the --config data dir's, else the file's own (warned)",
    )
    return parser


def _group(commands: Any, name: str, help_text: str) -> Any:
    """A command made of actions (``mirror cache stats``); returns where actions are added."""
    group = commands.add_parser(name, help=help_text)
    return group.add_subparsers(required=True, metavar="ACTION")


def _command(commands: Any, name: str, run: Run, help_text: str) -> argparse.ArgumentParser:
    """A command (or action) that reads the configuration; every one takes ``--config``."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    command.add_argument("--config", type=Path, help="TOML configuration file")
    command.set_defaults(run=run)
    return command


def _date(text: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("dates are YYYY-MM-DD") from exc
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def _serve(args: argparse.Namespace) -> int:
    check_resources()
    config = load_config(args.config)
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
    with sock, onion or contextlib.nullcontext(), _shared_counters():
        if config.server.workers == 1:
            run_loop(config, _serve_forever(config, sock, tls, onion))
            return 0
        asyncio.run(_create_cache_file(config))
        return _serve_workers(config, sock, tls, onion)


async def _create_cache_file(config: Config) -> None:
    """Make the SQLite cache file before the workers exist: processes creating one new file
    at once can meet in SQLite's lock upgrade, where one is refused rather than made to wait."""
    if config.cache.store == "sqlite":
        async with open_store(config.cache, config.server.data_dir):
            pass


@contextmanager
def _shared_counters() -> Iterator[None]:
    """Every process of this server (workers, and any they fork) counts into files of a
    fresh private directory, so a scrape answered by any of them sums them all; the
    directory goes when the server stops."""
    directory = Path(tempfile.mkdtemp(prefix="mirror-metrics-"))
    share(directory)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


STOPPED = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


def _serve_workers(
    config: Config,
    sock: socket.socket,
    tls: tuple[Path, Path] | None,
    onion: socket.socket | None,
) -> int:
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
                run_loop(config, _serve_forever(config, sock, tls, onion))
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    failed = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        # A child still starting up when the stop signal came dies by it: that is a clean stop.
        failed += os.waitstatus_to_exitcode(status) not in STOPPED
    return 1 if failed else 0


def run_loop(config: Config, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where it is installed (it answers cache hits with less CPU per
    request than asyncio's own loop), unless ``server.uvloop`` is off; else on asyncio's."""
    with asyncio.Runner(loop_factory=event_loop_factory(config)) as runner:
        runner.run(main)


def event_loop_factory(config: Config) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or ``None`` (asyncio's default) when it is off or missing."""
    if not config.server.uvloop:
        return None
    try:
        import uvloop  # optional: a platform without it serves on asyncio's loop
    except ImportError:
        return None
    return uvloop.new_event_loop


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
    site = config.site_for(args.url)
    name = site.name if site else ""
    deleted = asyncio.run(_with_cache(config, lambda cache: cache.purge(args.url, name)))
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
    from mirror.pipeline import load_page_rules, read_page
    from mirror.render.html import environment

    rules = load_page_rules(load_config(args.config) if args.config else None)
    article = read_page(sys.stdin.buffer.read(), args.charset, args.url, rules)
    if args.explain:
        print(f"mirror: body chosen by {article.extracted_by}", file=sys.stderr)
    page = environment().get_template("extract.html").render(article=article)
    sys.stdout.write(page)
    return 0


def _update_filters(args: argparse.Namespace) -> int:
    """Fetch ``filters.lists``; exit 1 if any list was refused (the old copy stays)."""
    config = load_config(args.config)
    results = asyncio.run(_fetch_lists(config))
    for result in results:
        print(f"mirror: {result.url}: {result.status}", flush=True)
    print("mirror: restart the mirror to apply updated lists", flush=True)
    return 0 if all(r.status in {"updated", "not modified"} for r in results) else 1


async def _fetch_lists(config: Config) -> list[UpdateResult]:
    async with Fetcher(config.fetch) as fetcher:
        directory = config.server.data_dir / LIST_DIR
        return await update_lists(fetcher, list(config.filters.lists), directory)


def _export(args: argparse.Namespace) -> int:
    from mirror.share.export import run_export
    from mirror.share.warc import run_warc_export

    config = load_config(args.config)
    depth = config.export.depth if args.depth is None else args.depth
    if args.format == "warc":
        archived = asyncio.run(run_warc_export(config, args.site, args.out, depth, args.since))
        print(archived.summary())
        return 0 if archived.ok else 1
    report = asyncio.run(run_export(config, args.site, args.out, depth=depth, since=args.since))
    print(report.summary())
    return 0 if report.ok else 1


def _keys_list(args: argparse.Namespace) -> int:
    ring = load_token_ring(load_config(args.config).server.data_dir)
    for ident in ring.keys:
        print(f"{'*' if ident == ring.current else ' '} {ident}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.server.token_key:
        raise ConfigError("server.token_key is set: rotate it there, not in the data dir")
    ring = rotate_token_ring(config.server.data_dir)
    print(f"mirror: new current token key {ring.current}; restart the mirror to use it")
    return 0


def _keys_init(args: argparse.Namespace) -> int:
    data_dir = load_config(args.config).server.data_dir
    load_token_ring(data_dir)
    load_cache_key(data_dir)
    manifest.load_signing_key(data_dir)
    print(f"mirror: keys ready in {data_dir}")
    return 0


def _keys_publisher(args: argparse.Namespace) -> int:
    """Write the private key (mode 0600, never printed) and print the public one."""
    if args.out.exists():
        raise ConfigError(f"{args.out} exists: a key file is never overwritten")
    key = Ed25519PrivateKey.generate()
    write_secret_file(args.out, signedpush.private_key_text(key).encode("ascii") + b"\n")
    public = signedpush.public_key_text(key)
    print(f"mirror: private key written to {args.out}; keep it on the publishing system only")
    print(f'mirror: add to the site\'s [[sites]] table: push_keys = ["{public}"]')
    return 0


def _keys_contributor(args: argparse.Namespace) -> int:
    """Print a new key for the contributor and the table that lets it in (only its hash)."""
    key = b64encode(secrets.token_bytes(32))
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()
    print(f"mirror: give {args.name} this key, by a safe channel: {key}")
    print("mirror: add to the configuration, then restart the mirror:")
    print(f'[[contributors]]\nname = {json.dumps(args.name)}\nkey_sha256 = "{digest}"')
    return 0


def _push(args: argparse.Namespace) -> int:
    try:
        key = signedpush.private_key_from_text(args.key.read_text("ascii"))
        html = args.file.read_bytes()
        html.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the key or the page: {exc}") from exc
    except signedpush.PushInvalid as exc:
        raise ConfigError(exc.reason) from exc
    target = args.mirror or public_url(load_config(args.config))
    sent = signedpush.sign(key, args.url, html)
    status, answer = asyncio.run(_send_push(target.rstrip("/"), sent, args.fingerprint))
    print(f"mirror: {status} {answer}")
    return 0 if status == 201 else 1


async def _send_push(
    mirror_url: str, sent: signedpush.Push, fingerprint: str | None
) -> tuple[int, str]:
    tls: aiohttp.Fingerprint | bool = True
    if fingerprint:
        tls = aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))
    headers = {"Content-Type": "application/json"}
    try:
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.post(
                mirror_url + "/api/push", data=sent.to_json(), headers=headers, ssl=tls
            ) as response,
        ):
            return response.status, await response.text()
    except aiohttp.ClientError as exc:
        raise ConfigError(f"cannot reach the mirror at {mirror_url}: {exc}") from exc


def _alternates_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    for address, status in address_book(config).statuses().items():
        _print_status(address, status, address in config.publisher.alternates)
    return 0


def _print_status(address: str, status: alternates.Status, configured: bool = False) -> None:
    """One line: address, state, when, shown or hidden, where blocked, why, and whether
    the configuration (rather than ``alternates add``) lists it."""
    parts = [address, str(status.state)]
    if status.checked:
        parts.append(status.checked)
    parts.append("hidden" if status.state in HIDDEN else "shown")
    if status.blocked_in:
        parts.append("blocked in " + ",".join(status.blocked_in))
    if configured:
        parts.append("(config)")
    if status.detail:
        parts.append(f"- {status.detail}")
    print(" ".join(parts))


def _alternates_add(args: argparse.Namespace) -> int:
    address, added = alternates.add(load_config(args.config), args.address)
    print(f"mirror: {address} {'added' if added else 'is already listed'}")
    return 0


def _alternates_remove(args: argparse.Namespace) -> int:
    address, removed = alternates.remove(load_config(args.config), args.address)
    print(f"mirror: {address} {'removed' if removed else 'is not listed'}")
    return 0 if removed else 1


def _alternates_check(args: argparse.Namespace) -> int:
    from mirror.web.checks import run_check

    config = load_config(args.config)
    statuses = asyncio.run(run_check(config))
    for address, status in statuses.items():
        _print_status(address, status, address in config.publisher.alternates)
    return 1 if any(s.state in HIDDEN for s in statuses.values()) else 0


def _manifest_sign(args: argparse.Namespace) -> int:
    from mirror.web.publisher import all_addresses

    config = load_config(args.config)
    key = manifest.load_signing_key(config.server.data_dir)
    mirrors = all_addresses(config, address_book(config))
    document = manifest.sign(key, mirrors, config.publisher.manifest_days)
    sys.stdout.buffer.write(document)
    print(f"mirror: public key {manifest.public_key_text(key)}", file=sys.stderr)
    return 0


def _manifest_verify(args: argparse.Namespace) -> int:
    if args.public_key:
        trusted = manifest.parse_public_key(args.public_key)
    else:
        data_dir = load_config(args.config).server.data_dir
        if not (data_dir / manifest.MANIFEST_KEY_FILE).exists():
            raise manifest.ManifestError(f"no key in {data_dir}: pass --public-key")
        trusted = manifest.load_signing_key(data_dir).public_key()
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise manifest.ManifestError(f"cannot read {args.file}: {exc.strerror}") from exc
    checked = manifest.verify(data, trusted)
    print(f"mirror: manifest valid until {checked.expires:%Y-%m-%d}: {' '.join(checked.mirrors)}")
    return 0


def _responder(args: argparse.Namespace) -> int:
    check_resources()
    config = load_config(args.config)
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
        Fetcher(config.fetch) as fetcher,
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


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 when the file's article is exactly what the mirror signed, 1 otherwise."""
    from mirror.share.signature import SignatureInvalid, verify

    trusted = _trusted_key(args)
    try:
        checked = verify(args.file.read_bytes(), trusted)
    except OSError as exc:
        print(f"mirror: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except SignatureInvalid as exc:
        print(f"mirror: NOT VERIFIED: {exc}", file=sys.stderr)
        return 1
    signed = checked.signed
    if checked.key_from_file:
        for line in (
            "WARNING: no --public-key given: checked against the key the file names itself.",
            "WARNING: that proves only that the file is whole: anyone can sign a forgery",
            "WARNING: with a key of their own. Compare this key with the public_key in the",
            "WARNING: mirror's /.well-known/mirrors.json, or run again with --public-key:",
            f"WARNING: {signed.public_key}",
        ):
            print(f"mirror: {line}", file=sys.stderr)
    print("mirror: verified: the article is unchanged since the mirror signed it")
    for name, value in (
        ("url", signed.url),
        ("title", signed.title),
        ("published", signed.published),
        ("saved at", signed.saved_at),
        ("source", signed.source),
        ("key", signed.public_key),
    ):
        print(f"  {name}: {_printable(value)}")
    return 0


def _trusted_key(args: argparse.Namespace) -> Ed25519PublicKey | None:
    """The key named on the command line, else the configured data dir's, else none."""
    if args.public_key:
        given = Path(args.public_key)
        text = given.read_text("ascii") if given.is_file() else args.public_key
        try:
            return parse_public_key(text)
        except ValueError as exc:
            raise ConfigError("--public-key is not an Ed25519 key (base64url or PEM)") from exc
    if args.config:
        data_dir = load_config(args.config).server.data_dir
        if not (data_dir / manifest.MANIFEST_KEY_FILE).exists():
            raise ConfigError(f"no key in {data_dir}: pass --public-key")
        return manifest.load_signing_key(data_dir).public_key()
    return None


def _printable(text: str) -> str:
    """``text`` with control and direction-changing characters escaped: a signed title is
    the origin's words, and must not drive the reader's terminal."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
