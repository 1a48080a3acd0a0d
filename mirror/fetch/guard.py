"""The address policy at connect time: the resolver that refuses non-public answers and
applies ``connect_to`` pins, and the socket factory that checks the address each socket is
about to connect to (a rebinding name or a resolver bug cannot get past the second check).
"""

from __future__ import annotations

import contextvars
import socket
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from mirror.errors import (
    AddressNotAllowed,
)
from mirror.fetch.addresses import is_public_address
from mirror.settings import FetchConfig

# Addresses the socket factory refused during the current fetch (per task).
REFUSED: contextvars.ContextVar[list[str]] = contextvars.ContextVar("refused")


@dataclass
class AddressGuard:
    """The address policy at connect time, shared by the resolver and the socket factory."""

    allow_private: bool
    exempt: set[tuple[str, int]] = field(default_factory=set)

    def allows(self, address: str, port: int) -> bool:
        address = address.split("%", 1)[0]
        return self.allow_private or (address, port) in self.exempt or is_public_address(address)

    def connecting(self, address: str, port: int) -> None:
        """The check just before a connection to ``address:port`` (both clients call it);
        a refusal is noted for the fetch's error translation."""
        if not self.allows(address, port):
            refused = REFUSED.get(None)
            if refused is not None:
                refused.append(address)
            raise ConnectionRefusedError(f"{address} is not a public address")

    def open_socket(self, addr_info: aiohttp.AddrInfoType) -> socket.socket:
        """aiohttp's ``socket_factory``: refuses before a socket even exists."""
        family, kind, proto, _, sockaddr = addr_info
        self.connecting(str(sockaddr[0]), int(sockaddr[1]))
        return socket.socket(family, kind, proto)


class PolicyResolver(AbstractResolver):
    """Resolves names, applies ``connect_to`` pins, and refuses non-public answers.

    A name with any refused answer is refused whole, so a mixed answer cannot be raced.
    """

    def __init__(
        self,
        config: FetchConfig,
        guard: AddressGuard,
        inner: AbstractResolver | None = None,
    ) -> None:
        self._pins = {(p.host, p.port): p for p in config.connect_to}
        self._guard = guard
        self._inner = inner or ThreadedResolver()
        guard.exempt.update((p.addr, p.addr_port) for p in config.connect_to)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.lower().rstrip(".")
        pin = self._pins.get((name, port))
        if pin is not None:
            return [numeric_result(host, pin.addr, pin.addr_port)]
        results = await self._inner.resolve(host, port, family)
        if not all(self._guard.allows(r["host"], r["port"]) for r in results):
            raise AddressNotAllowed(f"{host} resolves to an address that is not public.")
        return results

    async def close(self) -> None:
        await self._inner.close()


def numeric_result(hostname: str, addr: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return ResolveResult(
        hostname=hostname,
        host=addr,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )
