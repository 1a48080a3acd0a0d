"""Configuration: one TOML file, overridden by environment variables.

Every scalar setting is written once, as a field of its section made by ``setting()``:
its TOML default, its help text and, where it needs one, a hook that converts or checks
the value. ``SETTINGS`` (the table docs/operators/configuration.md is generated from, so
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

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from mirror.errors import ConfigError
from mirror.settings.checks import (
    RELAY_SCHEMES,
    ConnectPin,
    alternate_address,
    host_name,
    is_v3_onion,
)
from mirror.settings.egress import WayOut
from mirror.settings.outreach import (
    AlternatesConfig,
    ExportConfig,
    PublisherConfig,
    PushConfig,
    ResponderConfig,
)
from mirror.settings.sections import (
    ArchiveConfig,
    CacheConfig,
    FetchConfig,
    FiltersConfig,
    ImagesConfig,
    LimitsConfig,
    ReaderConfig,
    SearchConfig,
    ServerConfig,
)
from mirror.settings.table import Setting, host_and_port
from mirror.settings.tables import Contributor, PublishTarget, Site

__all__ = [
    "CONTRIBUTOR_FIELDS",
    "PUBLISH_FIELDS",
    "RELAY_SCHEMES",
    "SETTINGS",
    "SITE_FIELDS",
    "AlternatesConfig",
    "ArchiveConfig",
    "CacheConfig",
    "Config",
    "ConnectPin",
    "Contributor",
    "ExportConfig",
    "FetchConfig",
    "FiltersConfig",
    "ImagesConfig",
    "LimitsConfig",
    "PublishTarget",
    "PublisherConfig",
    "PushConfig",
    "ReaderConfig",
    "ResponderConfig",
    "SearchConfig",
    "ServerConfig",
    "Setting",
    "Site",
    "WayOut",
    "alternate_address",
    "host_and_port",
    "host_name",
    "is_v3_onion",
    "load_config",
    "public_url",
]


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
    search: SearchConfig = field(default_factory=SearchConfig)
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
    names = {way.name for way in config.fetch.ways_out}
    for site in config.sites:
        if set(site.egress) - names:
            raise ConfigError(f"site {site.name}: egress names a way out not in fetch.egress")
    if any(way.proxy for way in config.fetch.ways_out) and config.fetch.connect_to:
        raise ConfigError("fetch.connect_to pins cannot apply through a proxy: use one")


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
