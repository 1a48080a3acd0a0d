"""Which hosts and addresses the fetcher may connect to: the SSRF policy in one place.

Two layers use it. ``host_address`` reads the host of a URL the way a browser and
``getaddrinfo`` would (``127.1``, ``0x7f000001``, ``2130706433`` and ``0177.0.0.1`` are all
127.0.0.1), so numeric forms are judged before any lookup. ``is_public_address`` then judges
every address: the resolver applies it to each answer, and the socket factory applies it again
to the address a socket is about to connect to, which is what a rebinding name or a resolver
bug cannot get around.

IPv6 addresses that carry an IPv4 address are judged by the IPv4 address they carry
(mapped ``::ffff:0:0/96``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``); the forms whose
meaning depends on a relay or is obsolete (IPv4-compatible ``::/96``, Teredo ``2001::/32``,
local NAT64 ``64:ff9b:1::/48``, site-local ``fec0::/10``) are refused outright.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not global, but which Python's ``is_global`` (3.11) lets through or is vague about.
REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",
        "2001::/32",
        "64:ff9b:1::/48",
        "3fff::/20",
        "fec0::/10",
        "ff00::/8",
        "fe80::/10",
    )
)

_HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class InvalidHost(ValueError):
    """The host is neither a valid name nor an address in any form a resolver accepts."""


def is_public_address(address: IPAddress | str) -> bool:
    """True only for unicast addresses on the public internet."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        return _is_public_v6(address)
    return _is_public_v4(address)


def _is_public_v4(address: ipaddress.IPv4Address) -> bool:
    if any(address in network for network in REFUSED_V4):
        return False
    return address.is_global and not address.is_multicast


def _is_public_v6(address: ipaddress.IPv6Address) -> bool:
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return _is_public_v4(embedded)
    if any(address in network for network in REFUSED_V6):
        return False
    return address.is_global and not (address.is_reserved or address.is_site_local)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address routes to by construction, if it has one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def host_address(host: str) -> IPAddress | None:
    """The address ``host`` denotes, or None if it is a name to be resolved.

    Raises ``InvalidHost`` for hosts no browser would accept as a name or an address.
    """
    host = host.lower()
    if host.startswith("[") or ":" in host:
        try:
            return ipaddress.IPv6Address(host.strip("[]"))
        except ValueError as exc:
            raise InvalidHost(host) from exc
    if not _HOST_NAME.match(host):
        raise InvalidHost(host)
    labels = host.rstrip(".").split(".")
    if not _NUMBER.match(labels[-1]):
        return None
    return _whatwg_ipv4(labels)


def _whatwg_ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """The WHATWG URL Standard's IPv4 parser: 1 to 4 parts, each decimal, 0x-hex or 0-octal."""
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        raise InvalidHost(".".join(labels))
    numbers = [_ipv4_number(label) for label in labels]
    last_limit = 256 ** (5 - len(numbers))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= last_limit:
        raise InvalidHost(".".join(labels))
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int:
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        if not set(label) <= set("01234567"):
            raise InvalidHost(label)
        return int(label, 8)
    return int(label)
