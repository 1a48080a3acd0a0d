"""The origin that refuses clients by their TLS ClientHello and their pace
(``tests/support/fingerprints.py``): the default client is refused, the browser-like one
served, and asked again too soon, told to wait."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import trustme

from mirror.errors import OriginStatus
from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.settings import Config, ConnectPin
from tests.conftest import ORIGIN_HOST
from tests.support.fingerprints import FingerprintOrigin, fingerprint_origin

URL = f"https://{ORIGIN_HOST}/2026/12/article/"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def refusing(test_ca: trustme.CA, clock: Clock) -> AsyncIterator[FingerprintOrigin]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert(ORIGIN_HOST).configure_cert(context)
    async with fingerprint_origin(context, clock) as origin:
        yield origin


def pinned(config: Config, origin: FingerprintOrigin, client: str) -> Config:
    pin = ConnectPin(ORIGIN_HOST, 443, "127.0.0.1", origin.port)
    return replace(config, fetch=replace(config.fetch, client=client, connect_to=(pin,)))


async def test_the_default_client_is_refused_and_the_browser_like_one_served(
    config: Config, refusing: FingerprintOrigin
) -> None:
    async with Fetcher(pinned(config, refusing, "default").fetch) as fetcher:
        with pytest.raises(OriginStatus) as refused:
            await fetcher.fetch(URL, PAGE_TYPES)
    assert refused.value.origin_status == 403
    async with Fetcher(pinned(config, refusing, "browser").fetch) as fetcher:
        fetched = await fetcher.fetch(URL, PAGE_TYPES)
    assert fetched.body == b"<p>The article.</p>"
    (plain_ja3, plain_status), (browser_ja3, browser_status) = refusing.answers
    assert (plain_status, browser_status) == (403, 200)
    assert plain_ja3 != browser_ja3
    hellos = list(refusing.hellos.values())
    assert [hello.greases for hello in hellos] == [False, True]


async def test_a_browser_like_client_asking_too_fast_is_told_to_wait(
    config: Config, refusing: FingerprintOrigin, clock: Clock
) -> None:
    async with Fetcher(pinned(config, refusing, "browser").fetch) as fetcher:
        await fetcher.fetch(URL, PAGE_TYPES)
        clock.now += 0.2
        with pytest.raises(OriginStatus) as paced:
            await fetcher.fetch(URL, PAGE_TYPES)
        assert paced.value.origin_status == 429
        clock.now += 5
        with pytest.raises(OriginStatus):  # Retry-After is obeyed: not asked again yet
            await fetcher.fetch(URL, PAGE_TYPES)
    assert [status for _, status in refusing.answers] == [200, 429]
