"""Fetching from origins: address-checked, bounded, polite, and carrying nothing of the reader.

The origin is hostile until proven otherwise. ``Fetcher`` holds what is the same whichever
client speaks to the origin (``plain.PlainClient``, aiohttp, or ``browser.BrowserClient``,
curl with a browser's fingerprint, per site: ``client``), and which way out it leaves by
(``fetch.egress``):

* the URL: http(s) only, no credentials, an allowed port, a host read the way a resolver
  reads it (``addresses.host_address``), so ``http://0x7f000001/`` is judged as 127.0.0.1;
  every DNS answer is checked (``guard.PolicyResolver``), and each client checks the address
  it connects to. ``connect_to`` pins and ``allow_private_addresses`` are the operator's
  explicit exceptions. Through a proxy, the proxy connects: URL hosts are still checked
  here, and names are resolved and checked first unless the proxy is ``socks5h://`` (Tor),
  which must resolve names itself;
* redirects are followed here, one at a time, so each hop gets the same checks; loops and
  more than ``MAX_REDIRECTS`` hops are refused; ``Refresh`` headers are ignored;
* a total deadline over every way out tried, all hops and the body (``fetch.timeout``, the
  reader's time budget); the clients keep the connect and header deadlines;
* only the content types a route asks for are accepted, and a body is read only then.

Politeness: at most ``per_origin_connections`` requests at once per origin, whichever way
out they take, and ``max_concurrent`` fetches in flight in all (which keeps the event loop
responsive). An origin that answers 429/503 with ``Retry-After`` is not asked again through
that way out before then (bounded by ``max_retry_after``), and one that refuses a way out is
not asked through it again before its rest is over (``egress.Health``); only a site whose
publisher consents is tried through the next way out. Nothing from the reader reaches the
origin: a fixed User-Agent (the default client's, or the impersonated browser's), no
cookies, no Referer, no client address, no Accept-Language unless the operator sets one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    FetchError,
    NotAnArticle,
    NotAtOrigin,
    OriginBroken,
    OriginChallenged,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    TooManyRedirects,
)
from mirror.fetch.addresses import InvalidHost, host_address
from mirror.fetch.backoff import AskedToWait, Backoff
from mirror.fetch.egress import Health, is_refusal, refused_by_site
from mirror.fetch.guard import AddressGuard, PolicyResolver
from mirror.fetch.plain import PROXY_FAILED, PlainClient
from mirror.fetch.reply import Client, content_type
from mirror.settings import FetchConfig, Site, WayOut

__all__ = [
    "FEED_TYPES",
    "IMAGE_TYPES",
    "PAGE_TYPES",
    "PROXY_FAILED",
    "Fetched",
    "Fetcher",
    "NotModified",
    "Validators",
    "recorded_headers",
]

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


def is_challenged(headers: CIMultiDictProxy[str]) -> bool:
    return headers.get("cf-mitigated", "").lower() == "challenge"


@dataclass(frozen=True)
class Route:
    """How one URL is fetched: by which client, through which ways out, in order."""

    client: Client
    ways: tuple[WayOut, ...]
    rotates: bool  # past a refusal, to the next way out (the publisher consents)


class OriginSlots:
    """At most ``size`` requests at once per origin, whichever client and way out; an
    origin's semaphore lives only while a request to it waits or runs."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._held: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, origin: str) -> AsyncIterator[None]:
        semaphore, users = self._held.get(origin, (asyncio.Semaphore(self._size), 0))
        self._held[origin] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._held[origin]
            if users == 1:
                del self._held[origin]
            else:
                self._held[origin] = (semaphore, users - 1)


