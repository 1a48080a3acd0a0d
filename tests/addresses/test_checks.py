"""Which addresses still work: real TLS servers on loopback under real-looking names.

The genuine alternate is this mirror itself behind another name (as Caddy's on-demand names
are); the others are a server whose certificate is for another name, one serving a
manifest signed by another key, one replaying an old manifest of ours, and a port where
nothing answers. The checker reaches them as it would in production, by name with normal
TLS verification, through ``connect_to`` pins and the test CA file. OONI is a local TLS
stand-in answering ``/api/v1/measurements`` as OONI documents it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import trustme
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses import alternates, manifest
from mirror.addresses.alternates import State, address_book
from mirror.addresses.checks import measured_blocked, run_check
from mirror.cli import main
from mirror.settings import Config, load_config
from mirror.web.server import create_app
from tests.conftest import serve_mirror, start_site
from tests.support.configs import config_toml
from tests.support.servers import free_port

PUBLIC = "https://mirror.example.org"
GENUINE = "https://m1.example-cdn.net"
WRONG_CERT = "https://m2.example-cdn.net"
OTHER_KEY = "https://m3.example-cdn.net"
REPLAYED = "https://m4.example-cdn.net"
SILENT = "https://m5.example-cdn.net"
LISTED = (GENUINE, WRONG_CERT, OTHER_KEY, REPLAYED, SILENT)
OONI_HOST = "api.ooni.test"


def host(address: str) -> str:
    return address.removeprefix("https://")


def context_for(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def serving(body: bytes) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/.well-known/mirrors.json", handler)
    return app


@dataclass
class Ooni:
    """The stand-in's answers by (domain, country), and the queries it was sent."""

    port: int = 0
    results: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)
    down: bool = False


def ooni_app(state: Ooni) -> web.Application:
    """``GET /api/v1/measurements`` as OONI's API documents it: filters in the query, a
    ``metadata`` object and a ``results`` list of measurements with ``anomaly``,
    ``confirmed`` and ``failure``; a malformed filter is a 400."""

    async def measurements(request: web.Request) -> web.Response:
        query = dict(request.query)
        state.queries.append(query)
        if state.down:
            return web.json_response({"error": "Internal error"}, status=500)
        since = query.get("since", "")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", since):
            return web.json_response({"error": "Invalid since"}, status=400)
        if query.get("test_name") != "web_connectivity" or len(query.get("probe_cc", "")) != 2:
            return web.json_response({"error": "Invalid query"}, status=400)
        found = state.results.get((query.get("domain", ""), query["probe_cc"]), [])
        limit = int(query.get("limit", "100"))
        return web.json_response(
            {
                "metadata": {"count": len(found), "limit": limit, "offset": 0, "next_url": None},
                "results": found[:limit],
            }
        )

    app = web.Application()
    app.router.add_get("/api/v1/measurements", measurements)
    return app


def measurement(domain: str, country: str, **flags: bool) -> dict[str, Any]:
    return {
        "anomaly": flags.get("anomaly", False),
        "confirmed": flags.get("confirmed", False),
        "failure": flags.get("failure", False),
        "input": f"https://{domain}/",
        "measurement_start_time": "2026-12-01T10:00:00Z",
        "probe_asn": "AS4134",
        "probe_cc": country,
        "test_name": "web_connectivity",
    }


@dataclass
class Addresses:
    """The checker's configuration, and the OONI stand-in."""

    config: Config
    toml: Path
    ooni: Ooni


def write_config(
    tmp_path: Path,
    ca_file: Path,
    pins: list[str],
    extra: str = "",
    listed: tuple[str, ...] = LISTED,
) -> Path:
    """Every listed address is pinned to loopback: none may be looked up in DNS."""
    path = tmp_path / "mirror.toml"
    sections = f"""
[publisher]
alternates = {json.dumps(list(listed))}

[alternates]
ooni_countries = ["CN", "IR"]
ooni_api = "https://{OONI_HOST}"
{extra}
"""
    toml = config_toml(
        pins,
        ca_file,
        server=f'public_url = "{PUBLIC}"',
        fetch="connect_timeout = 2.0",
        sections=sections,
        timeout=5.0,
        with_feed=False,
    )
    path.write_text(toml)
    return path


