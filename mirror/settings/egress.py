"""Ways out: the routes an origin fetch may leave the machine by (``fetch.egress``).

Each is written ``"NAME=URL"`` (or ``"direct"``): the name is what logs and metrics show
(never the URL, which may carry a proxy's credentials); the URL is ``direct``, an
``http://``, ``socks5://`` or ``socks5h://`` proxy, or ``tor://HOST:PORT``, Tor's SOCKS port
with a circuit of its own for each origin (stream isolation by SOCKS user name).

>>> ways_out(["direct", "tor=tor://127.0.0.1:9050"])[1]
WayOut(name='tor', tor=True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from mirror.errors import ConfigError

PROXY_SCHEMES = frozenset({"http", "socks5", "socks5h"})
CLIENTS = frozenset({"default", "browser"})
DIRECT = "direct"


@dataclass(frozen=True)
class WayOut:
    """One way out: ``proxy`` is empty for a direct connection; ``tor`` asks for stream
    isolation per origin (and, with ``fetch.tor_new_circuit``, a new circuit on refusal)."""

    name: str
    proxy: str = field(default="", repr=False)  # may carry the proxy's credentials
    tor: bool = False


def way_out(text: str) -> WayOut:
    """``"direct"``, or ``"NAME=URL"`` with a proxy or ``tor://`` URL."""
    if text.strip() == DIRECT:
        return WayOut(DIRECT)
    name, sep, url = text.partition("=")
    name, url = name.strip(), url.strip()
    if not sep or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
        raise ConfigError(f"way out {name or text!r} must be NAME=URL with a short lowercase name")
    if url == DIRECT:
        return WayOut(name)
    parts = urlsplit(url)
    if parts.scheme == "tor" and parts.hostname:
        return WayOut(name, urlunsplit(("socks5h", parts.netloc, "", "", "")), tor=True)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ConfigError(f"way out {name!r}: the URL must be direct, http, socks5(h) or tor")
    return WayOut(name, url)


def ways_out(raw: list[str]) -> tuple[WayOut, ...]:
    found = tuple(way_out(text) for text in raw)
    names = [way.name for way in found]
    if len(set(names)) != len(names):
        raise ConfigError("fetch.egress: each way out needs a name of its own")
    return found


def client(name: str) -> str:
    if name not in CLIENTS:
        raise ConfigError(f"must be default or browser, not {name!r}")
    return name


def way_names(raw: list[str]) -> tuple[str, ...]:
    for name in raw:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
            raise ConfigError(f"{name!r} is not the name of a way out")
    return tuple(dict.fromkeys(raw))
