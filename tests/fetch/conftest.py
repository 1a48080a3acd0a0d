"""Every fetch test runs against both clients: ``config`` (and what is made from it) is the
CDT config with ``fetch.client`` set to each, and ``attempts`` watches each client's
connections where it can see them.

aiohttp's connections are watched at the socket layer (the loop's ``sock_connect``). curl
opens its own sockets, out of Python's sight, so for the browser client ``attempts`` wraps
``AddressGuard.connecting``, the check it makes just before each connection (to the address
it then pins curl to and verifies curl connected to): the attempt is recorded there, and any
that is not to loopback is stopped there, so no packet leaves the machine either way.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from mirror.fetch.guard import AddressGuard
from mirror.settings import Config, load_config
from tests.conftest import Origin
from tests.support.configs import config_toml
from tests.support.fetch_fixtures import Attempts, watch_sockets

CLIENTS = ["default", "browser"]


@pytest.fixture(params=CLIENTS)
def client_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def config(
    origin: Origin, ca_file: Path, write_config: Callable[..., Path], client_name: str
) -> Config:
    loaded = load_config(write_config(config_toml([origin.pin], ca_file)), environ={})
    return replace(loaded, fetch=replace(loaded.fetch, client=client_name))


@pytest.fixture
async def attempts(client_name: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Attempts]:
    if client_name == "default":
        async with watch_sockets() as record:
            yield record
        return
    record = Attempts()
    checked = AddressGuard.connecting

    def watched(guard: AddressGuard, address: str, port: int) -> None:
        checked(guard, address, port)
        record.made.append((address, port))
        if address not in {"127.0.0.1", "::1"}:
            raise OSError(errno.ENETUNREACH, "the test sandbox only reaches loopback")

    monkeypatch.setattr(AddressGuard, "connecting", watched)
    yield record
