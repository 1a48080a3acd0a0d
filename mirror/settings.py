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
    Setting("fetch.timeout", float, 20.0, "Total seconds allowed for one origin fetch."),
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
    Setting("cache.fresh_seconds", int, 600, "Seconds a stored page is served without refetching."),
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


@dataclass(frozen=True)
class CacheConfig:
    fresh_seconds: int


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
    reader: ReaderConfig = field(default_factory=ReaderConfig)

    def site_for(self, url: str) -> Site | None:
        """The configured site whose origin serves ``url``, if any."""
        parts = urlsplit(url)
        for site in self.sites:
            origin = urlsplit(site.origin)
            if parts.scheme == origin.scheme and parts.hostname == origin.hostname:
                return site
        return None


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
    )
    fetch = FetchConfig(
        timeout=values["fetch.timeout"],
        max_bytes=values["fetch.max_bytes"],
        ca_file=values["fetch.ca_file"],
        allow_private_addresses=values["fetch.allow_private_addresses"],
        connect_to=tuple(ConnectPin.parse(p) for p in values["fetch.connect_to"]),
        user_agent=values["fetch.user_agent"],
    )
    cache = CacheConfig(fresh_seconds=values["cache.fresh_seconds"])
    reader = ReaderConfig(
        operator=values["reader.operator"],
        contact=values["reader.contact"],
        low_bandwidth=values["reader.low_bandwidth"],
        download_image_bytes=values["reader.download_image_bytes"],
        feed_fresh_seconds=values["reader.feed_fresh_seconds"],
    )
    return Config(server=server, fetch=fetch, cache=cache, sites=_parse_sites(sites), reader=reader)


def _parse_sites(raw: object) -> tuple[Site, ...]:
    if not isinstance(raw, list):
        raise ConfigError("sites must be an array of tables ([[sites]])")
    sites = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - {"name", "title", "origin", "feeds"}:
            raise ConfigError("each [[sites]] table takes name, title, origin and feeds")
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
        sites.append(Site(name=name, origin=origin, feeds=tuple(feeds), title=title))
    return tuple(sites)


def public_url(config: Config) -> str:
    """The base URL of the mirror as readers reach it."""
    if config.server.public_url:
        return config.server.public_url
    scheme = "http" if config.server.plain_http else "https"
    host = config.server.host
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{config.server.port}"
