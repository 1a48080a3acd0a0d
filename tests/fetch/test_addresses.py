"""SSRF: every URL form that must not be fetched is refused before any connection is attempted.

Connections are counted at the socket layer (``fetch_fixtures.attempts`` wraps the loop's
``sock_connect``), names are answered by a table resolver, and the refusals run through the
real ``Fetcher``: URL checks, the policy resolver, and the connect-time socket factory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mirror.errors import AddressNotAllowed, BadRequest, FetchError, OriginUnreachable
from mirror.fetch.addresses import InvalidHost, host_address, is_public_address
from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.fetch.guard import AddressGuard
from mirror.settings import Config, load_config
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, ORIGIN_HOST, Origin
from tests.support.fetch_fixtures import Attempts, TableResolver, pipe, watch_sockets

PUBLIC = "93.184.216.34"
DNS = {
    "localhost": [["127.0.0.1", "::1"]],
    "metadata.test": [["169.254.169.254"]],
    "internal.test": [["10.1.2.3"]],
    "mixed.test": [[PUBLIC, "127.0.0.1"]],
    "v6-loopback.test": [["::1"]],
    "mapped.test": [["::ffff:10.0.0.1"]],
    "cgnat.test": [["100.64.1.1"]],
    "nat64.test": [["64:ff9b::a00:1"]],
    "sixtofour.test": [["2002:c0a8:101::1"]],
    "broadcast.test": [["255.255.255.255"]],
    "public.test": [[PUBLIC]],
}

REFUSED_URLS = [
    # IPv4 literals: loopback, private, link-local, CGNAT, multicast, reserved, broadcast
    "http://127.0.0.1/",
    "http://127.0.0.2/",
    "http://127.255.255.254/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://0.0.0.0/",
    "http://255.255.255.255/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://192.0.0.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    # numeric forms that getaddrinfo accepts and ipaddress does not
    "http://127.1/",
    "http://127.0.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://017700000001/",
    "http://0/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://0251.0376.0251.0376/",
    "http://127。0。0。1/",
    "http://①②⑦.0.0.1/",
    "http://%31%32%37.0.0.1/",
    "http://127.0.0.1.:80/",
    # IPv6 literals, and IPv6 forms that embed a refused IPv4 address
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[::8.8.8.8]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[ff02::1]/",
    "http://[fec0::1]/",
    "http://[2001:db8::1]/",
    # names whose answers are refused (one refused answer refuses the name)
    "http://localhost/",
    "http://LOCALHOST./",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # fullwidth
    "http://metadata.test/latest/meta-data/",
    "http://internal.test/",
    "http://mixed.test/",
    "http://v6-loopback.test/",
    "http://mapped.test/",
    "http://cgnat.test/",
    "http://nat64.test/",
    "http://sixtofour.test/",
    "http://broadcast.test/",
    # schemes, credentials and ports
    "ftp://public.test/",
    "file:///etc/passwd",
    "gopher://public.test:70/_GET",
    "ws://public.test/",
    "data:text/html,<p>x</p>",
    "https://user:pw@public.test/",
    "https://user@public.test/",
    "http://public.test:8080/",
    "http://public.test:22/",
    "https://public.test:6379/",
    "http://public.test:0/",
]


@pytest.fixture
async def guarded(client_name: str) -> AsyncIterator[Fetcher]:
    """A fetcher with the default settings (no pins), answering names from ``DNS``."""
    defaults = replace(load_config(None, environ={}).fetch, client=client_name)
    async with Fetcher(defaults, TableResolver(DNS)) as fetcher:
        yield fetcher


@pytest.fixture
async def pinned(config: Config) -> AsyncIterator[Fetcher]:
    """A fetcher reaching the test origin through its pin, answering other names from ``DNS``."""
    async with Fetcher(config.fetch, TableResolver(DNS)) as fetcher:
        yield fetcher


def test_there_are_at_least_sixty_forms() -> None:
    assert len(REFUSED_URLS) >= 60


async def test_every_form_is_refused_with_no_connection_attempt(
    guarded: Fetcher, attempts: Attempts
) -> None:
    """One fetcher for the whole table (a fetcher per form costs a TLS context each)."""
    let_through = []
    for url in REFUSED_URLS:
        try:
            await guarded.fetch(url, PAGE_TYPES)
        except (AddressNotAllowed, BadRequest):
            continue
        except FetchError as other:
            let_through.append(f"{url}: {type(other).__name__}")
        else:
            let_through.append(f"{url}: fetched")
    assert let_through == []
    assert attempts.made == []


async def test_a_public_answer_is_connected_to(guarded: Fetcher, attempts: Attempts) -> None:
    """The control: the sandbox sees (and stops) the attempt a public name leads to."""
    with pytest.raises(OriginUnreachable):
        await guarded.fetch("http://public.test/", PAGE_TYPES)
    assert attempts.made == [(PUBLIC, 80)]


async def test_dns_rebinding_is_caught_on_the_second_answer(
    config: Config, attempts: Attempts
) -> None:
    resolver = TableResolver({"rebind.test": [[PUBLIC], ["127.0.0.1"], [PUBLIC]]})
    async with Fetcher(config.fetch, resolver) as fetcher:
        with pytest.raises(OriginUnreachable):
            await fetcher.fetch("http://rebind.test/", PAGE_TYPES)
        with pytest.raises(AddressNotAllowed):
            await fetcher.fetch("http://rebind.test/", PAGE_TYPES)
    assert resolver.queries == ["rebind.test", "rebind.test"]
    assert attempts.made == [(PUBLIC, 80)]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/admin",
        "https://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://localhost/",
        "http://metadata.test/",
        "http://mixed.test/",
        "https://chinadigitaltimes.net:8443/",
        "file:///etc/passwd",
    ],
)
async def test_redirect_hops_are_checked(
    pinned: Fetcher, origin: Origin, attempts: Attempts, target: str
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    origin.routes["/go/"] = redirect
    with pytest.raises((AddressNotAllowed, BadRequest)):
        await pinned.fetch(f"https://{ORIGIN_HOST}/go/", PAGE_TYPES)
    assert origin.hits["/go/"] == 1
    assert set(attempts.made) <= {("127.0.0.1", origin.port)}


async def test_the_socket_factory_refuses_what_a_resolver_lets_through() -> None:
    """The connect-time check alone: a resolver with no policy answers 127.0.0.1."""
    guard = AddressGuard(allow_private=False)
    connector = aiohttp.TCPConnector(
        resolver=TableResolver({"rebound.test": [["127.0.0.1"]]}),
        socket_factory=guard.open_socket,
    )
    async with watch_sockets() as attempts, aiohttp.ClientSession(connector=connector) as session:
        for url in ("http://rebound.test/", "http://127.0.0.1:9/"):
            with pytest.raises(aiohttp.ClientConnectorError):
                await session.get(url)
    assert attempts.made == []


async def test_pins_and_allow_private_are_the_exceptions(
    config: Config, origin: Origin, attempts: Attempts
) -> None:
    async with Fetcher(config.fetch, TableResolver(DNS)) as fetcher:
        await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    assert attempts.made == [("127.0.0.1", origin.port)]
    opened = replace(config.fetch, allow_private_addresses=True, allowed_ports=frozenset({1}))
    async with Fetcher(opened, TableResolver(DNS)) as fetcher:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch("http://localhost:1/", PAGE_TYPES)
    assert not isinstance(refused.value, AddressNotAllowed)
    assert ("127.0.0.1", 1) in attempts.made or ("::1", 1) in attempts.made


async def test_proxy_environment_is_ignored(
    pinned: Fetcher, origin: Origin, attempts: Attempts, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    await pinned.fetch(ARTICLE_URL, PAGE_TYPES)
    assert attempts.made == [("127.0.0.1", origin.port)]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("2002:808:808::1", True),
        ("64:ff9b::808:808", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("192.0.0.8", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::7f00:1", False),
        ("2001::1", False),
        ("fec0::1", False),
        ("fe80::1%eth0", False),
        ("ff0e::1", False),
        ("3fff::1", False),
        ("192.88.99.1", False),
        ("::ffff:0:7f00:1", False),
    ],
)
def test_public_address_policy(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4.", "1.2.3.4"),
        ("::1", "::1"),
        ("example.com", None),
        ("127.0.0.1.nip.io", None),
    ],
)
def test_hosts_are_read_as_a_resolver_reads_them(host: str, address: str | None) -> None:
    parsed = host_address(host)
    assert parsed == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize("host", ["1.2.3.256", "0x1.0x100.1", "08.1.1.1", "a..b", "%31.0.0.1"])
def test_invalid_hosts(host: str) -> None:
    with pytest.raises(InvalidHost):
        host_address(host)


def test_guard_refuses_before_a_socket_exists() -> None:
    guard = AddressGuard(allow_private=False, exempt={("127.0.0.1", 8444)})
    with pytest.raises(ConnectionRefusedError):
        guard.open_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with guard.open_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 8444))):
        pass


async def test_curl_connected_elsewhere_than_checked_fails_closed(
    config: Config, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were curl to connect anywhere but the address just checked (a bug, a stale pooled
    connection), the address it reports having connected to gives it away: no answer."""
    from mirror.fetch import browser

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", origin.port)
        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )

    elsewhere = await asyncio.start_server(forward, "127.0.0.3", 0)
    pin = browser._connect_to

    def misdirected(curl: Any, address: str, port: int) -> object:
        return pin(curl, "127.0.0.3", elsewhere.sockets[0].getsockname()[1])

    monkeypatch.setattr(browser, "_connect_to", misdirected)
    try:
        async with Fetcher(replace(config.fetch, client="browser")) as fetcher:
            with pytest.raises(AddressNotAllowed):
                await fetcher.fetch(ARTICLE_URL, PAGE_TYPES)
    finally:
        elsewhere.close()
    assert origin.hits[ARTICLE_PATH] == 1  # it was reached, and its answer thrown away