@pytest.fixture
async def addresses(tmp_path: Path, test_ca: trustme.CA, ca_file: Path) -> AsyncIterator[Addresses]:
    toml = write_config(tmp_path, ca_file, [])
    plain = load_config(toml, environ={})
    ours = manifest.load_signing_key(plain.server.data_dir)
    everything = [PUBLIC, *LISTED]
    ooni = Ooni()
    sites = [
        # this mirror itself, by another name
        (create_app(plain), context_for(test_ca, host(GENUINE))),
        # our manifest, over a certificate for another name
        (serving(manifest.sign(ours, everything, 30)), context_for(test_ca, "other.example")),
        (serving(manifest.sign(Ed25519PrivateKey.generate(), everything, 30)),
         context_for(test_ca, host(OTHER_KEY))),
        # an old manifest of ours, from before the list changed: signed, unexpired, stale
        (serving(manifest.sign(ours, [PUBLIC, "https://old.example"], 30)),
         context_for(test_ca, host(REPLAYED))),
        (ooni_app(ooni), context_for(test_ca, OONI_HOST)),
    ]  # fmt: skip
    runners, ports = [], []
    for app, context in sites:
        runner, port = await start_site(app, context)
        runners.append(runner)
        ports.append(port)
    ooni.port = ports[-1]
    names = [host(GENUINE), host(WRONG_CERT), host(OTHER_KEY), host(REPLAYED), OONI_HOST]
    pins = [f"{name}:443:127.0.0.1:{port}" for name, port in zip(names, ports, strict=True)]
    pins.append(f"{host(SILENT)}:443:127.0.0.1:{free_port()}")  # nothing listens there
    toml = write_config(tmp_path, ca_file, pins)
    try:
        yield Addresses(load_config(toml, environ={}), toml, ooni)
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_genuine_wrong_certificate_other_key_replayed_silent(
    addresses: Addresses,
) -> None:
    statuses = await run_check(addresses.config)
    states = {address: status.state for address, status in statuses.items()}
    assert states == {
        GENUINE: State.OK,
        WRONG_CERT: State.DEAD,
        OTHER_KEY: State.IMPOSTOR,
        REPLAYED: State.IMPOSTOR,
        SILENT: State.DEAD,
    }
    assert statuses[WRONG_CERT].detail == "its certificate is not valid for this name"
    assert "another key" in statuses[OTHER_KEY].detail
    assert "other addresses" in statuses[REPLAYED].detail
    assert statuses[SILENT].detail.startswith("OriginUnreachable")
    # persisted: a fresh reader of the data dir shows readers the genuine one only
    book = address_book(addresses.config)
    assert book.shown() == (GENUINE,)
    assert book.statuses()[WRONG_CERT].state == State.DEAD
    assert alternates.last_check(addresses.config.server.data_dir) is not None


