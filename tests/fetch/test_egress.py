"""Ways out: a refused one is rested for that origin and the next is tried within the
reader's time budget (only for a site whose publisher consents), ``Retry-After`` is obeyed,
rested ways are tried again after their rest, and the metrics count it by way-out name.

Three real proxies on loopback (``tests/support/egress_fixtures.py``): the origin refuses
the first by the address it leaves from, the second hangs, the third serves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web
from prometheus_client import generate_latest

from mirror.counters import WAYS_OUT, registry
from mirror.errors import OriginStatus
from mirror.fetch import plain
from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.fetch.egress import isolation_user
from mirror.settings import Config
from mirror.settings.egress import way_out
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, ORIGIN_HOST, Origin, serve_mirror
from tests.support.egress_fixtures import WayOutProxy, running, three_ways_out
from tests.support.fetch_fixtures import InFlight, TableResolver

REFUSED_FROM = "127.0.0.2"
FEED = frozenset({"application/rss+xml"})
NAMES = {ORIGIN_HOST: [["93.184.216.34"]], "www." + ORIGIN_HOST: [["93.184.216.34"]]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


REMOTES: dict[int, list[str]] = {}  # origin port: the address each request came from


def asked(origin: Origin, proxies: list[WayOutProxy]) -> list[int]:
    """How many requests went out by each way out: the origin saw those of the first and
    the third by their addresses; the second hangs, so its connections are counted."""
    remotes = REMOTES[origin.port]
    return [remotes.count(REFUSED_FROM), len(proxies[1].targets), remotes.count("127.0.0.4")]


@pytest.fixture
def refusing(origin: Origin) -> Origin:
    """The origin refuses requests that come from ``REFUSED_FROM`` (the first way out)."""
    served = origin.routes[ARTICLE_PATH]
    origin.routes["refused"] = served  # kept for tests that let the first way in again
    remotes = REMOTES[origin.port] = []

    async def by_address(request: web.Request) -> web.StreamResponse:
        remotes.append(request.remote or "")
        if request.remote == REFUSED_FROM:
            return web.Response(status=403, text="Access denied")
        return await served(request)

    origin.routes[ARTICLE_PATH] = by_address
    return origin


@pytest.fixture
async def proxies(refusing: Origin) -> AsyncIterator[list[WayOutProxy]]:
    async with three_ways_out(refusing.port) as started:
        yield started


def egress_config(config: Config, proxies: list[WayOutProxy], consents: bool) -> Config:
    a, b, c = (p.port for p in proxies)
    ways = (
        way_out(f"a=socks5h://127.0.0.1:{a}"),
        way_out(f"b=http://127.0.0.1:{b}"),
        way_out(f"c=socks5h://127.0.0.1:{c}"),
    )
    fetch = replace(
        config.fetch,
        egress=ways,
        connect_to=(),
        timeout=3.0,
        header_timeout=0.5,
        connect_timeout=0.5,
        rest_seconds=30,
    )
    sites = tuple(replace(site, publisher_consents=consents) for site in config.sites)
    return replace(config, fetch=fetch, sites=sites)


def counted(event: str) -> dict[str, float]:
    return {name: WAYS_OUT.value(event, name) for name in "abc"}


async def test_refused_then_timed_out_then_served_within_the_budget(
    config: Config, refusing: Origin, proxies: list[WayOutProxy], article_html: bytes
) -> None:
    cfg, clock = egress_config(config, proxies, consents=True), Clock()
    refused_before, recovered_before = counted("refused"), counted("recovered")
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, clock) as fetcher:
        started = time.monotonic()
        fetched = await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
        elapsed = time.monotonic() - started
        assert fetched.body == article_html
        assert elapsed < cfg.fetch.timeout
        assert asked(refusing, proxies) == [1, 1, 1]
        ways = cfg.fetch.ways_out
        assert [fetcher.health.resting(w, f"https://{ORIGIN_HOST}") for w in ways] == [30, 30, 0]

        await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)  # the rested ways are not asked
        assert asked(refusing, proxies) == [1, 1, 2]

        let_in = refusing.routes["refused"]

        async def counted_in(request: web.Request) -> web.StreamResponse:
            REMOTES[refusing.port].append(request.remote or "")
            return await let_in(request)

        refusing.routes[ARTICLE_PATH] = counted_in  # the first way out is let in
        clock.now += 31
        await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
        assert asked(refusing, proxies) == [2, 1, 2]
    refused, recovered = counted("refused"), counted("recovered")
    assert {n: refused[n] - refused_before[n] for n in "abc"} == {"a": 1, "b": 1, "c": 0}
    assert {n: recovered[n] - recovered_before[n] for n in "abc"} == {"a": 1, "b": 0, "c": 0}
    scrape = generate_latest(registry()).decode()
    assert 'mirror_way_out_events_total{event="refused",way_out="a"}' in scrape
    assert "127.0.0.1" not in scrape and ORIGIN_HOST not in scrape


async def test_rests_grow_and_retry_after_is_obeyed(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    async def busy(request: web.Request) -> web.Response:
        REMOTES[refusing.port].append(request.remote or "")
        if request.remote == REFUSED_FROM:
            return web.Response(status=429, headers={"Retry-After": "120"})
        return web.Response(text="<p>x</p>", content_type="text/html")

    refusing.routes["/busy/"] = busy
    cfg, clock = egress_config(config, proxies, consents=True), Clock()
    first = cfg.fetch.ways_out[0]
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, clock) as fetcher:
        await fetcher.fetch(f"https://{ORIGIN_HOST}/busy/", PAGE_TYPES)
        assert fetcher.health.resting(first, f"https://{ORIGIN_HOST}") == 30
        clock.now += 31  # the rest is over, Retry-After is not: the origin is not asked
        await fetcher.fetch(f"https://{ORIGIN_HOST}/busy/", PAGE_TYPES)
        assert asked(refusing, proxies)[0] == 1
        clock.now += 90
        await fetcher.fetch(f"https://{ORIGIN_HOST}/busy/", PAGE_TYPES)
        assert asked(refusing, proxies)[0] == 2
        assert fetcher.health.resting(first, f"https://{ORIGIN_HOST}") == 60  # doubled


async def test_without_the_publishers_consent_the_first_refusal_ends_the_attempt(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    cfg = egress_config(config, proxies, consents=False)
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, Clock()) as fetcher:
        with pytest.raises(OriginStatus) as refused:
            await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert refused.value.origin_status == 403
    assert asked(refusing, proxies) == [1, 0, 0]


async def test_a_site_uses_only_its_own_ways_out(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    cfg = egress_config(config, proxies, consents=True)
    cfg = replace(cfg, sites=tuple(replace(s, egress=("c",)) for s in cfg.sites))
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, Clock()) as fetcher:
        await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert asked(refusing, proxies) == [0, 0, 1]


async def test_tor_isolates_each_origin_and_a_refusal_asks_for_a_new_circuit(
    config: Config, refusing: Origin
) -> None:
    async with running(WayOutProxy(refusing.port, source=REFUSED_FROM)) as tor:
        fetch = replace(
            config.fetch,
            egress=(way_out(f"tor=tor://127.0.0.1:{tor.port}"),),
            connect_to=(),
            tor_new_circuit=True,
        )
        sites = tuple(replace(site, publisher_consents=True) for site in config.sites)
        async with Fetcher(fetch, TableResolver(NAMES), sites, Clock()) as fetcher:
            with pytest.raises(OriginStatus):
                await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
            await fetcher.fetch(
                f"https://www.{ORIGIN_HOST}/feed/", frozenset({"application/rss+xml"})
            )
    users = [user for user, _ in tor.credentials]
    assert (
        users[0] == isolation_user(ORIGIN_HOST) != users[-1] == isolation_user("www." + ORIGIN_HOST)
    )
    assert (
        fetcher.health.route(fetch.ways_out[0], f"https://{ORIGIN_HOST}").proxy.count("circuit-1")
        == 1
    )


async def test_past_the_circuit_bound_origins_still_never_share_one(
    config: Config, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one Tor session, each origin's fetch goes over a circuit of its own
    instead of riding another origin's (the oldest session retires; curl may keep a
    connection of its own pool)."""
    monkeypatch.setattr(plain, "TOR_SESSIONS", 1)
    feed = f"https://www.{ORIGIN_HOST}/feed/"
    async with running(WayOutProxy(origin.port)) as tor:
        fetch = replace(
            config.fetch, egress=(way_out(f"tor=tor://127.0.0.1:{tor.port}"),), connect_to=()
        )
        async with Fetcher(fetch, TableResolver(NAMES), config.sites, Clock()) as fetcher:
            for url, types in ((ARTICLE_URL, PAGE_TYPES), (feed, FEED), (ARTICLE_URL, PAGE_TYPES)):
                await fetcher.fetch(url, types)
    users = [user for user, _ in tor.credentials]
    hosts = [target.rsplit(":", 1)[0] for target in tor.targets]
    assert users == [isolation_user(host) for host in hosts]  # each connection its origin's
    assert set(hosts) == {ORIGIN_HOST, "www." + ORIGIN_HOST}


