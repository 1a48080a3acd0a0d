"""Abuse controls: who may make the mirror fetch what, and how often.

By default only configured sites are mirrored. ``server.open_mode`` (any public URL) turns the
mirror into a proxy for anyone, so the settings refuse it unless one of two controls is on:

- an **access key**: a secret path segment, ``/k/<key>/``. Making a link to a page of a site
  that is not configured (``/k/<key>/open``) needs the key. The links themselves are sealed
  tokens that only this mirror can make, so a shared ``/m/<token>`` link keeps working for
  whoever receives it, without the key;
- a **per-client rate limit**: a token bucket per client address, in memory. Addresses are
  never stored as they are: buckets are keyed by an HMAC under a key made at start-up and
  never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from mirror.errors import MirrorError, NotFound
from mirror.metrics import count
from mirror.settings import Config, LimitsConfig

MAX_CLIENTS = 100_000
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/", "/favicon.ico")
KEY_SEGMENT = "key"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TooManyRequests(MirrorError):
    status = 429
    title = "Too many requests"
    hint = "Wait a minute, then try again."


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by client: ``burst`` requests at once, refilled at ``rate`` per second.

    The table holds at most ``max_clients`` buckets; the least recently seen goes first, so
    a flood of fresh addresses cannot exhaust memory.
    """

    def __init__(self, rate: float, burst: int, max_clients: int = MAX_CLIENTS) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max_clients = max_clients
        self._buckets: OrderedDict[bytes, Bucket] = OrderedDict()
        self._salt = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self._rate}, burst={self._burst}, clients={len(self)})"

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, client: str, now: float | None = None) -> bool:
        """Take one token from ``client``'s bucket; False when it is empty."""
        now = time.monotonic() if now is None else now
        key = hmac.new(self._salt, client.encode("utf-8"), hashlib.sha256).digest()
        bucket = self._buckets.pop(key, None) or Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


def client_address(request: web.Request, limits: LimitsConfig) -> str:
    """The socket peer, or the last hop a trusted proxy appended to ``client_header``."""
    if limits.client_header:
        forwarded = request.headers.get(limits.client_header, "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.remote or ""


def may_open_any_site(request: web.Request, config: Config) -> bool:
    """Whether this request may make a link to a page of a site that is not configured."""
    if not config.server.open_mode:
        return False
    return not config.server.access_key or KEY_SEGMENT in request.match_info


def middleware(config: Config) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse wrong access keys (a plain 404) and clients over their rate."""
    limiter = RateLimiter(config.limits.rate, config.limits.burst)
    expected = config.server.access_key.encode("utf-8")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.match_info.get(KEY_SEGMENT)
        if given is not None and not hmac.compare_digest(given.encode("utf-8"), expected):
            count("access_key_refused")
            raise NotFound
        limited = config.limits.rate > 0 and not request.path.startswith(UNLIMITED_PREFIXES)
        if limited and not limiter.allow(client_address(request, config.limits)):
            count("rate_limited")
            raise TooManyRequests
        return await handler(request)

    return guard


def keyed_routes(config: Config, routes: dict[str, Handler]) -> list[web.RouteDef]:
    """The same handlers under ``/k/{key}/``, when an access key is configured."""
    if not config.server.access_key:
        return []
    return [
        web.route(method, f"/k/{{{KEY_SEGMENT}}}{path}", handler)
        for spec, handler in routes.items()
        for method, path in [spec.split(" ", 1)]
    ]
