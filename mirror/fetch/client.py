"""Fetching from origins: address-checked, bounded, polite, and carrying nothing of the reader.

The origin is hostile until proven otherwise. Every hop of a fetch is checked:

* the URL: http(s) only, no credentials, an allowed port, a host read the way a resolver
  reads it (``addresses.host_address``), so ``http://0x7f000001/`` is judged as 127.0.0.1;
* every DNS answer (``guard.PolicyResolver``) and then the address each socket is about to connect
  to (``guard.AddressGuard.open_socket``, aiohttp's ``socket_factory``): a rebinding name or a
  resolver bug cannot slip past the second check. ``connect_to`` pins and
  ``allow_private_addresses`` are the operator's explicit exceptions. Through a proxy, the
  proxy connects: URL hosts are still checked here, and names are resolved and checked
  first unless the proxy is ``socks5h://`` (Tor), which must resolve names itself;
* redirects are followed here, one at a time, so each hop gets the same checks; loops and
  more than ``MAX_REDIRECTS`` hops are refused; ``Refresh`` headers are ignored;
* deadlines: connect, headers, and a total one over all hops and the body, so a trickling
  origin fails at the total deadline, not per read;
* bodies are inflated here (``inflate.Inflater``), never by aiohttp, so the *decoded* size is
  capped at ``max_bytes`` however the origin compresses it; a Content-Length over the cap is
  refused before reading;
* only the content types a route asks for are accepted.

Politeness: at most ``per_origin_connections`` connections per origin (and
``max_concurrent`` fetches in flight in all, which keeps the event loop responsive), and
an origin that answers 429/503 with ``Retry-After`` is not asked again before then
(bounded by ``max_retry_after``). Nothing from the reader reaches the origin: a fixed User-Agent, no
cookies (origin cookies are dropped by a dummy jar), no Referer, no client address, no
Accept-Language unless the operator sets one. Proxy environment variables are ignored
(``trust_env=False``); the only upstream proxy is ``fetch.proxy``.

aiohttp's exceptions are translated into ``mirror.errors`` in ``translated_errors`` and
nowhere else.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

import aiohttp
import aiohttp_socks
from aiohttp.abc import AbstractResolver
from python_socks import ProxyType
from yarl import URL

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    NotAnArticle,
    NotAtOrigin,
    OriginBroken,
    OriginChallenged,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
    TooManyRedirects,
)
from mirror.fetch.addresses import InvalidHost, host_address
from mirror.fetch.backoff import Backoff
from mirror.fetch.guard import REFUSED, AddressGuard, PolicyResolver
from mirror.fetch.inflate import ACCEPT_ENCODING, BodyTooLarge, BrokenEncoding, Inflater
from mirror.settings import FetchConfig

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
BACKOFF_STATUSES = frozenset({429, 503})
ABSENT_STATUSES = frozenset({404, 410})
PROXY_FAILED = "The site could not be reached through the proxy."
CHUNK_BYTES = 64 * 1024
COOKIE_HEADERS = frozenset({"set-cookie", "set-cookie2", "cookie"})


@dataclass(frozen=True)
class Fetched:
    """An origin's answer, whole and within limits.

    ``status``, ``reason`` and ``headers`` are the final answer's as the origin sent them,
    less its cookies (``recorded_headers``), so the response can be archived as fetched;
    ``body`` is decoded (``Content-Encoding`` undone).
    """

    url: str
    final_url: str
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    reason: str = "OK"
    headers: tuple[tuple[str, str], ...] = ()


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


def recorded_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """An origin's response headers as they are kept and archived: in order, without the
    cookies it tried to set (kept, they would tie an archive or a replay to a session)."""
    return tuple((name, value) for name, value in headers if name.lower() not in COOKIE_HEADERS)


def _redirect_target(url: str, location: str) -> str:
    try:
        return str(URL(url).join(URL(location)))
    except ValueError as exc:
        raise OriginBroken("The site redirected to an invalid address.") from exc


@contextmanager
def translated_errors(config: FetchConfig) -> Iterator[None]:
    """The one place where aiohttp's, the proxy's and the inflater's exceptions become ours."""
    refused: list[str] = []
    token = REFUSED.set(refused)
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise OriginTimeout(f"No connection within {config.connect_timeout:g} s.") from exc
    except aiohttp_socks.ProxyTimeoutError as exc:
        raise OriginTimeout("The proxy did not connect in time.") from exc
    except TimeoutError as exc:
        raise OriginTimeout(f"No answer within {config.header_timeout:g} s.") from exc
    except aiohttp.InvalidURL as exc:
        raise BadRequest("That address is not a valid URL.") from exc
    except aiohttp.ClientConnectorError as exc:
        if refused:
            raise AddressNotAllowed("The site's address is not public.") from exc
        raise OriginUnreachable(str(exc.os_error)) from exc
    except (aiohttp_socks.ProxyError, aiohttp_socks.ProxyConnectionError) as exc:
        # Their text names the proxy and may quote its address with the credentials.
        raise OriginUnreachable(PROXY_FAILED) from exc
    except (aiohttp.ClientPayloadError, asyncio.IncompleteReadError) as exc:
        raise OriginBroken("The page was cut short.") from exc
    except BodyTooLarge as exc:
        raise TooLarge(f"The page is over the limit of {config.max_bytes} bytes.") from exc
    except BrokenEncoding as exc:
        raise OriginBroken(f"The page is not valid: {exc}.") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise OriginUnreachable(type(exc).__name__) from exc
    finally:
        REFUSED.reset(token)


