"""Configuration: one TOML file, overridden by environment variables.

Every scalar setting is written once, as a field of its section made by ``setting()``:
its TOML default, its help text and, where it needs one, a hook that converts or checks
the value. ``SETTINGS`` (the table the README's configuration table is checked against, so
the two cannot drift apart) is read from those fields, and ``load_config`` builds every
section from the same fields by name. The fields live in typed dataclasses, not in a table
the sections are generated from, because only a field written in a class body is seen by
mypy: ``config.fetch.timeout`` stays a checked ``float`` and ``CacheConfig(fresh_seconds=0)``
a checked call, and ``setting()`` ties the default (through the hook) to the field's type.

A setting ``section.key`` is read from ``[section] key = ...`` in the file and overridden
by the variable ``MIRROR_SECTION_KEY``; list values in the environment are comma-separated.

Sites are a list of tables (``[[sites]]``) and come from the file only::

    [[sites]]
    name = "cdt"
    origin = "https://chinadigitaltimes.net"
    feeds = ["https://chinadigitaltimes.net/feed/"]
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_type_hints, overload
from urllib.parse import urlsplit

from mirror.errors import ConfigError

Scalar = TypeVar("Scalar", str, int, float, bool)
Number = TypeVar("Number", int, float)
Raw = TypeVar("Raw")
Value = TypeVar("Value")

MIB = 1024 * 1024


def _unchanged(value: object) -> object:
    return value


@dataclass(frozen=True)
class Setting:
    """One configurable value: where it lives, its TOML default, what it does, how it is read."""

    name: str
    default: object
    help: str
    parse: Callable[[Any], object] = _unchanged

    @property
    def type(self) -> Any:
        """The TOML type, read off the default: every list setting is a list of strings."""
        return list[str] if isinstance(self.default, list) else type(self.default)

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def env_var(self) -> str:
        return "MIRROR_" + self.name.replace(".", "_").upper()


@overload
def setting(default: Scalar, help: str, *, secret: bool = False) -> Scalar: ...


@overload
def setting(
    default: Raw, help: str, *, parse: Callable[[Raw], Value], secret: bool = False
) -> Value: ...


def setting(
    default: Any,
    help: str,
    *,
    parse: Callable[[Any], object] = _unchanged,
    secret: bool = False,
) -> Any:
    """A section field that is also a row of ``SETTINGS``; its name is the field's.

    Typed like ``dataclasses.field``, which it returns: the field's default is ``parse``
    applied to the TOML default, so the hook must accept the default. A secret is left
    out of the section's repr, so it never reaches a log line or a traceback.
    """
    row = Setting("", default, help, parse)
    return field(default=parse(default), repr=not secret, metadata={"setting": row})


def at_least(low: Number) -> Callable[[Number], Number]:
    """A hook refusing values below ``low``."""

    def check(value: Number) -> Number:
        if value < low:
            raise ConfigError(f"must be {low} or more")
        return value

    return check


def host_and_port(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8443"`` or ``"[::1]:8443"`` as a host and a port."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def _strings(raw: list[str]) -> tuple[str, ...]:
    return tuple(raw)


def _no_trailing_slash(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class ConnectPin:
    """A curl-style ``--connect-to`` pin: connect to ``addr:addr_port`` for ``host:port``.

    >>> ConnectPin.parse("chinadigitaltimes.net:443:127.0.0.1:8444")
    ConnectPin(host='chinadigitaltimes.net', port=443, addr='127.0.0.1', addr_port=8444)
    """

    host: str
    port: int
    addr: str
    addr_port: int

    _PATTERN = re.compile(
        r"^(?P<h>[^:\[\]]+):(?P<p>\d+):(?P<a>\[[0-9a-fA-F:.]+\]|[^:]+):(?P<ap>\d+)$"
    )

    @classmethod
    def parse(cls, text: str) -> ConnectPin:
        match = cls._PATTERN.match(text.strip())
        if match is None:
            raise ConfigError(f"connect_to entry {text!r} is not HOST:PORT:ADDR:PORT")
        return cls(
            host=match["h"].lower(),
            port=int(match["p"]),
            addr=match["a"].strip("[]"),
            addr_port=int(match["ap"]),
        )


def _pins(raw: list[str]) -> tuple[ConnectPin, ...]:
    return tuple(ConnectPin.parse(p) for p in raw)


def _ports(raw: list[str]) -> frozenset[int]:
    if not all(p.strip().isdigit() and 0 < int(p) < 65536 for p in raw):
        raise ConfigError('must be port numbers, e.g. ["80", "443"]')
    return frozenset(int(p) for p in raw)


def _proxy(url: str) -> str:
    parts = urlsplit(url)
    if url and (parts.scheme not in {"http", "socks5", "socks5h"} or not parts.hostname):
        raise ConfigError("must be an http://, socks5:// or socks5h:// URL")
    return url


def _store(name: str) -> str:
    if name not in {"sqlite", "redis"}:
        raise ConfigError(f"must be sqlite or redis, not {name!r}")
    return name


def _access_key(key: str) -> str:
    if key and not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", key):
        raise ConfigError("must be 16 to 128 characters of [A-Za-z0-9_-]")
    return key


SOURCES_TRIED = frozenset({"archive"})


def _sources(raw: list[str]) -> tuple[str, ...]:
    unknown = set(raw) - SOURCES_TRIED
    if unknown:
        raise ConfigError(f"unknown source {sorted(unknown)[0]!r}: the sources are archive")
    return tuple(dict.fromkeys(raw))


def _push_keys(raw: list[str]) -> tuple[str, ...]:
    for key in raw:
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", key):
            raise ConfigError(f"{key!r} is not a base64url Ed25519 public key (43 characters)")
    return tuple(raw)


def _key_hash(text: str) -> str:
    if text and not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ConfigError("must be the SHA-256 of the key, 64 lowercase hex digits")
    return text


def _https_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError("must be an https:// URL without query or fragment")
    return url.rstrip("/")


def alternate_address(address: str) -> str:
    """An address of this mirror as readers are shown it: an http(s) URL, no trailing slash.

    The one rule for ``publisher.alternates`` and for ``mirror alternates add``.
    """
    parts = urlsplit(address.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{address!r} is not an http(s) URL")
    if parts.username is not None or parts.query or parts.fragment:
        raise ConfigError(f"{address!r} must be a base URL: no user name, query or fragment")
    return address.strip().rstrip("/")


def _alternates(raw: list[str]) -> tuple[str, ...]:
    return tuple(alternate_address(a) for a in raw)


# A host name label as certificates name them: ASCII letters, digits and inner hyphens.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
MAX_HOST_NAME = 253


def host_name(text: str) -> str | None:
    """``text`` as a lowercase DNS host name (one trailing dot dropped), or None if it is not
    one: non-ASCII (``str.lower`` turns the Kelvin sign into ``k``), empty labels, IP
    addresses, wildcards and names of a single label are all refused."""
    if not text.isascii():
        return None
    name = text.lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > MAX_HOST_NAME or len(labels) < 2 or labels[-1].isdigit():
        return None
    return name if all(_LABEL.fullmatch(label) for label in labels) else None


def _domain_patterns(raw: list[str]) -> tuple[str, ...]:
    patterns = []
    for pattern in raw:
        wildcard = pattern.startswith("*.")
        name = host_name(pattern[2:] if wildcard else pattern)
        if name is None:
            raise ConfigError(f"{pattern!r} is not a host name or a *.suffix pattern")
        patterns.append(f"*.{name}" if wildcard else name)
    return tuple(patterns)


def _countries(raw: list[str]) -> tuple[str, ...]:
    if not all(re.fullmatch(r"[A-Z]{2}", code) for code in raw):
        raise ConfigError('must be two-letter country codes in capitals, e.g. ["CN", "IR"]')
    return tuple(raw)


def _loopback_listen(listen: str) -> str:
    """Only Tor, on this machine, may reach the onion listener: it is plain HTTP and takes
    every request as the onion service's."""
    host, _, port = listen.rpartition(":")
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if listen and not (loopback and port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError('must be a loopback address and port, e.g. "127.0.0.1:8081"')
    return listen


ONION_V3 = re.compile(r"[a-z2-7]{56}\.onion")


def _onion(name: str) -> str:
    """A v3 onion name, checked down to its checksum so a mistyped name is refused at start
    rather than advertised to every reader."""
    name = name.strip().lower()
    if name and not is_v3_onion(name):
        raise ConfigError("must be a v3 onion name: 56 base32 characters and .onion")
    return name


def is_v3_onion(name: str) -> bool:
    """Whether ``name`` is a v3 onion name: base32 of the service's Ed25519 key, a two-byte
    checksum and the version byte 3 (Tor's rend-spec-v3, "Encoding onion addresses")."""
    if not ONION_V3.fullmatch(name):
        return False
    raw = base64.b32decode(name.removesuffix(".onion").upper())
    key, checksum, version = raw[:32], raw[32:34], raw[34:]
    digest = hashlib.sha3_256(b".onion checksum" + key + version).digest()
    return version == b"\x03" and digest[:2] == checksum


@dataclass(frozen=True)
class Site:
    """A mirrored site: pages under ``origin`` are mirrored without open mode."""

    name: str = setting(
        "", "Short name of a mirrored site (`[[sites]]` table), used in paths: `/s/<name>/`."
    )
    origin: str = setting(
        "",
        "Origin of the site, e.g. `https://chinadigitaltimes.net`.",
        parse=_no_trailing_slash,
    )
    feeds: tuple[str, ...] = setting([], "Feed URLs of the site (RSS or Atom).", parse=_strings)
    title: str = setting("", "Name shown to readers; `name` if empty.")
    fresh_seconds: int = setting(
        0, "Page freshness for this site; `cache.fresh_seconds` if 0.", parse=at_least(0)
    )
    image_fresh_seconds: int = setting(
        0,
        "Image freshness for this site; `cache.image_fresh_seconds` if 0.",
        parse=at_least(0),
    )
    remove: tuple[str, ...] = setting(
        [],
        "CSS selectors of elements to remove from the site's pages, beside the ad lists.",
        parse=_strings,
    )
    keep_params: tuple[str, ...] = setting(
        [],
        "Query parameters kept on the site's URLs even though they are on the tracking list.",
        parse=_strings,
    )

    sources: tuple[str, ...] = setting(
        [],
        "Where to look, in order, when nothing is stored and the origin refuses the mirror: "
        "`archive` (the Internet Archive's Wayback Machine).",
        parse=_sources,
    )
    push_keys: tuple[str, ...] = setting(
        [],
        "The publisher's Ed25519 public keys (base64url): pushes to `/api/push` signed by one "
        "are stored as the site's copy.",
        parse=_push_keys,
    )

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def host(self) -> str:
        return (urlsplit(self.origin).hostname or "").lower()


@dataclass(frozen=True)
class Contributor:
    """Someone allowed to upload captures (``[[contributors]]``), known by a hash of their
    key: the configuration never holds the key itself, and ``revoked`` shuts one out."""

    name: str = setting("", "Who the contributor is, for the operator (`[[contributors]]` table).")
    key_sha256: str = setting(
        "",
        "SHA-256 (hex) of the contributor's key, as `mirror keys contributor` prints it.",
        parse=_key_hash,
    )
    revoked: bool = setting(False, "Refuse this contributor's uploads from now on.")


def _publish_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "s3" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "file" and parts.path.startswith("/") and not parts.netloc:
        return url.rstrip("/")
    if not url:
        return url
    raise ConfigError("must be s3://bucket/prefix or file:///absolute/path")


@dataclass(frozen=True)
class PublishTarget:
    """Where ``mirror publish`` puts the static copy (``[[publish]]``). Holds no credentials:
    an S3 target takes them from the standard AWS sources (environment, profile, role)."""

    url: str = setting(
        "",
        "Where the copy goes (`[[publish]]` table): `s3://bucket/prefix` or `file:///path`.",
        parse=_publish_url,
    )
    endpoint: str = setting(
        "",
        "S3 API endpoint for storage that is not AWS (R2, B2, Wasabi, GCS, MinIO); AWS if empty.",
        parse=_no_trailing_slash,
    )
    region: str = setting("", "S3 region; the AWS configuration's if empty.")
    public_url: str = setting(
        "",
        "Base URL readers open the copy at (bucket website or CDN name), added to the live "
        "alternates and checked like them; none if empty.",
        parse=_no_trailing_slash,
    )
    sites: tuple[str, ...] = setting(
        [], "Names of the sites published there; every site if empty.", parse=_strings
    )
    every_seconds: int = setting(
        0,
        "Seconds between publishes of this target by `mirror serve`; 0: only `mirror publish`.",
        parse=at_least(0),
    )
    prune: bool = setting(
        False, "Delete published objects the mirror no longer holds (kept articles stay)."
    )

    @property
    def name(self) -> str:
        """How the target is named in logs and metrics: its URL (never a credential)."""
        return self.url


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the mirror listens, and where it keeps its data."""

    listen: str = setting("127.0.0.1:8443", "Address and port to serve on.")
    data_dir: Path = setting("data", "Directory for the cache, keys and certificate.", parse=Path)
    public_url: str = setting(
        "",
        "Base URL readers use (e.g. `https://mirror.example.org`); derived from `listen` if empty.",
        parse=_no_trailing_slash,
    )
    tls_cert: str = setting("", "PEM certificate; a self-signed one is made if empty.")
    tls_key: str = setting("", "PEM private key for `tls_cert`.")
    plain_http: bool = setting(
        False, "Serve plain HTTP; only behind a TLS-terminating reverse proxy."
    )
    token_key: str = setting(
        "",
        "Base64url 64-byte key for link tokens; generated into the data dir if empty.",
        secret=True,
    )
    open_mode: bool = setting(False, "Mirror any public URL, not only pages of configured sites.")
    workers: int = setting(
        1,
        "Processes serving one listening socket; one per core scales throughput.",
        parse=at_least(1),
    )
    access_log: bool = setting(
        False,
        "Log one line per request: route, status and time only, never an address or URL.",
    )
    uvloop: bool = setting(
        True, "Serve on uvloop's event loop where it is installed; false: asyncio's own loop."
    )
    transform_processes: int = setting(
        0,
        "Processes that turn new pages into articles and build feeds and downloads, per "
        "worker; 0: the cores shared among the workers (at least one each).",
        parse=at_least(0),
    )
    transform_timeout: float = setting(
        10.0,
        "Seconds one page may take in a transform process; past it the reader gets a 502 "
        "and the process is replaced.",
        parse=at_least(0.001),
    )
    access_key: str = setting(
        "",
        "Secret path segment (`/k/<key>/`) that unlocks `open_mode`; links made there carry it.",
        parse=_access_key,
        secret=True,
    )
    onion_listen: str = setting(
        "",
        "Loopback address and port of the plain-HTTP listener Tor's onion service points at "
        "(`127.0.0.1:8081`); it answers only for `publisher.onion`. None if empty.",
        parse=_loopback_listen,
    )

    @property
    def transform_pool_size(self) -> int:
        """``transform_processes``, with 0 meaning the cores shared among the ``workers``:
        each worker has a pool of its own, and more processes than cores only queue."""
        return self.transform_processes or max(1, (os.cpu_count() or 1) // self.workers)

    @property
    def host(self) -> str:
        return host_and_port(self.listen)[0]

    @property
    def port(self) -> int:
        return host_and_port(self.listen)[1]

    @property
    def onion_host(self) -> str:
        return self.onion_listen.rsplit(":", 1)[0].strip("[]")

    @property
    def onion_port(self) -> int:
        return int(self.onion_listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class FetchConfig:
    """How origins are fetched: time and size limits, trust, pins, proxy and manners."""

    timeout: float = setting(20.0, "Total seconds for one origin fetch, redirects and body.")
    connect_timeout: float = setting(10.0, "Seconds to open a connection to an origin.")
    header_timeout: float = setting(
        15.0, "Seconds from a request to its headers, and longest silence while reading a body."
    )
    max_bytes: int = setting(8 * MIB, "Largest origin body accepted, after decompression.")
    ca_file: str = setting("", "Extra CA certificates (PEM) trusted for origins.")
    allow_private_addresses: bool = setting(
        False, "Allow origins on loopback/private addresses (never on a public mirror)."
    )
    connect_to: tuple[ConnectPin, ...] = setting(
        [],
        'Pins `"HOST:PORT:ADDR:PORT"`, as curl `--connect-to`: TLS name stays HOST.',
        parse=_pins,
    )
    user_agent: str = setting(
        "Mozilla/5.0 (compatible; mirror/0.1; reader proxy)",
        "The one User-Agent sent to every origin.",
    )
    accept_language: str = setting(
        "", "Accept-Language sent to every origin (never the reader's); none if empty."
    )
    allowed_ports: frozenset[int] = setting(
        ["80", "443"],
        "Origin ports that may be fetched (`connect_to` pins are always allowed).",
        parse=_ports,
    )
    proxy: str = setting(
        "",
        "Upstream proxy for every fetch: `http://`, `socks5://` or `socks5h://` (Tor); "
        "proxy environment variables are never used.",
        parse=_proxy,
        secret=True,  # may carry the proxy's user name and password
    )
    per_origin_connections: int = setting(4, "Most connections open to one origin.")
    max_concurrent: int = setting(
        16,
        "Most origin fetches in flight at once; more wait their turn (keeps the loop responsive).",
    )
    max_retry_after: int = setting(
        600,
        "Longest `Retry-After` (seconds) honoured after a 429 or 503; longer waits are cut.",
    )


@dataclass(frozen=True)
class CacheConfig:
    """How long stored copies are served, and where they are stored."""

    fresh_seconds: int = setting(600, "Seconds a stored page is served without refetching.")
    image_fresh_seconds: int = setting(
        86400, "Seconds a stored image is served without refetching."
    )
    stale_while_revalidate_seconds: int = setting(
        86400,
        "Past freshness, seconds a stored copy is served at once and refreshed in the background.",
    )
    stale_if_error_seconds: int = setting(
        0,
        "Past freshness, seconds a stored copy may stand in for a failing origin; 0: no limit.",
    )
    error_seconds: int = setting(
        30, "Seconds an origin error is remembered before the origin is asked again."
    )
    store: str = setting("sqlite", "`sqlite` (a file in the data dir) or `redis`.", parse=_store)
    max_bytes: int = setting(
        1024 * MIB, "Size bound of the SQLite store; least recently used entries are evicted."
    )
    keep_seconds: int = setting(
        31536000,
        "Entries neither read nor refreshed for this long are dropped (Redis TTL, prune).",
    )
    memory_bytes: int = setting(
        32 * MIB,
        "Rendered pages kept in memory per process, so a cache hit is not rendered again.",
    )
    redis_url: str = setting(
        "redis://127.0.0.1:6379/0",
        "Redis server for `store = redis`.",
        secret=True,  # may carry the Redis password
    )
    redis_prefix: str = setting("mirror:", "Prefix of every Redis key the mirror writes.")


@dataclass(frozen=True)
class FiltersConfig:
    """The ad and tracker lists that ``mirror filters update`` downloads."""

    lists: tuple[str, ...] = setting(
        [
            "https://easylist.to/easylist/easylist.txt",
            "https://easylist.to/easylist/easyprivacy.txt",
        ],
        "Ad and tracker lists (Adblock Plus syntax) that `mirror filters update` downloads.",
        parse=_strings,
    )


@dataclass(frozen=True)
class ImagesConfig:
    """Limits on the images the mirror relays."""

    max_bytes: int = setting(5 * MIB, "Largest image `/r/` serves; larger ones are refused.")


@dataclass(frozen=True)
class LimitsConfig:
    """Abuse controls: a per-client rate limit, optionally shared through Redis."""

    rate: float = setting(
        0.0,
        "Requests per second allowed per client (token bucket, in memory); 0 turns it off.",
        parse=at_least(0.0),
    )
    burst: int = setting(
        30, "Requests a client may make at once before `rate` applies.", parse=at_least(1)
    )
    client_header: str = setting(
        "",
        "Header with the client address set by a trusted proxy (`X-Forwarded-For`); else the peer.",
    )
    redis_url: str = setting(
        "",
        "Redis shared by instances for the rate limit (`redis://host:6379/1`); in memory if empty.",
        secret=True,
    )


@dataclass(frozen=True)
class PublisherConfig:
    """What the signed manifest says about this mirror."""

    alternates: tuple[str, ...] = setting(
        [],
        "Other addresses of this mirror, in the signed manifest and on every page.",
        parse=_alternates,
    )
    manifest_days: int = setting(
        30, "Days a signed mirror manifest stays valid.", parse=at_least(1)
    )
    onion: str = setting(
        "",
        "This mirror's v3 onion name (`<56 characters>.onion`): clearnet answers carry "
        "`Onion-Location`, the manifest and every page list it.",
        parse=_onion,
    )

    @property
    def onion_url(self) -> str:
        """The onion service's address as readers' links name it; empty without one."""
        return f"http://{self.onion}" if self.onion else ""


@dataclass(frozen=True)
class ArchiveConfig:
    """Where the Internet Archive's Wayback Machine answers (a site's ``archive`` source)."""

    api_url: str = setting(
        "https://archive.org/wayback/available",
        "The Wayback Machine's availability API, asked for the capture closest to now.",
        parse=_https_base,
    )
    capture_url: str = setting(
        "https://web.archive.org/web",
        "Where raw captures are fetched: `<capture_url>/<timestamp>id_/<url>`.",
        parse=_https_base,
    )


@dataclass(frozen=True)
class PushConfig:
    """Copies sent to the mirror: signed pushes by publishers, captures by contributors."""

    window_seconds: int = setting(
        300,
        "How far a push's signed timestamp may be from the mirror's clock; nonces are kept "
        "this long.",
        parse=at_least(1),
    )
    max_bytes: int = setting(
        4 * MIB, "Largest HTML a publisher may push or a contributor upload.", parse=at_least(1)
    )


@dataclass(frozen=True)
class AlternatesConfig:
    """Fresh addresses on demand, and checks that the listed ones still work."""

    ask_domains: tuple[str, ...] = setting(
        [],
        "Names (`m3.example.org`) and suffix patterns (`*.example-cdn.net`) whose certificates "
        "`/caddy/ask` approves, beside the hosts of the listed addresses.",
        parse=_domain_patterns,
    )
    ask_key: str = setting(
        "",
        "Secret that `/caddy/ask` requires (`?key=`); if empty only loopback callers that no "
        "proxy forwarded may ask.",
        secret=True,
    )
    check_seconds: int = setting(
        0,
        "Seconds between checks of every listed address by `mirror serve`; 0: only "
        "`mirror alternates check`.",
        parse=at_least(0),
    )
    ooni_countries: tuple[str, ...] = setting(
        [],
        "Countries (`CN`, `IR`, `RU`) whose recent OONI measurements of each address are "
        "asked for; none if empty.",
        parse=_countries,
    )
    ooni_api: str = setting(
        "https://api.ooni.io",
        "Base URL of the OONI measurements API.",
        parse=_no_trailing_slash,
    )
    ooni_days: int = setting(7, "Days of OONI measurements considered.", parse=at_least(1))


@dataclass(frozen=True)
class ExportConfig:
    """How much of a site ``mirror export`` writes out."""

    depth: int = setting(
        1,
        "How many links deep `mirror export` follows a site's internal links from its feeds.",
        parse=at_least(0),
    )


@dataclass(frozen=True)
class ReaderConfig:
    """What readers see: the about page, low-bandwidth default, downloads and feeds."""

    operator: str = setting("", "Who runs this mirror, shown on the about page.")
    contact: str = setting("", "How to reach the operator, shown on the about page.")
    low_bandwidth: bool = setting(
        False, "Show images only on request unless the reader switches them on (`?lite=0`)."
    )
    download_image_bytes: int = setting(
        2 * MIB, "Total image bytes inlined into one downloaded article (HTML or EPUB)."
    )
    feed_fresh_seconds: int = setting(900, "Seconds a fetched site feed is reused.")


RELAY_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def _relay(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in RELAY_SCHEMES or not parts.hostname:
        raise ConfigError("must be an smtp://, smtp+starttls:// or smtps:// URL")
    return url


def _mail_address(address: str) -> str:
    if address and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
        raise ConfigError(f"{address!r} is not an e-mail address")
    return address


@dataclass(frozen=True)
class ResponderConfig:
    """The e-mail responder (``mirror responder``): where it listens, who it is, its relay."""

    listen: str = setting("127.0.0.1:2525", "Address and port `mirror responder` receives mail on.")
    address: str = setting(
        "",
        "The responder's e-mail address: only mail to it is answered, and answers come from it.",
        parse=_mail_address,
    )
    relay: str = setting(
        "smtp://127.0.0.1:25",
        "SMTP server that answers are sent through: `smtp://`, `smtp+starttls://` or "
        "`smtps://`, with `user:password@` if it asks for a login.",
        parse=_relay,
        secret=True,  # may carry the relay's user name and password
    )
    per_sender_per_day: int = setting(
        3,
        "Most answers one address gets in a day, counted under an HMAC of it (never the address).",
        parse=at_least(1),
    )


@dataclass(frozen=True)
class Config:
    server: ServerConfig
    fetch: FetchConfig
    cache: CacheConfig
    filters: FiltersConfig
    images: ImagesConfig
    limits: LimitsConfig
    publisher: PublisherConfig
    alternates: AlternatesConfig
    export: ExportConfig
    reader: ReaderConfig
    responder: ResponderConfig
    archive: ArchiveConfig
    push: PushConfig
    sites: tuple[Site, ...]
    contributors: tuple[Contributor, ...] = ()
    publish: tuple[PublishTarget, ...] = ()

    def site_for(self, url: str) -> Site | None:
        """The configured site whose origin serves ``url``, if any."""
        parts = urlsplit(url)
        for site in self.sites:
            origin = urlsplit(site.origin)
            if parts.scheme == origin.scheme and parts.hostname == origin.hostname:
                return site
        return None

    def is_mirrored(self, url: str) -> bool:
        """Whether a link to ``url`` stays inside the mirror: any URL in open mode, else the
        configured sites' own."""
        return self.server.open_mode or self.site_for(url) is not None

    def fresh_seconds(self, url: str, image: bool = False) -> int:
        """How long a stored copy of ``url`` is served without asking the origin."""
        site = self.site_for(url)
        if image:
            return (site and site.image_fresh_seconds) or self.cache.image_fresh_seconds
        return (site and site.fresh_seconds) or self.cache.fresh_seconds


