"""``/caddy/ask``: which names Caddy may get certificates for, and who may ask."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.errors import ConfigError
from mirror.settings import load_config
from mirror.web.ask import domain_allowed
from tests.conftest import Origin, serve_mirror
from tests.support.operator_fixtures import ONION, operator_config, serve_with_onion
from tests.support.servers import free_port

PATTERNS = ("*.example-cdn.net", "m3.example.org")
ASK_DOMAINS = '[alternates]\nask_domains = ["*.example-cdn.net", "M3.Example.org."]\n'
KEY = "k" * 24


@pytest.mark.parametrize(
    ("domain", "allowed"),
    [
        ("m3.example.org", True),
        ("a.example-cdn.net", True),
        ("a.b.example-cdn.net", True),  # a suffix pattern: any depth below it
        ("A.EXAMPLE-CDN.NET", True),  # DNS names are case-blind
        ("a.example-cdn.net.", True),  # the fully qualified spelling of the same name
        ("M3.EXAMPLE.ORG.", True),
        ("example-cdn.net", False),  # the suffix itself is not under it
        ("evil.example-cdn.net.attacker.com", False),
        ("evilexample-cdn.net", False),  # whole labels only
        ("x.m3.example.org", False),  # an exact name has no subdomains
        ("m3.example.org.attacker.com", False),
        ("a.example-cdn.net..", False),
        (".example-cdn.net", False),
        ("*.example-cdn.net", False),
        ("\u212a.example-cdn.net", False),  # Kelvin sign: lowercases to an ASCII k
        ("a.example-cdn.net\x00.attacker.com", False),
        ("a_b.example-cdn.net", False),
        ("-a.example-cdn.net", False),
        ("127.0.0.1", False),
        ("", False),
        ("x" * 64 + ".example-cdn.net", False),  # a label longer than DNS allows
        ("other.example", False),
    ],
)
def test_domain_allowed(domain: str, allowed: bool) -> None:
    assert domain_allowed(domain, PATTERNS, frozenset()) is allowed


def test_listed_hosts_are_allowed_exactly() -> None:
    hosts = frozenset({"m2.example.net"})
    assert domain_allowed("M2.example.net.", (), hosts)
    assert not domain_allowed("x.m2.example.net", (), hosts)


@pytest.mark.parametrize("pattern", ["*.", "a.*.example.net", "exa mple.net", "*example.net"])
def test_malformed_patterns_are_refused(tmp_path: Path, pattern: str) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text(f'[alternates]\nask_domains = ["{pattern}"]\n')
    with pytest.raises(ConfigError, match="ask_domains"):
        load_config(path, environ={})


async def test_ask_answers_200_for_allowed_names_and_403_for_others(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, ASK_DOMAINS)
    assert config.alternates.ask_domains == PATTERNS
    async with serve_mirror(config) as mirror:
        for domain, status in [
            ("fresh.example-cdn.net", 200),
            ("FRESH.example-cdn.net.", 200),
            ("m3.example.org", 200),
            ("evil.example-cdn.net.attacker.com", 403),
            ("chinadigitaltimes.net", 403),
            ("", 403),
        ]:
            response, body = await mirror.get("/caddy/ask", params={"domain": domain})
            assert response.status == status, domain
            assert body == ("allowed\n" if status == 200 else "not allowed\n")
            assert response.headers["Cache-Control"] == "no-store"
        no_domain, _ = await mirror.get("/caddy/ask")
        assert no_domain.status == 403


async def test_an_added_address_is_approved_without_a_restart(
    tmp_path: Path, origin: Origin, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = operator_config(tmp_path, origin, ca_file)
    async with serve_mirror(config) as mirror:
        before, _ = await mirror.get("/caddy/ask", params={"domain": "m9.example.net"})
        assert before.status == 403
        toml = str(tmp_path / "mirror.toml")
        assert main(["alternates", "add", "https://m9.example.net/", "--config", toml]) == 0
        for _ in range(30):
            after, _ = await mirror.get("/caddy/ask", params={"domain": "m9.example.net"})
            if after.status == 200:
                break
            await asyncio.sleep(0.1)
        assert after.status == 200


async def test_forwarded_requests_cannot_ask(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    """A reader's request that the proxy in front relays arrives from loopback too; the
    proxy's forwarding header gives it away, and it gets the 404 of a missing page."""
    config = operator_config(tmp_path, origin, ca_file, ASK_DOMAINS)
    async with serve_mirror(config) as mirror:
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "Via"):
            response, html = await mirror.get(
                "/caddy/ask", params={"domain": "a.example-cdn.net"}, headers={header: "x"}
            )
            assert response.status == 404, header
            assert "allowed" not in html


async def test_with_a_key_only_its_holder_may_ask(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, ASK_DOMAINS + f'ask_key = "{KEY}"\n')
    assert KEY not in repr(config)
    async with serve_mirror(config) as mirror:
        allowed = {"domain": "a.example-cdn.net"}
        for params, status in [
            (allowed, 404),
            ({**allowed, "key": "wrong"}, 404),
            ({**allowed, "key": KEY[:-1]}, 404),
            ({**allowed, "key": KEY}, 200),
            ({"domain": "evil.example", "key": KEY}, 403),
        ]:
            response, _ = await mirror.get("/caddy/ask", params=params)
            assert response.status == status, params
        # The key stands in for loopback: a proxy in another container may ask with it.
        response, _ = await mirror.get(
            "/caddy/ask", params={**allowed, "key": KEY}, headers={"X-Forwarded-For": "x"}
        )
        assert response.status == 200


async def test_ask_is_not_rate_limited(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    """Caddy is one client asking for every new name; a flood of random names must not get
    it refused for the operator's own."""
    limited = ASK_DOMAINS.replace("[alternates]", "[limits]\nrate = 0.01\nburst = 2\n[alternates]")
    config = operator_config(tmp_path, origin, ca_file, limited)
    async with serve_mirror(config) as mirror:
        for number in range(10):
            response, _ = await mirror.get("/caddy/ask", params={"domain": f"r{number}.example"})
            assert response.status == 403
        response, _ = await mirror.get("/caddy/ask", params={"domain": "a.example-cdn.net"})
        assert response.status == 200
        home, _ = await mirror.get("/")
        home, _ = await mirror.get("/")
        home, _ = await mirror.get("/")
        assert home.status == 429  # the limit itself is on


async def test_readers_over_the_onion_cannot_ask(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    """Tor hands every onion reader to the mirror from loopback, with no forwarding header:
    the onion listener must not take them for Caddy on this host."""
    onion = f'onion_listen = "127.0.0.1:{free_port()}"\n[publisher]\nonion = "{ONION}"\n'
    config = operator_config(tmp_path, origin, ca_file, onion + ASK_DOMAINS)
    async with serve_with_onion(config) as (clearnet, over_onion):
        allowed = {"domain": "a.example-cdn.net"}
        refused, _ = await over_onion.get("/caddy/ask", params=allowed)
        assert refused.status == 404
        asked, _ = await clearnet.get("/caddy/ask", params=allowed)
        assert asked.status == 200