class Fetcher:
    """The clients for all origin fetches; use as an async context manager.

    ``resolver`` replaces the system resolver under the policy (a test seam: tests answer
    names themselves to play DNS rebinding and mixed answers). ``sites`` choose a client
    and ways out for their origins; other URLs use ``fetch.client`` and the first way out.
    ``clock`` times rests and ``Retry-After`` (a seam for tests).
    """

    def __init__(
        self,
        config: FetchConfig,
        resolver: AbstractResolver | None = None,
        sites: Iterable[Site] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._sites = tuple(sites)
        self._pinned = {(p.host, p.port) for p in config.connect_to}
        self._guard = AddressGuard(config.allow_private_addresses)
        self._inner_resolver = resolver
        self._resolver: PolicyResolver | None = None
        self._backoff = Backoff(config.max_retry_after, clock)
        self.health = Health(config, clock)
        # Fetches in flight at once: more would make bursts of loop work (every response
        # arriving at once) that stall all readers; the rest wait their turn.
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._origins = OriginSlots(config.per_origin_connections)
        self._clients: dict[str, Client] = {}

    async def __aenter__(self) -> Self:
        self._resolver = PolicyResolver(self._config, self._guard, self._inner_resolver)
        wanted = {self._config.client, *(site.client for site in self._sites)}
        for name in sorted(wanted):
            client = self._new_client(name, self._resolver)
            self._clients[name] = client
            await client.open()
        return self

    def _new_client(self, name: str, resolver: PolicyResolver) -> Client:
        if name == "browser":
            # Imported only when a site needs it: curl_cffi loads libcurl-impersonate.
            from mirror.fetch.browser import BrowserClient

            return BrowserClient(self._config, self._guard, resolver)
        return PlainClient(self._config, self._guard, resolver)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self._clients.values():
            await client.close()
        if self._resolver is not None:
            await self._resolver.close()

    async def fetch(self, url: str, accept: frozenset[str]) -> Fetched:
        """GET ``url``, following up to ``MAX_REDIRECTS`` checked redirects."""
        result = await self.revalidate(url, accept, Validators())
        assert isinstance(result, Fetched), "no validators were sent, so no 304 is possible"
        return result

    async def revalidate(
        self,
        url: str,
        accept: frozenset[str],
        validators: Validators,
        refuses: Callable[[bytes], bool] | None = None,
    ) -> Fetched | NotModified:
        """Like ``fetch``, sending ``validators``; a 304 gives ``NotModified``. A body that
        ``refuses`` tells a refusal by (a bot wall's page) counts as the origin's refusal."""
        try:
            async with self._slots, asyncio.timeout(self._config.timeout):
                return await self._by_ways_out(url, accept, validators, refuses)
        except TimeoutError as exc:
            raise OriginTimeout(f"Not complete within {self._config.timeout:g} s.") from exc

    def route(self, url: str) -> Route:
        """The client and ways out for ``url``: its site's, else the defaults."""
        parts = URL(url)
        site = next(
            (s for s in self._sites if (parts.scheme, parts.host) == _scheme_host(s.origin)),
            None,
        )
        ways = self._config.ways_out
        if site is not None and site.egress:
            ways = tuple(way for way in ways if way.name in site.egress)
        rotates = site is not None and site.publisher_consents
        name = site.client if site is not None else self._config.client
        return Route(self._clients[name], ways if rotates else ways[:1], rotates)

    async def _by_ways_out(
        self,
        url: str,
        accept: frozenset[str],
        validators: Validators,
        refuses: Callable[[bytes], bool] | None,
    ) -> Fetched | NotModified:
        """Each way out in turn until one serves. A refusal is counted; for a site whose
        publisher consents it rests that way out for this origin and the next is tried,
        for any other it ends the attempt (such a route has one way out)."""
        route = self.route(url)
        origin = _origin(url)
        refusal: FetchError | None = None
        for way in route.ways:
            resting = self.health.resting(way, origin)
            if resting:
                refusal = refusal or AskedToWait(f"Refused lately; asked again in {resting:.0f} s.")
                continue
            try:
                result = await self._follow(url, accept, validators, route.client, way)
                if refuses is not None and isinstance(result, Fetched) and refuses(result.body):
                    raise OriginChallenged("The site sent a challenge page instead of the page.")
            except AskedToWait as waiting:
                refusal = refusal or waiting
                continue
            except FetchError as error:
                if not is_refusal(error):
                    raise
                self.health.refused(way, origin, rest=route.rotates)
                if not route.rotates:
                    raise
                # The site's own refusal says more than a later way out's failure to answer.
                if refusal is None or not refused_by_site(refusal):
                    refusal = error
                continue
            self.health.served(way, origin)
            return result
        raise refusal or OriginStatus(503, "No way out is configured for this site.")

    async def _follow(
        self,
        url: str,
        accept: frozenset[str],
        validators: Validators,
        client: Client,
        way: WayOut,
    ) -> Fetched | NotModified:
        seen: list[str] = []
        current = url
        while True:
            await self._check_url(current, way)
            if current in seen or len(seen) > MAX_REDIRECTS:
                raise TooManyRedirects(f"Stopped after {len(seen)} redirects.")
            seen.append(current)
            result = await self._fetch_once(current, accept, validators, client, way)
            if isinstance(result, NotModified):
                return NotModified(url)
            if isinstance(result, Fetched):
                return replace(result, url=url)
            current = result

    async def _fetch_once(
        self,
        url: str,
        accept: frozenset[str],
        validators: Validators,
        client: Client,
        way: WayOut,
    ) -> Fetched | NotModified | str:
        origin = _origin(url)
        waiting = f"{way.name} {origin}"
        self._backoff.check(waiting)

        def wants_body(status: int, headers: CIMultiDictProxy[str]) -> bool:
            kind = content_type(headers.get("Content-Type", ""))[0]
            return status == 200 and kind in accept and not is_challenged(headers)

        routed = self.health.route(way, origin)
        async with (
            self._origins.hold(origin),
            client.exchange(url, validators.headers(), routed, wants_body) as reply,
        ):
            if is_challenged(reply.headers):
                raise OriginChallenged("The site's CDN answered with a challenge.")
            if reply.status in REDIRECT_STATUSES and "Location" in reply.headers:
                return _redirect_target(url, reply.headers["Location"])
            if reply.status == 304 and validators.headers():
                return NotModified(url)
            if reply.status in BACKOFF_STATUSES:
                self._backoff.record(waiting, reply.headers.get("Retry-After"))
            if reply.status in ABSENT_STATUSES:
                raise NotAtOrigin(reply.status, url)
            if reply.status != 200:
                raise OriginStatus(reply.status)
            if reply.content_type not in accept:
                raise NotAnArticle(f"The site sent {reply.content_type or 'no type'}.")
            return Fetched(
                url=url,
                final_url=url,
                content_type=reply.content_type,
                charset=reply.charset,
                body=await reply.body(),
                etag=reply.headers.get("ETag"),
                last_modified=reply.headers.get("Last-Modified"),
                status=reply.status,
                reason=reply.reason,
                headers=recorded_headers(reply.headers.items()),
            )

    async def _check_url(self, url: str, way: WayOut) -> None:
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
        if address is None and way.proxy.startswith(("http:", "socks5:")):
            assert self._resolver is not None, "Fetcher used outside its context"
            try:
                await self._resolver.resolve(host, port)
            except OSError as exc:
                raise OriginUnreachable(type(exc).__name__) from exc


def _origin(url: str) -> str:
    """Who is asked: scheme, host and port (a URL ``_check_url`` will refuse is its own)."""
    try:
        return str(URL(url).origin())
    except ValueError:
        return url


def _scheme_host(origin: str) -> tuple[str, str | None]:
    parts = URL(origin)
    return parts.scheme, parts.host