async def test_a_second_check_agrees_with_the_genuine_mirror(
    addresses: Addresses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a check hid four addresses, the genuine mirror signs a shorter list; the
    checker expects that same list, so the genuine address stays ok and the rest stay out."""
    await run_check(addresses.config)
    assert address_book(addresses.config).shown() == (GENUINE,)
    monkeypatch.setattr(alternates, "REREAD_SECONDS", 0.0)  # the genuine mirror looks again
    statuses = await run_check(addresses.config)
    assert {a: s.state for a, s in statuses.items()}[GENUINE] == State.OK
    assert address_book(addresses.config).shown() == (GENUINE,)


async def test_ooni_stand_in_marks_one_address_blocked(addresses: Addresses) -> None:
    ooni = addresses.ooni
    ooni.results[(host(GENUINE), "CN")] = [
        measurement(host(GENUINE), "CN", anomaly=True, confirmed=True),
        measurement(host(GENUINE), "CN"),
    ]
    ooni.results[(host(GENUINE), "IR")] = [measurement(host(GENUINE), "IR")] * 3
    ooni.results[(host(OTHER_KEY), "CN")] = [
        measurement(host(OTHER_KEY), "CN", anomaly=True, failure=True),
        measurement(host(OTHER_KEY), "CN"),
    ]
    statuses = await run_check(addresses.config)
    assert {a: s.blocked_in for a, s in statuses.items()} == {
        GENUINE: ("CN",),
        WRONG_CERT: (),
        OTHER_KEY: (),
        REPLAYED: (),
        SILENT: (),
    }
    assert address_book(addresses.config).shown() == (GENUINE,)  # blocked in CN, not hidden
    asked = {(q["domain"], q["probe_cc"]) for q in ooni.queries}
    assert asked == {(host(a), c) for a in LISTED for c in ("CN", "IR")}
    since = datetime.datetime.strptime(ooni.queries[0]["since"], "%Y-%m-%dT%H:%M:%S")
    age = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - since
    assert datetime.timedelta(days=6, hours=23) < age < datetime.timedelta(days=7, hours=1)
    assert all(q["test_name"] == "web_connectivity" for q in ooni.queries)


async def test_ooni_down_keeps_the_previous_marks(addresses: Addresses) -> None:
    ooni = addresses.ooni
    ooni.results[(host(GENUINE), "CN")] = [measurement(host(GENUINE), "CN", confirmed=True)]
    await run_check(addresses.config)
    ooni.down = True
    ooni.results.clear()
    statuses = await run_check(addresses.config)
    assert statuses[GENUINE].blocked_in == ("CN",)
    assert statuses[OTHER_KEY].blocked_in == ()


@pytest.mark.parametrize(
    ("flags", "blocked"),  # results as OONI lists them: absent flags are false
    [
        ([], False),
        ([{"confirmed": True}], True),
        ([{"anomaly": True}], False),  # one anomaly alone is noise
        ([{"anomaly": True}, {"anomaly": True}, {}], True),
        ([{"anomaly": True}, {}], False),  # half is not most
        ([{"anomaly": True, "failure": True}, {"anomaly": True, "failure": True}, {}], False),
        ([{"confirmed": True, "failure": True}], False),  # a failed run confirms nothing
        (["not a measurement", {"anomaly": "yes"}, {"anomaly": True}], False),
    ],
)
def test_measured_blocked(flags: list[Any], blocked: bool) -> None:
    assert measured_blocked(flags) is blocked


async def test_check_command_prints_states_and_exits_1_when_one_fails(
    addresses: Addresses, capsys: pytest.CaptureFixture[str]
) -> None:
    # In a thread, as the command runs its own event loop while the servers run on this one.
    code = await asyncio.to_thread(main, ["alternates", "check", "--config", str(addresses.toml)])
    out = capsys.readouterr().out
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == set(LISTED)
    assert " ok " in lines[GENUINE] and " shown" in lines[GENUINE]
    assert " dead " in lines[WRONG_CERT] and " hidden" in lines[WRONG_CERT]
    assert " impostor " in lines[OTHER_KEY]
    assert main(["alternates", "list", "--config", str(addresses.toml)]) == 0
    assert capsys.readouterr().out == out


async def test_metrics_count_each_state_and_pages_drop_the_failed(addresses: Addresses) -> None:
    await run_check(addresses.config)
    async with serve_mirror(addresses.config) as mirror:
        _, text = await mirror.get("/metrics")
        counts = dict(re.findall(r'^mirror_alternates\{state="(\w+)"\} (\S+)$', text, re.M))
        assert counts == {"unchecked": "0.0", "ok": "1.0", "dead": "2.0", "impostor": "2.0"}
        _, html = await mirror.get("/about")
        notice = lxml.html.document_fromstring(html).find_class("alternates")[0]
        assert [a.get("href") for a in notice.iter("a")] == [GENUINE + "/"]
        _, document = await mirror.get_bytes("/.well-known/mirrors.json")
        key = manifest.load_signing_key(addresses.config.server.data_dir).public_key()
        assert manifest.verify(document, key).mirrors == (PUBLIC, GENUINE)


async def test_serve_checks_periodically(tmp_path: Path, ca_file: Path) -> None:
    """``serve`` with ``check_seconds`` checks at start (no readable record of a check) and
    again once the interval has passed, and readers stop being shown the dead address."""
    pins = [f"{host(SILENT)}:443:127.0.0.1:{free_port()}"]
    toml = write_config(tmp_path, ca_file, pins, "check_seconds = 2", listed=(SILENT,))
    toml.write_text(toml.read_text().replace('ooni_countries = ["CN", "IR"]', ""))
    config = load_config(toml, environ={})
    data_dir = config.server.data_dir
    data_dir.mkdir()
    (data_dir / alternates.STATE_FILE).write_text('{"checked": ')  # a crash mid-write, say
    async with serve_mirror(config) as mirror:
        for _ in range(100):
            if alternates.last_check(data_dir) is not None:
                break
            await asyncio.sleep(0.1)
        first = alternates.last_check(data_dir)
        assert first is not None
        assert address_book(config).statuses()[SILENT].state == State.DEAD
        for _ in range(100):
            later = alternates.last_check(data_dir)
            if later is not None and later > first:
                break
            await asyncio.sleep(0.1)
        assert later is not None and later > first
        _, text = await mirror.get("/metrics")
        assert 'mirror_alternates{state="dead"} 1.0' in text
        _, html = await mirror.get("/about")
        assert SILENT not in html


async def test_onion_addresses_are_not_looked_up_without_tor(tmp_path: Path, ca_file: Path) -> None:
    """An onion name must never reach the DNS resolver, and an address that could not be
    checked is not one found dead: it stays shown."""
    onion = "http://" + "a" * 56 + ".onion"
    toml = write_config(tmp_path, ca_file, [], listed=(onion,))
    toml.write_text(toml.read_text().replace('ooni_countries = ["CN", "IR"]', ""))
    config = load_config(toml, environ={})
    statuses = await run_check(config)
    assert statuses[onion].state == State.UNCHECKED
    assert "socks5h" in statuses[onion].detail
    assert address_book(config).shown() == (onion,)