def _rows(section: str, cls: type[Any]) -> tuple[Setting, ...]:
    return tuple(replace(f.metadata["setting"], name=f"{section}.{f.name}") for f in fields(cls))


_TABLES = frozenset({"sites", "contributors", "publish"})  # arrays of tables, from the file only
_SECTIONS: dict[str, type[Any]] = {
    name: kind for name, kind in get_type_hints(Config).items() if name not in _TABLES
}
SETTINGS: tuple[Setting, ...] = tuple(
    row for name, cls in _SECTIONS.items() for row in _rows(name, cls)
)
SITE_FIELDS: tuple[Setting, ...] = _rows("sites", Site)
CONTRIBUTOR_FIELDS: tuple[Setting, ...] = _rows("contributors", Contributor)
PUBLISH_FIELDS: tuple[Setting, ...] = _rows("publish", PublishTarget)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if given) and apply ``MIRROR_*`` overrides from ``environ``."""
    document = _read_toml(path) if path else {}
    env = os.environ if environ is None else environ
    _reject_unknown(document)
    sections = {
        name: cls(**{row.key: _value_for(row, document, env) for row in _rows(name, cls)})
        for name, cls in _SECTIONS.items()
    }
    config = Config(
        sites=_parse_sites(document.get("sites", [])),
        contributors=_parse_contributors(document.get("contributors", [])),
        publish=_parse_publish(document.get("publish", [])),
        **sections,
    )
    _check_together(config)
    data_dir = (path.parent if path else Path.cwd()) / config.server.data_dir
    return replace(config, server=replace(config.server, data_dir=data_dir))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc


def _reject_unknown(document: Mapping[str, Any]) -> None:
    known = {s.name for s in SETTINGS}
    for section, table in document.items():
        if section in _TABLES:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        for key in table:
            if f"{section}.{key}" not in known:
                raise ConfigError(f"unknown setting {section}.{key}")


def _value_for(setting: Setting, document: Mapping[str, Any], env: Mapping[str, str]) -> object:
    if setting.env_var in env:
        raw = _parse_env(setting, env[setting.env_var])
    else:
        raw = _check_type(
            setting, document.get(setting.section, {}).get(setting.key, setting.default)
        )
    try:
        return setting.parse(raw)
    except ConfigError as exc:
        raise ConfigError(f"{setting.name}: {exc}") from exc


def _parse_env(setting: Setting, text: str) -> object:
    if setting.type is bool:
        if text.lower() not in {"1", "0", "true", "false", "yes", "no"}:
            raise ConfigError(f"{setting.env_var} must be true or false")
        return text.lower() in {"1", "true", "yes"}
    if setting.type == list[str]:
        return [item.strip() for item in text.split(",") if item.strip()]
    try:
        return setting.type(text)
    except ValueError as exc:
        raise ConfigError(f"{setting.env_var}: {exc}") from exc


def _check_type(setting: Setting, raw: object) -> object:
    if setting.type == list[str]:
        if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
            raise ConfigError(f"{setting.name} must be a list of strings")
        return raw
    if setting.type is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if not isinstance(raw, setting.type) or (setting.type is int and isinstance(raw, bool)):
        raise ConfigError(f"{setting.name} must be of type {setting.type.__name__}")
    return raw


def _check_together(config: Config) -> None:
    """Refuse settings that are each valid but unsafe or impossible together.

    An open mirror without a key or a rate limit is an open proxy for anyone; pins
    cannot steer connections that a proxy makes; the onion listener checks each request's
    ``Host`` against the onion name.
    """
    server, limits = config.server, config.limits
    if server.open_mode and not server.access_key and limits.rate <= 0:
        raise ConfigError("server.open_mode needs server.access_key or limits.rate")
    if server.onion_listen and not config.publisher.onion:
        raise ConfigError("server.onion_listen needs publisher.onion, the one name it answers")
    if config.fetch.proxy and config.fetch.connect_to:
        raise ConfigError("fetch.connect_to pins cannot apply through fetch.proxy: use one")


def _parse_sites(raw: object) -> tuple[Site, ...]:
    if not isinstance(raw, list):
        raise ConfigError("sites must be an array of tables ([[sites]])")
    return tuple(_parse_site(entry) for entry in raw)


def _parse_site(entry: object) -> Site:
    if not isinstance(entry, dict) or set(entry) - {s.key for s in SITE_FIELDS}:
        names = ", ".join(s.key for s in SITE_FIELDS)
        raise ConfigError(f"each [[sites]] table takes only {names}")
    values: dict[str, Any] = {row.key: _value_for(row, {"sites": entry}, {}) for row in SITE_FIELDS}
    site = Site(**values)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", site.name):
        raise ConfigError(f"site name {site.name!r} must be a short lowercase slug, e.g. 'cdt'")
    origin = urlsplit(site.origin)
    if origin.scheme not in {"http", "https"} or not origin.hostname:
        raise ConfigError(f"site origin {site.origin!r} must be an http(s) URL")
    return site


def _parse_contributors(raw: object) -> tuple[Contributor, ...]:
    if not isinstance(raw, list):
        raise ConfigError("contributors must be an array of tables ([[contributors]])")
    names = {s.key for s in CONTRIBUTOR_FIELDS}
    contributors = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - names or "key_sha256" not in entry:
            raise ConfigError("each [[contributors]] table takes name, key_sha256 and revoked")
        values: dict[str, Any] = {
            row.key: _value_for(row, {"contributors": entry}, {}) for row in CONTRIBUTOR_FIELDS
        }
        contributors.append(Contributor(**values))
    return tuple(contributors)


def _parse_publish(raw: object) -> tuple[PublishTarget, ...]:
    if not isinstance(raw, list):
        raise ConfigError("publish must be an array of tables ([[publish]])")
    names = {s.key for s in PUBLISH_FIELDS}
    targets = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - names or not entry.get("url"):
            raise ConfigError(f"each [[publish]] table needs url and takes only {sorted(names)}")
        values: dict[str, Any] = {
            row.key: _value_for(row, {"publish": entry}, {}) for row in PUBLISH_FIELDS
        }
        targets.append(PublishTarget(**values))
    return tuple(targets)


def public_url(config: Config) -> str:
    """The base URL of the mirror as readers reach it."""
    if config.server.public_url:
        return config.server.public_url
    scheme = "http" if config.server.plain_http else "https"
    host = config.server.host
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{config.server.port}"
