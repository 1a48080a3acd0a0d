"""Configuration: one TOML file, overridden by environment variables.

Every scalar setting is a row of ``SETTINGS`` (name, type, default, help); the README's
configuration table is checked against it by a test, so the two cannot drift apart.
A setting ``section.key`` is read from ``[section] key = ...`` in the file and overridden
by the variable ``MIRROR_SECTION_KEY``; list values in the environment are comma-separated.

Sites are a list of tables (``[[sites]]``) and come from the file only::

    [[sites]]
    name = "cdt"
    origin = "https://chinadigitaltimes.net"
    feeds = ["https://chinadigitaltimes.net/feed/"]
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mirror.errors import ConfigError

SettingType = type[str] | type[int] | type[float] | type[bool] | type[list[str]]


@dataclass(frozen=True)
class Setting:
    """One configurable value: where it lives, what it is, what it does."""

    name: str
    type: Any
    default: object
    help: str

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def env_var(self) -> str:
        return "MIRROR_" + self.name.replace(".", "_").upper()


MIB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    Setting("server.listen", str, "127.0.0.1:8443", "Address and port to serve on."),
    Setting("server.data_dir", str, "data", "Directory for the cache, keys and certificate."),
    Setting(
        "server.public_url",
        str,
        "",
        "Base URL readers use (e.g. `https://mirror.example.org`); derived from `listen` if empty.",
    ),
    Setting("server.tls_cert", str, "", "PEM certificate; a self-signed one is made if empty."),
    Setting("server.tls_key", str, "", "PEM private key for `tls_cert`."),
    Setting(
        "server.plain_http",
        bool,
        False,
        "Serve plain HTTP; only behind a TLS-terminating reverse proxy.",
    ),
    Setting(
        "server.token_key",
        str,
        "",
        "Base64url 64-byte key for link tokens; generated into the data dir if empty.",
    ),
    Setting(
        "server.open_mode",
        bool,
        False,
        "Mirror any public URL, not only pages of configured sites.",
    ),
    Setting(
        "server.workers",
        int,
        1,
        "Processes serving one listening socket; one per core scales throughput.",
    ),
    Setting(
        "fetch.timeout", float, 20.0, "Total seconds for one origin fetch, redirects and body."
    ),
    Setting("fetch.connect_timeout", float, 10.0, "Seconds to open a connection to an origin."),
    Setting(
        "fetch.header_timeout",
        float,
        15.0,
        "Seconds from a request to its headers, and longest silence while reading a body.",
    ),
    Setting("fetch.max_bytes", int, 8 * MIB, "Largest origin body accepted, after decompression."),
    Setting("fetch.ca_file", str, "", "Extra CA certificates (PEM) trusted for origins."),
    Setting(
        "fetch.allow_private_addresses",
        bool,
        False,
        "Allow origins on loopback/private addresses (never on a public mirror).",
    ),
    Setting(
        "fetch.connect_to",
        list[str],
        [],
        'Pins `"HOST:PORT:ADDR:PORT"`, as curl `--connect-to`: TLS name stays HOST.',
    ),
    Setting(
        "fetch.user_agent",
        str,
        "Mozilla/5.0 (compatible; mirror/0.1; reader proxy)",
        "The one User-Agent sent to every origin.",
    ),
    Setting(
        "fetch.accept_language",
        str,
        "",
        "Accept-Language sent to every origin (never the reader's); none if empty.",
    ),
    Setting(
        "fetch.allowed_ports",
        list[str],
        ["80", "443"],
        "Origin ports that may be fetched (`connect_to` pins are always allowed).",
    ),
    Setting(
        "fetch.proxy",
        str,
        "",
        "Upstream proxy for every fetch: `http://`, `socks5://` or `socks5h://` (Tor); "
        "proxy environment variables are never used.",
    ),
    Setting("fetch.per_origin_connections", int, 4, "Most connections open to one origin."),
    Setting(
        "fetch.max_concurrent",
        int,
        16,
        "Most origin fetches in flight at once; more wait their turn (keeps the loop responsive).",
    ),
    Setting(
        "fetch.max_retry_after",
        int,
        600,
        "Longest `Retry-After` (seconds) honoured after a 429 or 503; longer waits are cut.",
    ),
    Setting("cache.fresh_seconds", int, 600, "Seconds a stored page is served without refetching."),
    Setting(
        "cache.image_fresh_seconds",
        int,
        86400,
        "Seconds a stored image is served without refetching.",
    ),
    Setting(
        "cache.stale_while_revalidate_seconds",
        int,
        86400,
        "Past freshness, seconds a stored copy is served at once and refreshed in the background.",
    ),
    Setting(
        "cache.stale_if_error_seconds",
        int,
        0,
        "Past freshness, seconds a stored copy may stand in for a failing origin; 0: no limit.",
    ),
    Setting(
        "cache.error_seconds",
        int,
        30,
        "Seconds an origin error is remembered before the origin is asked again.",
    ),
    Setting("cache.store", str, "sqlite", "`sqlite` (a file in the data dir) or `redis`."),
    Setting(
        "cache.max_bytes",
        int,
        1024 * MIB,
        "Size bound of the SQLite store; least recently used entries are evicted.",
    ),
    Setting(
        "cache.keep_seconds",
        int,
        31536000,
        "Entries neither read nor refreshed for this long are dropped (Redis TTL, prune).",
    ),
    Setting(
        "cache.memory_bytes",
        int,
        32 * MIB,
        "Rendered pages kept in memory per process, so a cache hit is not rendered again.",
    ),
    Setting(
        "cache.redis_url", str, "redis://127.0.0.1:6379/0", "Redis server for `store = redis`."
    ),
    Setting("cache.redis_prefix", str, "mirror:", "Prefix of every Redis key the mirror writes."),
    Setting(
        "filters.lists",
        list[str],
        [
            "https://easylist.to/easylist/easylist.txt",
            "https://easylist.to/easylist/easyprivacy.txt",
        ],
        "Ad and tracker lists (Adblock Plus syntax) that `mirror filters update` downloads.",
    ),
    Setting(
        "images.max_bytes",
        int,
        5 * MIB,
        "Largest image `/r/` serves; larger ones are refused.",
    ),
    Setting(
        "server.access_log",
        bool,
        False,
        "Log one line per request: route, status and time only, never an address or URL.",
    ),
    Setting(
        "server.access_key",
        str,
        "",
        "Secret path segment (`/k/<key>/`) that unlocks `open_mode`; links made there carry it.",
    ),
    Setting(
        "limits.rate",
        float,
        0.0,
        "Requests per second allowed per client (token bucket, in memory); 0 turns it off.",
    ),
    Setting("limits.burst", int, 30, "Requests a client may make at once before `rate` applies."),
    Setting(
        "limits.client_header",
        str,
        "",
        "Header with the client address set by a trusted proxy (`X-Forwarded-For`); else the peer.",
    ),
    Setting(
        "limits.redis_url",
        str,
        "",
        "Redis shared by instances for the rate limit (`redis://host:6379/1`); in memory if empty.",
    ),
    Setting(
        "publisher.alternates",
        list[str],
        [],
        "Other addresses of this mirror, in the signed manifest and on every page.",
    ),
    Setting("publisher.manifest_days", int, 30, "Days a signed mirror manifest stays valid."),
    Setting(
        "export.depth",
        int,
        1,
        "How many links deep `mirror export` follows a site's internal links from its feeds.",
    ),
    Setting("reader.operator", str, "", "Who runs this mirror, shown on the about page."),
    Setting("reader.contact", str, "", "How to reach the operator, shown on the about page."),
    Setting(
        "reader.low_bandwidth",
        bool,
        False,
        "Show images only on request unless the reader switches them on (`?lite=0`).",
    ),
    Setting(
        "reader.download_image_bytes",
        int,
        2 * MIB,
        "Total image bytes inlined into one downloaded article (HTML or EPUB).",
    ),
    Setting("reader.feed_fresh_seconds", int, 900, "Seconds a fetched site feed is reused."),
)

SITE_FIELDS: tuple[Setting, ...] = (
    Setting(
        "sites.name",
        str,
        "",
        "Short name of a mirrored site (`[[sites]]` table), used in paths: `/s/<name>/`.",
    ),
    Setting("sites.title", str, "", "Name shown to readers; `name` if empty."),
    Setting("sites.origin", str, "", "Origin of the site, e.g. `https://chinadigitaltimes.net`."),
    Setting("sites.feeds", list[str], [], "Feed URLs of the site (RSS or Atom)."),
    Setting(
        "sites.fresh_seconds", int, 0, "Page freshness for this site; `cache.fresh_seconds` if 0."
    ),
    Setting(
        "sites.image_fresh_seconds",
        int,
        0,
        "Image freshness for this site; `cache.image_fresh_seconds` if 0.",
    ),
    Setting(
        "sites.remove",
        list[str],
        [],
        "CSS selectors of elements to remove from the site's pages, beside the ad lists.",
    ),
    Setting(
        "sites.keep_params",
        list[str],
        [],
        "Query parameters kept on the site's URLs even though they are on the tracking list.",
    ),
)


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


@dataclass(frozen=True)
class Site:
    """A mirrored site: pages under ``origin`` are mirrored without open mode."""

    name: str
    origin: str
    feeds: tuple[str, ...] = ()
    title: str = ""
    fresh_seconds: int = 0
    image_fresh_seconds: int = 0
    remove: tuple[str, ...] = ()
    keep_params: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def host(self) -> str:
        return (urlsplit(self.origin).hostname or "").lower()


@dataclass(frozen=True)
class ServerConfig:
    listen: str
    data_dir: Path
    public_url: str
    tls_cert: str
    tls_key: str
    plain_http: bool
    token_key: str = field(repr=False)
    open_mode: bool
    workers: int = 1
    access_log: bool = False
    access_key: str = field(default="", repr=False)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class FetchConfig:
    timeout: float
    max_bytes: int
    ca_file: str
    allow_private_addresses: bool
    connect_to: tuple[ConnectPin, ...]
    user_agent: str
    connect_timeout: float
    header_timeout: float
    accept_language: str
    allowed_ports: frozenset[int]
    proxy: str = field(repr=False)  # may carry the proxy's user name and password
    per_origin_connections: int
    max_concurrent: int
    max_retry_after: int


@dataclass(frozen=True)
class CacheConfig:
    fresh_seconds: int = 600
    image_fresh_seconds: int = 86400
    stale_while_revalidate_seconds: int = 86400
    stale_if_error_seconds: int = 0
    error_seconds: int = 30
    store: str = "sqlite"
    max_bytes: int = 1024 * MIB
    keep_seconds: int = 31536000
    memory_bytes: int = 32 * MIB
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)  # may hold a password
    redis_prefix: str = "mirror:"


@dataclass(frozen=True)
class FiltersConfig:
    lists: tuple[str, ...]


@dataclass(frozen=True)
class ImagesConfig:
    max_bytes: int


@dataclass(frozen=True)
class LimitsConfig:
    rate: float = 0.0
    burst: int = 30
    client_header: str = ""
    redis_url: str = field(default="", repr=False)


@dataclass(frozen=True)
class PublisherConfig:
    alternates: tuple[str, ...] = ()
    manifest_days: int = 30


@dataclass(frozen=True)
class ExportConfig:
    depth: int = 1


@dataclass(frozen=True)
class ReaderConfig:
    """What readers see: the about page, low-bandwidth default, downloads and feeds."""

    operator: str = ""
    contact: str = ""
    low_bandwidth: bool = False
    download_image_bytes: int = 2 * MIB
    feed_fresh_seconds: int = 900


@dataclass(frozen=True)
class Config:
    server: ServerConfig
    fetch: FetchConfig
    cache: CacheConfig
    sites: tuple[Site, ...]
    filters: FiltersConfig = FiltersConfig(lists=())
    images: ImagesConfig = ImagesConfig(max_bytes=5 * MIB)
    limits: LimitsConfig = LimitsConfig()
    publisher: PublisherConfig = PublisherConfig()
    export: ExportConfig = ExportConfig()
    reader: ReaderConfig = field(default_factory=ReaderConfig)

    def site_for(self, url: str) -> Site | None:
        """The configured site whose origin serves ``url``, if any."""
        parts = urlsplit(url)
        for site in self.sites:
            origin = urlsplit(site.origin)
            if parts.scheme == origin.scheme and parts.hostname == origin.hostname:
                return site
        return None

    def fresh_seconds(self, url: str, image: bool = False) -> int:
        """How long a stored copy of ``url`` is served without asking the origin."""
        site = self.site_for(url)
        if image:
            return (site and site.image_fresh_seconds) or self.cache.image_fresh_seconds
        return (site and site.fresh_seconds) or self.cache.fresh_seconds


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if given) and apply ``MIRROR_*`` overrides from ``environ``."""
    document = _read_toml(path) if path else {}
    env = os.environ if environ is None else environ
    _reject_unknown(document)
    values = {s.name: _value_for(s, document, env) for s in SETTINGS}
    base = path.parent if path else Path.cwd()
    return _build(values, document.get("sites", []), base)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc


