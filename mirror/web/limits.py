"""Abuse controls: who may make the mirror fetch what, and how often.

By default only configured sites are mirrored. ``server.open_mode`` (any public URL) turns the
mirror into a proxy for anyone, so the settings refuse it unless one of two controls is on:

- an **access key**: a secret path segment, ``/k/<key>/``. Making a link to a page of a site
  that is not configured (``/k/<key>/open``) needs the key. The links themselves are sealed
  tokens that only this mirror can make, so a shared ``/m/<token>`` link keeps working for
  whoever receives it, without the key;
- a **per-client rate limit**: a token bucket per client address, in memory, or in Redis
  when several instances share one (``limits.redis_url``). Addresses are never stored as
  they are: buckets are keyed by an HMAC, under a key made at start-up (memory) or derived
  from the data dir's cache key (Redis, so every instance names a client alike).

A Redis outage must not take the mirror down, nor lift the limit: each instance then falls
back to its own buckets until Redis answers again.
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
from redis.exceptions import RedisError

from mirror.addresses.onion import over_onion
from mirror.counters import count
from mirror.errors import MirrorError, NotFound
from mirror.keys import derive, load_cache_key
from mirror.settings import Config, LimitsConfig
from mirror.store.redis import connect

MAX_CLIENTS = 100_000
REDIS_TIMEOUT = 0.5
REDIS_PREFIX = b"mirror:rate:"
# One bucket per key, on Redis's own clock so instances' clocks never disagree.
BUCKET_SCRIPT = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call("TIME")
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call("HMGET", KEYS[1], "tokens", "updated")
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
end
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "updated", tostring(now))
redis.call("EXPIRE", KEYS[1], math.ceil(burst / rate) + 1)
return allowed
"""
# /caddy/ask: Caddy asks for every handshake naming a new host; limiting it as one client
# would refuse the operator's own fresh addresses while someone sprays random names.
UNLIMITED_PREFIXES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
    "/favicon.ico",
    "/caddy/ask",
)
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

    async def check(self, client: str) -> bool:
        return self.allow(client)

    def allow(self, client: str, now: float | None = None) -> bool:
        """Take one token from ``client``'s bucket; False when it is empty."""
        now = time.monotonic() if now is None else now
        key = client_key(self._salt, client)
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


class SharedRateLimiter:
    """The same token buckets, in Redis, for instances that share it."""

    def __init__(self, url: str, rate: float, burst: int, secret: bytes) -> None:
        self._rate = rate
        self._burst = burst
        self._salt = derive(secret, b"mirror rate-limit clients")
        self._redis = connect(url, REDIS_TIMEOUT)
        self._bucket = self._redis.register_script(BUCKET_SCRIPT)
        self._fallback = RateLimiter(rate, burst)

    def __repr__(self) -> str:
        return f"SharedRateLimiter(rate={self._rate}, burst={self._burst})"

    async def check(self, client: str) -> bool:
        key = REDIS_PREFIX + client_key(self._salt, client).hex().encode("ascii")
        try:
            allowed = await self._bucket(keys=[key], args=[self._rate, self._burst])
        except RedisError:
            count("rate_limit_store_down")
            return self._fallback.allow(client)
        return bool(allowed)

    async def close(self) -> None:
        await self._redis.aclose()


def client_key(salt: bytes, client: str) -> bytes:
    return hmac.new(salt, client.encode("utf-8"), hashlib.sha256).digest()


def client_address(request: web.Request, limits: LimitsConfig, onion: bool = False) -> str:
    """The socket peer, or the last hop a trusted proxy appended to ``client_header``.

    Over the onion service (``onion``) no proxy of ours sets that header, so a reader could
    name any client in it: the peer, Tor, stands for every onion reader alike."""
    if limits.client_header and not onion:
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


class Guard:
    """Refuses wrong access keys (a plain 404) and clients over their rate.

    Call ``guard.admit`` for each request and add ``guard.close`` to the app's ``on_cleanup``.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._expected = config.server.access_key.encode("utf-8")
        limits = config.limits
        self._rate_limited = limits.rate > 0
        self._limiter: RateLimiter | SharedRateLimiter = (
            SharedRateLimiter(
                limits.redis_url, limits.rate, limits.burst, load_cache_key(config.server.data_dir)
            )
            if limits.redis_url
            else RateLimiter(limits.rate, limits.burst)
        )

    async def admit(self, request: web.Request) -> None:
        """Raise a plain 404 for a wrong access key, ``TooManyRequests`` for a client over
        its rate; called by the server's one middleware, inside its error pages."""
        given = request.match_info.get(KEY_SEGMENT)
        if given is not None and not hmac.compare_digest(given.encode("utf-8"), self._expected):
            count("access_key_refused")
            raise NotFound
        if self._rate_limited and not request.path.startswith(UNLIMITED_PREFIXES):
            client = client_address(request, self._config.limits, over_onion(self._config, request))
            if not await self._limiter.check(client):
                count("rate_limited")
                raise TooManyRequests

    async def close(self, app: web.Application) -> None:
        if isinstance(self._limiter, SharedRateLimiter):
            await self._limiter.close()


def keyed_routes(config: Config, routes: dict[str, Handler]) -> list[web.RouteDef]:
    """The same handlers under ``/k/{key}/``, when an access key is configured."""
    if not config.server.access_key:
        return []
    return [
        web.route(method, f"/k/{{{KEY_SEGMENT}}}{path}", handler)
        for spec, handler in routes.items()
        for method, path in [spec.split(" ", 1)]
    ]