async def test_every_way_out_refused_gives_the_sites_refusal_not_the_timeout(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    async def nobody(request: web.Request) -> web.Response:
        return web.Response(status=403, text="Access denied")

    refusing.routes[ARTICLE_PATH] = nobody
    cfg = egress_config(config, proxies, consents=True)
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, Clock()) as fetcher:
        with pytest.raises(OriginStatus) as refused:
            await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert refused.value.origin_status == 403
    assert [len(p.targets) for p in proxies] == [1, 1, 1]


async def test_the_reader_is_served_through_the_third_way_out(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    """The whole mirror, as a reader meets it: the second way out hangs over SOCKS too (no
    name is resolved here, so no resolver seam is needed)."""
    cfg = egress_config(config, proxies, consents=True)
    b = proxies[1].port
    ways = (cfg.fetch.egress[0], way_out(f"b=socks5h://127.0.0.1:{b}"), cfg.fetch.egress[2])
    cfg = replace(cfg, fetch=replace(cfg.fetch, egress=ways))
    async with serve_mirror(cfg) as running:
        started = time.monotonic()
        response, page = await running.get(f"/s/cdt{ARTICLE_PATH}")
        elapsed = time.monotonic() - started
    assert response.status == 200
    assert "Western Countries Turn Up the Heat on Xinjiang" in page
    assert elapsed < cfg.fetch.timeout
    assert asked(refusing, proxies) == [1, 1, 1]


async def test_per_origin_concurrency_holds_across_ways_out(
    config: Config, refusing: Origin, proxies: list[WayOutProxy]
) -> None:
    flight = InFlight()

    async def counted(request: web.Request) -> web.Response:
        await flight.hold()
        status = 403 if request.remote == REFUSED_FROM else 200
        return web.Response(status=status, text="<p>x</p>", content_type="text/html")

    refusing.routes["/counted/"] = counted
    cfg = egress_config(config, proxies, consents=True)
    cfg = replace(
        cfg,
        fetch=replace(
            cfg.fetch, per_origin_connections=1, egress=(cfg.fetch.egress[0], cfg.fetch.egress[2])
        ),
    )
    async with Fetcher(cfg.fetch, TableResolver(NAMES), cfg.sites, Clock()) as fetcher:
        url = f"https://{ORIGIN_HOST}/counted/"
        await asyncio.gather(*(fetcher.fetch(url, PAGE_TYPES) for _ in range(6)))
    assert flight.most == 1
    assert refusing.hits["/counted/"] >= 6