def _reject_unknown(document: Mapping[str, Any]) -> None:
    known = {s.name for s in SETTINGS}
    for section, table in document.items():
        if section == "sites":
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        for key in table:
            if f"{section}.{key}" not in known:
                raise ConfigError(f"unknown setting {section}.{key}")


def _value_for(setting: Setting, document: Mapping[str, Any], env: Mapping[str, str]) -> object:
    if setting.env_var in env:
        return _parse_env(setting, env[setting.env_var])
    raw = document.get(setting.section, {}).get(setting.key, setting.default)
    return _check_type(setting, raw)


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


def _build(values: dict[str, Any], sites: object, base: Path) -> Config:
    data_dir = Path(values["server.data_dir"])
    server = ServerConfig(
        listen=values["server.listen"],
        data_dir=data_dir if data_dir.is_absolute() else base / data_dir,
        public_url=values["server.public_url"].rstrip("/"),
        tls_cert=values["server.tls_cert"],
        tls_key=values["server.tls_key"],
        plain_http=values["server.plain_http"],
        token_key=values["server.token_key"],
        open_mode=values["server.open_mode"],
        workers=values["server.workers"],
        access_log=values["server.access_log"],
        access_key=values["server.access_key"],
    )
    fetch = FetchConfig(
        timeout=values["fetch.timeout"],
        max_bytes=values["fetch.max_bytes"],
        ca_file=values["fetch.ca_file"],
        allow_private_addresses=values["fetch.allow_private_addresses"],
        connect_to=tuple(ConnectPin.parse(p) for p in values["fetch.connect_to"]),
        user_agent=values["fetch.user_agent"],
        connect_timeout=values["fetch.connect_timeout"],
        header_timeout=values["fetch.header_timeout"],
        accept_language=values["fetch.accept_language"],
        allowed_ports=_ports(values["fetch.allowed_ports"]),
        proxy=_proxy(values["fetch.proxy"]),
        per_origin_connections=values["fetch.per_origin_connections"],
        max_concurrent=values["fetch.max_concurrent"],
        max_retry_after=values["fetch.max_retry_after"],
    )
    if fetch.proxy and fetch.connect_to:
        raise ConfigError("fetch.connect_to pins cannot apply through fetch.proxy: use one")
    cache = CacheConfig(**{s.key: values[s.name] for s in SETTINGS if s.section == "cache"})
    if cache.store not in {"sqlite", "redis"}:
        raise ConfigError(f"cache.store must be sqlite or redis, not {cache.store!r}")
    if server.workers < 1:
        raise ConfigError("server.workers must be at least 1")
    limits = LimitsConfig(
        rate=values["limits.rate"],
        burst=values["limits.burst"],
        client_header=values["limits.client_header"],
        redis_url=values["limits.redis_url"],
    )
    publisher = PublisherConfig(
        alternates=tuple(a.rstrip("/") for a in values["publisher.alternates"]),
        manifest_days=values["publisher.manifest_days"],
    )
    _check_open_mode(server, limits)
    _check_operator_values(limits, publisher, values["export.depth"])
    reader = ReaderConfig(
        operator=values["reader.operator"],
        contact=values["reader.contact"],
        low_bandwidth=values["reader.low_bandwidth"],
        download_image_bytes=values["reader.download_image_bytes"],
        feed_fresh_seconds=values["reader.feed_fresh_seconds"],
    )
    return Config(
        server=server,
        fetch=fetch,
        cache=cache,
        sites=_parse_sites(sites),
        filters=FiltersConfig(lists=tuple(values["filters.lists"])),
        images=ImagesConfig(max_bytes=values["images.max_bytes"]),
        limits=limits,
        publisher=publisher,
        export=ExportConfig(depth=values["export.depth"]),
        reader=reader,
    )


