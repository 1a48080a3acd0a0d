"""Fetching from origins: address-checked, bounded, and carrying nothing of the reader.

The origin is hostile until proven otherwise. Every hop of a fetch is checked:

* the address actually connected to must be public (``PolicyResolver``), unless the
  operator pinned the host with ``connect_to`` or allowed private addresses;
* redirects are followed here, one at a time, so each hop gets the same checks and loops
  are caught;
* bodies are read in chunks and cut off at ``max_bytes`` *after* decompression;
* only the content types a route asks for are accepted.

Nothing from the reader reaches the origin: the request carries a fixed User-Agent, no
cookies (origin cookies are thrown away by a dummy jar), no Referer, no client address.
aiohttp's exceptions are translated into ``mirror.errors`` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Collection
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    NotAnArticle,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
    TooManyRedirects,
)
from mirror.settings import ConnectPin, FetchConfig

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp"}
)
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
        "text/xml",
        "application/rdf+xml",
    }
)
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
ALLOWED_PORTS = frozenset({80, 443})


@dataclass(frozen=True)
class Fetched:
    """An origin's answer, whole and within limits."""

    url: str
    final_url: str
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Validators:
    """What a stored copy was served with, sent back so the origin can answer 304."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        sent = {}
        if self.etag:
            sent["If-None-Match"] = self.etag
        if self.last_modified:
            sent["If-Modified-Since"] = self.last_modified
        return sent


@dataclass(frozen=True)
class NotModified:
    """The origin confirmed (304) that the stored copy is still current."""

    url: str


def is_public_address(text: str) -> bool:
    """True for addresses on the public internet; False for loopback, private and the like."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class PolicyResolver(AbstractResolver):
    """Resolves names, applies ``connect_to`` pins, and refuses non-public answers.

    It is the connector's resolver, so it runs for every connection aiohttp opens,
    including each redirect hop and every retry after a DNS change.
    """

    def __init__(self, pins: Collection[ConnectPin], allow_private: bool) -> None:
        self._pins = {(p.host, p.port): p for p in pins}
        self._allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        pin = self._pins.get((host.lower().rstrip("."), port))
        if pin is not None:
            return [_numeric_result(host, pin.addr, pin.addr_port)]
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private and not all(is_public_address(r["host"]) for r in results):
            raise AddressNotAllowed(f"{host} resolves to an address that is not public.")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _numeric_result(hostname: str, addr: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return ResolveResult(
        hostname=hostname,
        host=addr,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )


class Fetcher:
    """One client session for all origin fetches; use as an async context manager."""

    def __init__(self, config: FetchConfig) -> None:
        self._config = config
        self._pinned = {(p.host, p.port) for p in config.connect_to}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            resolver=PolicyResolver(self._config.connect_to, self._config.allow_private_addresses),
            ssl=self._ssl_context(),
            limit_per_host=4,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers={"User-Agent": self._config.user_agent, "Accept": "*/*"},
            timeout=aiohttp.ClientTimeout(total=self._config.timeout, connect=10),
            auto_decompress=True,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._config.ca_file:
            context.load_verify_locations(self._config.ca_file)
        return context

    async def fetch(self, url: str, accept: frozenset[str]) -> Fetched:
        """GET ``url``, following up to ``MAX_REDIRECTS`` checked redirects."""
        result = await self.revalidate(url, accept, Validators())
        assert isinstance(result, Fetched), "no validators were sent, so no 304 is possible"
        return result

    async def revalidate(
        self, url: str, accept: frozenset[str], validators: Validators
    ) -> Fetched | NotModified:
        """Like ``fetch``, sending ``validators``; a 304 gives ``NotModified``."""
        seen: list[str] = []
        current = url
        while True:
            self._check_url(current)
            if current in seen or len(seen) > MAX_REDIRECTS:
                raise TooManyRedirects(f"Stopped after {len(seen)} redirects.")
            seen.append(current)
            result = await self._fetch_once(current, accept, validators)
            if isinstance(result, NotModified):
                return NotModified(url)
            if isinstance(result, Fetched):
                return replace(result, url=url)
            current = result

    async def _fetch_once(
        self, url: str, accept: frozenset[str], validators: Validators
    ) -> Fetched | NotModified | str:
        assert self._session is not None, "Fetcher used outside its context"
        try:
            async with self._session.get(
                url, allow_redirects=False, headers=validators.headers()
            ) as response:
                if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                    return urljoin(url, response.headers["Location"])
                if response.status == 304 and validators.headers():
                    return NotModified(url)
                if response.status != 200:
                    raise OriginStatus(response.status)
                if response.content_type not in accept:
                    raise NotAnArticle(f"The site sent {response.content_type or 'no type'}.")
                body = await self._read_capped(response)
                return Fetched(
                    url=url,
                    final_url=url,
                    content_type=response.content_type,
                    charset=response.charset,
                    body=body,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except TimeoutError as exc:
            raise OriginTimeout from exc
        except aiohttp.InvalidURL as exc:
            raise BadRequest("That address is not a valid URL.") from exc
        except aiohttp.ClientConnectorError as exc:
            raise OriginUnreachable(str(exc.os_error)) from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise OriginUnreachable(type(exc).__name__) from exc

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._config.max_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            raise TooLarge(f"The page is over the limit of {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"The page is over the limit of {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise BadRequest("Only http and https addresses can be mirrored.")
        if parts.username is not None or parts.password is not None:
            raise BadRequest("Addresses with a user name or password are refused.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.hostname, port) in self._pinned:
            return
        if port not in ALLOWED_PORTS:
            raise AddressNotAllowed(f"Port {port} is not allowed.")
        # aiohttp does not call the resolver for IP literals, so they are checked here.
        if self._config.allow_private_addresses or not _is_ip_literal(parts.hostname):
            return
        if not is_public_address(parts.hostname):
            raise AddressNotAllowed(f"{parts.hostname} is not a public address.")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