class Fetcher:
    """One client session for all origin fetches; use as an async context manager.

    ``resolver`` replaces the system resolver under the policy (a test seam: tests answer
    names themselves to play DNS rebinding and mixed answers); ``clock`` times the waits
    origins ask for (``Backoff``; a test seam too).
    """

    def __init__(
        self,
        config: FetchConfig,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._pinned = {(p.host, p.port) for p in config.connect_to}
        self._guard = AddressGuard(config.allow_private_addresses)
        self._inner_resolver = resolver
        self._resolver: PolicyResolver | None = None
        self._backoff = Backoff(config.max_retry_after, clock)
        # Fetches in flight at once: more would make bursts of loop work (every response
        # arriving at once) that stall all readers; the rest wait their turn.
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._inflating = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._resolver = PolicyResolver(self._config, self._guard, self._inner_resolver)
        headers = {
            "User-Agent": self._config.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if self._config.accept_language:
            headers["Accept-Language"] = self._config.accept_language
        self._session = aiohttp.ClientSession(
            connector=self._connector(),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers=headers,
            # Waiting for a free connection (per-origin limit) counts against the total
            # deadline only: the connect deadline is for opening one connection, and the
            # header deadline runs from the request, as a read deadline (which also ends a
            # body that stops arriving; one that trickles ends at the total deadline).
            timeout=aiohttp.ClientTimeout(
                sock_connect=self._config.connect_timeout,
                sock_read=self._config.header_timeout,
            ),
            auto_decompress=False,
        )
        return self

    def _connector(self) -> aiohttp.TCPConnector:
        """A direct connector, or one that tunnels every connection through ``fetch.proxy``."""
        assert self._resolver is not None, "made in __aenter__"
        context = self._ssl_context()
        per_origin = self._config.per_origin_connections
        if not self._config.proxy:
            return aiohttp.TCPConnector(
                resolver=self._resolver,
                socket_factory=self._guard.open_socket,
                ssl=context,
                limit_per_host=per_origin,
                use_dns_cache=False,
            )
        url = URL(self._config.proxy)
        return aiohttp_socks.ProxyConnector(
            proxy_type=ProxyType.HTTP if url.scheme == "http" else ProxyType.SOCKS5,
            host=url.host or "",
            port=url.port or 1080,
            username=url.user,
            password=url.password,
            rdns=True,
            ssl=context,
            limit_per_host=per_origin,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()
        self._inflating.shutdown(wait=False, cancel_futures=True)

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
        try:
            async with self._slots, asyncio.timeout(self._config.timeout):
                return await self._follow(url, accept, validators)
        except TimeoutError as exc:
            raise OriginTimeout(f"Not complete within {self._config.timeout:g} s.") from exc

    async def _follow(
        self, url: str, accept: frozenset[str], validators: Validators
    ) -> Fetched | NotModified:
        seen: list[str] = []
        current = url
        while True:
            await self._check_url(current)
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
        origin = str(URL(url).origin())
        self._backoff.check(origin)
        with translated_errors(self._config):
            async with self._session.get(
                url, allow_redirects=False, headers=validators.headers()
            ) as response:
                if response.headers.get("cf-mitigated", "").lower() == "challenge":
                    raise OriginChallenged("The site's CDN answered with a challenge.")
                if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                    return _redirect_target(url, response.headers["Location"])
                if response.status == 304 and validators.headers():
                    return NotModified(url)
                if response.status in BACKOFF_STATUSES:
                    self._backoff.record(origin, response.headers.get("Retry-After"))
                if response.status in ABSENT_STATUSES:
                    raise NotAtOrigin(response.status, url)
                if response.status != 200:
                    raise OriginStatus(response.status)
                if response.content_type not in accept:
                    raise NotAnArticle(f"The site sent {response.content_type or 'no type'}.")
                return Fetched(
                    url=url,
                    final_url=url,
                    content_type=response.content_type,
                    charset=response.charset,
                    body=await self._read_capped(response),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    status=response.status,
                    reason=response.reason or "",
                    headers=recorded_headers(response.headers.items()),
                )

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, refused as soon as it (or any encoded layer) passes the cap."""
        limit = self._config.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise BodyTooLarge
        inflater = Inflater(response.headers.get("Content-Encoding", ""), limit)
        chunks: list[bytes] = []
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            # Inflating is CPU work (zlib, brotli and zstd release the GIL): a thread keeps
            # the event loop serving everyone else while a large page is decoded. One
            # thread, not a pool: more threads fight the loop for the GIL (bench/loop_lag.py).
            if inflater.compressed:
                loop = asyncio.get_running_loop()
                chunks.append(await loop.run_in_executor(self._inflating, inflater.feed, chunk))
            else:
                chunks.append(inflater.feed(chunk))
        inflater.finish()
        return b"".join(chunks)

    async def _check_url(self, url: str) -> None:
        """Refuse what no connection should be attempted for, before any connection."""
        try:
            parts = URL(url)
        except ValueError as exc:
            raise BadRequest("That address is not a valid URL.") from exc
        if parts.scheme not in {"http", "https"} or not parts.raw_host:
            raise BadRequest("Only http and https addresses can be mirrored.")
        if parts.user is not None or parts.password is not None:
            raise BadRequest("Addresses with a user name or password are refused.")
        host, port = parts.raw_host.lower(), parts.port or 0
        if (host.rstrip("."), port) in self._pinned:
            return
        if port not in self._config.allowed_ports:
            raise AddressNotAllowed(f"Port {port} is not allowed.")
        try:
            address = host_address(host)
        except InvalidHost as exc:
            raise BadRequest("That address has an invalid host name.") from exc
        if address is not None and not self._guard.allows(str(address), port):
            raise AddressNotAllowed(f"{address} is not a public address.")
        if address is not None and str(address) != host.strip("[]"):
            raise BadRequest(f"Write the address as {address}.")
        if address is None and self._config.proxy.startswith(("http:", "socks5:")):
            assert self._resolver is not None, "Fetcher used outside its context"
            with translated_errors(self._config):
                await self._resolver.resolve(host, port)