def _ports(raw: list[str]) -> frozenset[int]:
    if not all(p.strip().isdigit() and 0 < int(p) < 65536 for p in raw):
        raise ConfigError('fetch.allowed_ports must be port numbers, e.g. ["80", "443"]')
    return frozenset(int(p) for p in raw)


def _proxy(url: str) -> str:
    parts = urlsplit(url)
    if url and (parts.scheme not in {"http", "socks5", "socks5h"} or not parts.hostname):
        raise ConfigError("fetch.proxy must be an http://, socks5:// or socks5h:// URL")
    return url


def _check_operator_values(limits: LimitsConfig, publisher: PublisherConfig, depth: int) -> None:
    if limits.rate < 0 or limits.burst < 1:
        raise ConfigError("limits.rate must be 0 or more and limits.burst 1 or more")
    for address in publisher.alternates:
        parts = urlsplit(address)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"publisher.alternates: {address!r} is not an http(s) URL")
    if publisher.manifest_days < 1 or depth < 0:
        raise ConfigError("publisher.manifest_days must be 1 or more, export.depth 0 or more")


def _check_open_mode(server: ServerConfig, limits: LimitsConfig) -> None:
    """An open mirror without a key or a rate limit is an open proxy for anyone: refuse it."""
    if server.open_mode and not server.access_key and limits.rate <= 0:
        raise ConfigError("server.open_mode needs server.access_key or limits.rate")
    if server.access_key and not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", server.access_key):
        raise ConfigError("server.access_key must be 16 to 128 characters of [A-Za-z0-9_-]")


