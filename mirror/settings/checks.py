"""The hooks that convert and check settings' values: addresses, hosts, onion names,
proxies, keys and lists. Each raises ``ConfigError`` naming what is wrong."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from mirror.errors import ConfigError


def strings(raw: list[str]) -> tuple[str, ...]:
    return tuple(raw)


def no_trailing_slash(url: str) -> str:
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


def pins(raw: list[str]) -> tuple[ConnectPin, ...]:
    return tuple(ConnectPin.parse(p) for p in raw)


def ports(raw: list[str]) -> frozenset[int]:
    if not all(p.strip().isdigit() and 0 < int(p) < 65536 for p in raw):
        raise ConfigError('must be port numbers, e.g. ["80", "443"]')
    return frozenset(int(p) for p in raw)


def pixel_widths(raw: list[str]) -> tuple[int, ...]:
    """Picture widths in pixels, smallest first, each once."""
    if not raw or not all(w.strip().isdigit() and 16 <= int(w) <= 8192 for w in raw):
        raise ConfigError('must be widths in pixels from 16 to 8192, e.g. ["360", "720"]')
    return tuple(sorted({int(w) for w in raw}))


def picture_mode(mode: str) -> str:
    if mode not in {"full", "light", "none"}:
        raise ConfigError(f"must be full, light or none, not {mode!r}")
    return mode


def proxy(url: str) -> str:
    parts = urlsplit(url)
    if url and (parts.scheme not in {"http", "socks5", "socks5h"} or not parts.hostname):
        raise ConfigError("must be an http://, socks5:// or socks5h:// URL")
    return url


def percent(value: int) -> int:
    if not 1 <= value <= 100:
        raise ConfigError("must be from 1 to 100")
    return value


def store(name: str) -> str:
    if name not in {"sqlite", "redis"}:
        raise ConfigError(f"must be sqlite or redis, not {name!r}")
    return name


def access_key(key: str) -> str:
    if key and not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", key):
        raise ConfigError("must be 16 to 128 characters of [A-Za-z0-9_-]")
    return key


SOURCES_TRIED = frozenset({"archive"})


def sources(raw: list[str]) -> tuple[str, ...]:
    unknown = set(raw) - SOURCES_TRIED
    if unknown:
        raise ConfigError(f"unknown source {sorted(unknown)[0]!r}: the sources are archive")
    return tuple(dict.fromkeys(raw))


def push_keys(raw: list[str]) -> tuple[str, ...]:
    for key in raw:
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", key):
            raise ConfigError(f"{key!r} is not a base64url Ed25519 public key (43 characters)")
    return tuple(raw)


def key_hash(text: str) -> str:
    if text and not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ConfigError("must be the SHA-256 of the key, 64 lowercase hex digits")
    return text


def https_base(url: str) -> str:
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


def alternates(raw: list[str]) -> tuple[str, ...]:
    return tuple(alternate_address(a) for a in raw)


LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


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
    return name if all(LABEL.fullmatch(label) for label in labels) else None


def domain_patterns(raw: list[str]) -> tuple[str, ...]:
    patterns = []
    for pattern in raw:
        wildcard = pattern.startswith("*.")
        name = host_name(pattern[2:] if wildcard else pattern)
        if name is None:
            raise ConfigError(f"{pattern!r} is not a host name or a *.suffix pattern")
        patterns.append(f"*.{name}" if wildcard else name)
    return tuple(patterns)


def countries(raw: list[str]) -> tuple[str, ...]:
    if not all(re.fullmatch(r"[A-Z]{2}", code) for code in raw):
        raise ConfigError('must be two-letter country codes in capitals, e.g. ["CN", "IR"]')
    return tuple(raw)


def loopback_listen(listen: str) -> str:
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


def onion(name: str) -> str:
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


RELAY_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def relay(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in RELAY_SCHEMES or not parts.hostname:
        raise ConfigError("must be an smtp://, smtp+starttls:// or smtps:// URL")
    return url


def mail_address(address: str) -> str:
    if address and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
        raise ConfigError(f"{address!r} is not an e-mail address")
    return address
