"""The sections of the configuration (``[server]``, ``[fetch]``, ``[cache]`` ...), one
dataclass each, every scalar a ``setting()`` field."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mirror.settings.checks import (
    ConnectPin,
    access_key,
    https_base,
    loopback_listen,
    no_trailing_slash,
    percent,
    picture_mode,
    pins,
    pixel_widths,
    ports,
    proxy,
    store,
    strings,
)
from mirror.settings.egress import DIRECT, WayOut, client, ways_out
from mirror.settings.table import MIB, at_least, host_and_port, setting


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the mirror listens, and where it keeps its data."""

    listen: str = setting("127.0.0.1:8443", "Address and port to serve on.")
    data_dir: Path = setting("data", "Directory for the cache, keys and certificate.", parse=Path)
    public_url: str = setting(
        "",
        "Base URL readers use (e.g. `https://mirror.example.org`); derived from `listen` if empty.",
        parse=no_trailing_slash,
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
        parse=access_key,
        secret=True,
    )
    onion_listen: str = setting(
        "",
        "Loopback address and port of the plain-HTTP listener Tor's onion service points at "
        "(`127.0.0.1:8081`); it answers only for `publisher.onion`. None if empty.",
        parse=loopback_listen,
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
        parse=pins,
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
        parse=ports,
    )
    proxy: str = setting(
        "",
        "Upstream proxy for every fetch: `http://`, `socks5://` or `socks5h://` (Tor); "
        "proxy environment variables are never used.",
        parse=proxy,
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
    egress: tuple[WayOut, ...] = setting(
        [],
        'Ways out, tried in order: `"direct"`, `"NAME=URL"` with an http, socks5(h) or '
        "`tor://` URL; one (`fetch.proxy`, or direct) if empty.",
        parse=ways_out,
        secret=True,  # proxy URLs may carry credentials
    )
    rest_seconds: int = setting(
        30,
        "First rest of a way out an origin refused (doubled each time, up to "
        "`max_retry_after`); `Retry-After` if longer.",
        parse=at_least(1),
    )
    client: str = setting(
        "default",
        "The client for origins that are not a configured site (open mode): `default` or "
        "`browser`.",
        parse=client,
    )
    impersonate: str = setting(
        "chrome", "The browser whose TLS and HTTP/2 fingerprint `client = browser` presents."
    )
    tor_new_circuit: bool = setting(
        False, "Ask Tor for a new circuit for an origin that refused a `tor://` way out."
    )

    @property
    def ways_out(self) -> tuple[WayOut, ...]:
        """``egress``, or the one way out ``proxy`` (or a direct connection) makes."""
        if self.egress:
            return self.egress
        return (WayOut("proxy", self.proxy),) if self.proxy else (WayOut(DIRECT),)


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
    store: str = setting("sqlite", "`sqlite` (a file in the data dir) or `redis`.", parse=store)
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
class SearchConfig:
    """Full-text search over the stored articles (``mirror.search``)."""

    enabled: bool = setting(
        False,
        "Keep a full-text index of the stored articles (`search.sqlite3` beside the cache in"
        " the data dir) and answer searches. The index is plaintext: unlike the sealed cache,"
        " a seized disk shows which articles the mirror holds and what they say.",
    )


@dataclass(frozen=True)
class FiltersConfig:
    """The ad and tracker lists that ``mirror filters update`` downloads."""

    lists: tuple[str, ...] = setting(
        [
            "https://easylist.to/easylist/easylist.txt",
            "https://easylist.to/easylist/easyprivacy.txt",
        ],
        "Ad and tracker lists (Adblock Plus syntax) that `mirror filters update` downloads.",
        parse=strings,
    )


@dataclass(frozen=True)
class ImagesConfig:
    """Limits on the images the mirror relays."""

    max_bytes: int = setting(5 * MIB, "Largest image `/r/` serves; larger ones are refused.")
    max_width: int = setting(
        1080,
        "Widest picture `/r/` serves: wider ones are scaled down (never up) when re-encoded.",
        parse=at_least(16),
    )
    widths: tuple[int, ...] = setting(
        ["360", "720", "1080"],
        "Widths each picture is offered at (`srcset`), never wider than the picture itself "
        "nor than `max_width`.",
        parse=pixel_widths,
    )
    light_widths: tuple[int, ...] = setting(
        ["360", "720"],
        "Widths offered in the light picture mode (`?pics=light`).",
        parse=pixel_widths,
    )
    quality: int = setting(
        75, "WebP and JPEG quality (1-100) of the pictures `/r/` re-encodes.", parse=percent
    )
    light_quality: int = setting(
        40, "Quality (1-100) of the pictures of the light mode.", parse=percent
    )
    max_pixels: int = setting(
        40_000_000,
        "Most pixels (width x height, all frames of an animation together) a picture may "
        "decode to; larger ones are refused before decoding (Pillow's own limit is set to it).",
        parse=at_least(1),
    )
    max_frames: int = setting(
        300,
        "Frames an animation may have; a longer one is served as its first frame.",
        parse=at_least(1),
    )
    max_profile_bytes: int = setting(
        256 * 1024,
        "Largest colour (ICC) profile a picture may carry; else it is refused.",
        parse=at_least(0),
    )


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
class ArchiveConfig:
    """Where the Internet Archive's Wayback Machine answers (a site's ``archive`` source)."""

    api_url: str = setting(
        "https://archive.org/wayback/available",
        "The Wayback Machine's availability API, asked for the capture closest to now.",
        parse=https_base,
    )
    capture_url: str = setting(
        "https://web.archive.org/web",
        "Where raw captures are fetched: `<capture_url>/<timestamp>id_/<url>`.",
        parse=https_base,
    )


@dataclass(frozen=True)
class ReaderConfig:
    """What readers see: the about page, low-bandwidth default, downloads and feeds."""

    operator: str = setting("", "Who runs this mirror, shown on the about page.")
    contact: str = setting("", "How to reach the operator, shown on the about page.")
    low_bandwidth: bool = setting(
        False, "Show images only on request unless the reader switches them on (`?lite=0`)."
    )
    pictures: str = setting(
        "light",
        "Pictures of an article page unless the reader chooses (`?pics=`): `full`, `light` "
        "(smaller, lower quality, animations still) or `none` (on request); "
        "`low_bandwidth` makes it `none`.",
        parse=picture_mode,
    )
    download_image_bytes: int = setting(
        2 * MIB, "Total image bytes inlined into one downloaded article (HTML or EPUB)."
    )
    feed_fresh_seconds: int = setting(900, "Seconds a fetched site feed is reused.")

    @property
    def default_pictures(self) -> str:
        """The picture mode of a reader who has not chosen: ``none`` in low-bandwidth mode."""
        return "none" if self.low_bandwidth else self.pictures
