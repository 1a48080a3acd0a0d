"""The arrays of tables, from the file only: ``[[sites]]``, ``[[contributors]]`` and
``[[publish]]``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from mirror.errors import ConfigError
from mirror.settings.checks import key_hash, no_trailing_slash, push_keys, sources, strings
from mirror.settings.egress import client, way_names
from mirror.settings.table import at_least, setting


@dataclass(frozen=True)
class Site:
    """A mirrored site: pages under ``origin`` are mirrored without open mode."""

    name: str = setting(
        "", "Short name of a mirrored site (`[[sites]]` table), used in paths: `/s/<name>/`."
    )
    origin: str = setting(
        "",
        "Origin of the site, e.g. `https://chinadigitaltimes.net`.",
        parse=no_trailing_slash,
    )
    feeds: tuple[str, ...] = setting([], "Feed URLs of the site (RSS or Atom).", parse=strings)
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
        parse=strings,
    )
    keep_params: tuple[str, ...] = setting(
        [],
        "Query parameters kept on the site's URLs even though they are on the tracking list.",
        parse=strings,
    )

    sources: tuple[str, ...] = setting(
        [],
        "Where to look, in order, when nothing is stored and the origin refuses the mirror: "
        "`archive` (the Internet Archive's Wayback Machine).",
        parse=sources,
    )
    client: str = setting(
        "default",
        "`default`, or `browser`: fetch with a browser's TLS and HTTP/2 fingerprint "
        "(`fetch.impersonate`).",
        parse=client,
    )
    egress: tuple[str, ...] = setting(
        [],
        "Names of the ways out (`fetch.egress`) this site is fetched by; all if empty.",
        parse=way_names,
    )
    publisher_consents: bool = setting(
        False,
        "The publisher asked for this mirror: a refused way out is rested and the next tried "
        "(other sites stop at the first refusal).",
    )
    push_keys: tuple[str, ...] = setting(
        [],
        "The publisher's Ed25519 public keys (base64url): pushes to `/api/push` signed by one "
        "are stored as the site's copy.",
        parse=push_keys,
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
        parse=key_hash,
    )
    revoked: bool = setting(False, "Refuse this contributor's uploads from now on.")


def publish_url(url: str) -> str:
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
        parse=publish_url,
    )
    endpoint: str = setting(
        "",
        "S3 API endpoint for storage that is not AWS (R2, B2, Wasabi, GCS, MinIO); AWS if empty.",
        parse=no_trailing_slash,
    )
    region: str = setting("", "S3 region; the AWS configuration's if empty.")
    public_url: str = setting(
        "",
        "Base URL readers open the copy at (bucket website or CDN name), added to the live "
        "alternates and checked like them; none if empty.",
        parse=no_trailing_slash,
    )
    sites: tuple[str, ...] = setting(
        [], "Names of the sites published there; every site if empty.", parse=strings
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