def _parse_sites(raw: object) -> tuple[Site, ...]:
    if not isinstance(raw, list):
        raise ConfigError("sites must be an array of tables ([[sites]])")
    sites = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - {s.key for s in SITE_FIELDS}:
            fields = ", ".join(s.key for s in SITE_FIELDS)
            raise ConfigError(f"each [[sites]] table takes only {fields}")
        name = str(entry.get("name", ""))
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
            raise ConfigError(f"site name {name!r} must be a short lowercase slug, e.g. 'cdt'")
        origin = str(entry.get("origin", "")).rstrip("/")
        if urlsplit(origin).scheme not in {"http", "https"} or not urlsplit(origin).hostname:
            raise ConfigError(f"site origin {origin!r} must be an http(s) URL")
        feeds = entry.get("feeds", [])
        if not isinstance(feeds, list) or not all(isinstance(f, str) for f in feeds):
            raise ConfigError("site feeds must be a list of URLs")
        title = str(entry.get("title", ""))
        fresh = {k: entry.get(k, 0) for k in ("fresh_seconds", "image_fresh_seconds")}
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in fresh.values()
        ):
            raise ConfigError("site fresh_seconds and image_fresh_seconds must be whole seconds")
        remove, keep_params = (_string_list(entry, key) for key in ("remove", "keep_params"))
        sites.append(
            Site(
                name,
                origin,
                tuple(feeds),
                title,
                remove=remove,
                keep_params=keep_params,
                **fresh,
            )
        )
    return tuple(sites)


def _string_list(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"site {key} must be a list of strings")
    return tuple(value)


def public_url(config: Config) -> str:
    """The base URL of the mirror as readers reach it."""
    if config.server.public_url:
        return config.server.public_url
    scheme = "http" if config.server.plain_http else "https"
    host = config.server.host
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{config.server.port}"
