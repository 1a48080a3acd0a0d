"""Abuse controls: open mode needs an access key or a rate limit, and both hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.counters import EVENT_COUNTER
from mirror.errors import ConfigError
from mirror.web.limits import RateLimiter
from tests.conftest import ARTICLE_PATH, Origin, serve_mirror
from tests.support.operator_fixtures import ONION, operator_config, serve_with_onion
from tests.support.servers import RedisServer, free_port

KEY = "reader-key-0123456789abcdef"
OTHER_SITE_URL = "https://www.chinadigitaltimes.net" + ARTICLE_PATH


def test_bucket_allows_a_burst_then_refills() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.allow("198.51.100.7", now=100.0) for _ in range(4)] == [True] * 3 + [False]
    assert limiter.allow("198.51.100.8", now=100.0)  # another client has its own bucket
    assert not limiter.allow("198.51.100.7", now=100.4)
    assert limiter.allow("198.51.100.7", now=100.6)  # 0.6 s at 2/s refilled more than one


def test_bucket_table_is_bounded_and_holds_no_address() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    for n in range(1000):
        limiter.allow(f"203.0.113.{n % 256}-{n}", now=1.0)
    assert len(limiter) == 100
    assert "203.0.113" not in repr(limiter) + repr(limiter._buckets)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("open_mode = true", "access_key"),
        ('open_mode = true\naccess_key = "short"', "access_key"),
        ("[limits]\nrate = 1.0\nburst = 0", "burst"),
        ('[publisher]\nalternates = ["javascript:alert(1)"]', "alternates"),
        ("[export]\ndepth = -1", "depth"),
    ],
)
def test_unsafe_or_impossible_values_are_refused(
    tmp_path: Path, origin: Origin, ca_file: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        operator_config(tmp_path, origin, ca_file, extra)


async def test_access_key_gates_new_sites_but_links_travel(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, f'open_mode = true\naccess_key = "{KEY}"')
    async with serve_mirror(config) as mirror:
        form = {"url": OTHER_SITE_URL}
        async with mirror.client.post(mirror.base + "/open", data=form) as refused:
            assert refused.status == 403
        async with mirror.client.post(
            mirror.base + f"/k/{KEY}/open", data=form, allow_redirects=False
        ) as made:
            assert made.status == 303
            link = made.headers["Location"]
        assert link.startswith("/m/") and KEY not in link
        response, html = await mirror.get(link)  # a shared link works without the key
        assert response.status == 200
        assert "Western Countries Turn Up the Heat on Xinjiang" in html
        home, page = await mirror.get(f"/k/{KEY}/")
        assert home.status == 200 and 'action="open"' in page


async def test_wrong_access_key_is_a_plain_404(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, f'open_mode = true\naccess_key = "{KEY}"')
    refused = EVENT_COUNTER.value("access_key_refused")
    async with serve_mirror(config) as mirror:
        wrong = KEY[:-1] + "X"
        async with mirror.client.post(
            mirror.base + f"/k/{wrong}/open", data={"url": OTHER_SITE_URL}
        ) as response:
            assert response.status == 404
            assert wrong not in await response.text()
    assert EVENT_COUNTER.value("access_key_refused") == refused + 1
    assert origin.hits[ARTICLE_PATH] == 0


async def test_without_open_mode_the_key_route_opens_nothing_new(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file)
    async with serve_mirror(config) as mirror:
        async with mirror.client.post(
            mirror.base + "/open", data={"url": OTHER_SITE_URL}
        ) as response:
            assert response.status == 403
        response, _ = await mirror.get(f"/k/{KEY}/")
        assert response.status == 404


async def test_rate_limit_refuses_a_flood_but_not_probes(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    extra = "open_mode = true\n[limits]\nrate = 0.01\nburst = 3"
    config = operator_config(tmp_path, origin, ca_file, extra)
    async with serve_mirror(config) as mirror:
        statuses = [(await mirror.get("/"))[0].status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        probe, _ = await mirror.get("/healthz")
        assert probe.status == 200
        limited, page = await mirror.get("/link-to-us")
        assert limited.status == 429 and "Too many requests" in page


async def test_rate_limit_uses_the_trusted_proxy_header(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    extra = '[limits]\nrate = 0.01\nburst = 1\nclient_header = "X-Forwarded-For"'
    config = operator_config(tmp_path, origin, ca_file, extra)
    async with serve_mirror(config) as mirror:
        for client, expected in [("192.0.2.1", 200), ("192.0.2.2", 200), ("192.0.2.1", 429)]:
            # the proxy appends the real peer; what the client wrote before it is ignored
            header = {"X-Forwarded-For": f"10.9.9.9, {client}"}
            response, _ = await mirror.get("/", headers=header)
            assert response.status == expected, client


async def test_instances_sharing_redis_share_each_clients_bucket(
    tmp_path: Path, origin: Origin, ca_file: Path, redis_server: RedisServer
) -> None:
    extra = f'[limits]\nrate = 0.01\nburst = 3\nredis_url = "{redis_server.url}"'
    config = operator_config(tmp_path, origin, ca_file, extra)
    async with serve_mirror(config) as first, serve_mirror(config) as second:
        statuses = [
            (await instance.get("/"))[0].status
            for instance in (first, second, first, second, first)
        ]
    assert statuses == [200, 200, 200, 429, 429]


async def test_redis_outage_falls_back_to_local_buckets(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    extra = f'[limits]\nrate = 0.01\nburst = 2\nredis_url = "redis://127.0.0.1:{free_port()}/1"'
    config = operator_config(tmp_path, origin, ca_file, extra)
    down = EVENT_COUNTER.value("rate_limit_store_down")
    async with serve_mirror(config) as mirror:
        statuses = [(await mirror.get("/"))[0].status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert EVENT_COUNTER.value("rate_limit_store_down") == down + 3


async def test_over_the_onion_the_proxy_header_names_no_client(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    extra = (
        f'onion_listen = "127.0.0.1:{free_port()}"\n[publisher]\nonion = "{ONION}"\n'
        '[limits]\nrate = 0.01\nburst = 1\nclient_header = "X-Forwarded-For"'
    )
    config = operator_config(tmp_path, origin, ca_file, extra)
    async with serve_with_onion(config) as (clearnet, onion):
        # Tor sets no such header: whatever an onion reader writes in it, Tor is the client.
        first, _ = await onion.get("/", headers={"X-Forwarded-For": "192.0.2.1"})
        second, _ = await onion.get("/", headers={"X-Forwarded-For": "192.0.2.2"})
        assert (first.status, second.status) == (200, 429)
        proxied, _ = await clearnet.get("/", headers={"X-Forwarded-For": "192.0.2.3"})
        assert proxied.status == 200  # on clearnet the trusted proxy's header still counts
