"""Which of this mirror's addresses still work: ``mirror alternates check`` and ``serve``'s
periodic check.

Each listed address is asked for ``/.well-known/mirrors.json`` over that address, by the
origin fetcher (so with its TLS verification, CA file, pins, proxy and limits), and what it
answers decides its state:

- **ok**: a valid certificate for its name, and our manifest: signed by this mirror's key,
  unexpired, listing the addresses we list now;
- **dead**: no answer, a certificate that is not valid for the name, an error status, a
  redirect to another host (readers would be sent to an address that may be blocked), or
  no JSON at all;
- **impostor**: JSON that is not our manifest: signed by another key, altered, expired, or
  listing other addresses than ours (an old manifest of ours replayed, say). Alternates
  that are this mirror behind another name (a CDN, Caddy's on-demand names) serve what we
  serve, so a genuine one always agrees: the check asks with a query no cache has seen,
  and this mirror re-reads the list within a second of a change.

Dead and impostor addresses leave what readers are shown (``mirror.addresses.alternates``) until
a later check finds them ok again. With ``alternates.ooni_countries`` set, the check also
asks OONI's public measurements API for the last ``alternates.ooni_days`` of
web-connectivity results of each address's host in each country, and marks the address
blocked where a measurement confirmed blocking or most measurements that ran showed an
anomaly. Blocked is a mark for the operator, not a removal: readers elsewhere still reach
the address. When OONI does not answer, the previous marks for that country stay.

An onion address is checked only through a ``socks5h://`` ``fetch.proxy`` (Tor): without
one it could not be reached, and its name would be sent to the DNS resolver (RFC 7686 says
never to); it stays unchecked, and shown. OONI is not asked about onion addresses.

The check asks OONI for the host, not the exact URL (``domain=``, not ``input=``): probes test
whatever URL of a host their lists hold (``http://``, a path), and a blocked host is
blocked for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import secrets
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mirror.addresses import alternates, manifest
from mirror.addresses.alternates import State, Status, all_addresses
from mirror.errors import MirrorError, described
from mirror.fetch.client import Fetcher
from mirror.settings import AlternatesConfig, Config

log = logging.getLogger(__name__)

MANIFEST_PATH = "/.well-known/mirrors.json"
JSON_TYPES = frozenset({"application/json"})
OONI_PATH = "/api/v1/measurements"
OONI_LIMIT = 100
OONI_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
OONI_MIN_MEASUREMENTS = 2  # an anomaly majority needs at least this many measurements
ONION_UNCHECKED = "an onion address: checked only through fetch.proxy = socks5h:// (Tor)"
RETRY_SECONDS = 60.0  # a check another process holds is looked at again after this
DUE_FRACTION = 0.9  # a check this recent (of the interval) is left to stand


async def check_address(
    fetcher: Fetcher, address: str, trusted: Ed25519PublicKey, expected: frozenset[str]
) -> Status:
    """What ``address`` answers for our manifest: ok, dead or impostor (with why)."""
    checked = alternates.now_text()
    # A query no cache has seen: a CDN in front of an alternate may keep the manifest for
    # its max-age, and a copy from before the list changed would look like a replay.
    url = f"{address}{MANIFEST_PATH}?fresh={secrets.token_urlsafe(8)}"
    try:
        fetched = await fetcher.fetch(url, JSON_TYPES)
    except MirrorError as exc:
        return Status(State.DEAD, checked, _why_dead(exc))
    if urlsplit(fetched.final_url).hostname != urlsplit(address).hostname:
        return Status(State.DEAD, checked, "redirects to another host")
    try:
        found = manifest.verify(fetched.body, trusted)
    except manifest.ManifestError as exc:
        return Status(State.IMPOSTOR, checked, exc.detail)
    if frozenset(found.mirrors) != expected:
        return Status(State.IMPOSTOR, checked, "its manifest lists other addresses than ours")
    return Status(State.OK, checked)


def _why_dead(exc: MirrorError) -> str:
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        return "its certificate is not valid for this name"
    if isinstance(cause, aiohttp.ClientSSLError):
        return "TLS failed"
    return f"{type(exc).__name__}: {exc.detail or exc.title}"


def measured_blocked(results: Sequence[Any]) -> bool:
    """OONI results (each with ``anomaly``, ``confirmed``, ``failure``) that say blocked:
    one confirmed, or an anomaly in most of at least two measurements that did not fail."""
    ran = [r for r in results if isinstance(r, dict) and r.get("failure") is not True]
    if any(r.get("confirmed") is True for r in ran):
        return True
    anomalies = sum(1 for r in ran if r.get("anomaly") is True)
    return len(ran) >= OONI_MIN_MEASUREMENTS and anomalies * 2 > len(ran)


async def ooni_countries_blocked(
    fetcher: Fetcher,
    settings: AlternatesConfig,
    address: str,
    previous: tuple[str, ...],
    now: datetime.datetime,
) -> tuple[str, ...]:
    """The configured countries where OONI measured ``address``'s host blocked lately; a
    country whose answer failed keeps its previous mark."""
    host = urlsplit(address).hostname or ""
    since = (now - datetime.timedelta(days=settings.ooni_days)).strftime(OONI_TIME_FORMAT)
    blocked = []
    for country in settings.ooni_countries:
        query = urlencode(
            {
                "domain": host,
                "probe_cc": country,
                "test_name": "web_connectivity",
                "since": since,
                "limit": OONI_LIMIT,
            }
        )
        try:
            fetched = await fetcher.fetch(f"{settings.ooni_api}{OONI_PATH}?{query}", JSON_TYPES)
            results = json.loads(fetched.body)["results"]
            if not isinstance(results, list):
                raise TypeError("results is not a list")
        except (MirrorError, ValueError, KeyError, TypeError) as exc:
            log.warning("alternates: OONI gave no answer for %s: %s", country, type(exc).__name__)
            if country in previous:
                blocked.append(country)
            continue
        if measured_blocked(results):
            blocked.append(country)
    return tuple(blocked)


async def check_all(config: Config, fetcher: Fetcher) -> dict[str, Status]:
    """Check every listed address (and ask OONI about it), and keep what was found."""
    book = alternates.address_book(config)
    trusted = manifest.load_signing_key(config.server.data_dir).public_key()
    expected = frozenset(all_addresses(config, book))
    previous = book.statuses()
    now = datetime.datetime.now(datetime.UTC)

    async def one(address: str) -> Status:
        if _is_onion(address) and not config.fetch.proxy.startswith("socks5h://"):
            return Status(State.UNCHECKED, alternates.now_text(), ONION_UNCHECKED)
        status = await check_address(fetcher, address, trusted, expected)
        if not config.alternates.ooni_countries or _is_onion(address):
            return status
        marks = previous[address].blocked_in
        blocked = await ooni_countries_blocked(fetcher, config.alternates, address, marks, now)
        return Status(status.state, status.checked, status.detail, blocked)

    addresses = book.addresses()
    found = await asyncio.gather(*(one(address) for address in addresses))
    statuses = dict(zip(addresses, found, strict=True))
    alternates.record(config.server.data_dir, statuses, alternates.now_text())
    return statuses


async def run_check(config: Config) -> dict[str, Status]:
    async with Fetcher(config.fetch, sites=config.sites) as fetcher:
        return await check_all(config, fetcher)


def _is_onion(address: str) -> bool:
    return (urlsplit(address).hostname or "").endswith(".onion")


def summary(statuses: Mapping[str, Status]) -> str:
    """``2 ok, 1 dead``: how many addresses the check found in each state."""
    counts = Counter(status.state for status in statuses.values())
    return ", ".join(f"{counts[state]} {state}" for state in State if counts[state])


@contextlib.asynccontextmanager
async def periodic_checks(config: Config) -> AsyncIterator[None]:
    """``serve``'s check every ``alternates.check_seconds`` (none if 0), in one process of
    all that share the data dir: the first to take the check lock when one is due."""
    if config.alternates.check_seconds <= 0:
        yield
        return
    task = asyncio.create_task(_check_forever(config))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _check_forever(config: Config) -> None:
    interval = float(config.alternates.check_seconds)
    data_dir = config.server.data_dir
    while True:
        await asyncio.sleep(_seconds_until_due(config, interval))
        try:
            with alternates.check_lock(data_dir) as ours:
                if ours and _seconds_until_due(config, interval) == 0:
                    statuses = await run_check(config)
                    log.info("alternates: checked: %s", summary(statuses) or "none listed")
        except Exception as exc:  # the next round tries again; serving goes on meanwhile
            log.error("alternates: the check failed: %s", described(exc))
        await asyncio.sleep(min(RETRY_SECONDS, interval))


def _seconds_until_due(config: Config, interval: float) -> float:
    last = alternates.last_check(config.server.data_dir)
    if last is None:
        return 0.0
    elapsed = (datetime.datetime.now(datetime.UTC) - last).total_seconds()
    return 0.0 if elapsed >= interval * DUE_FRACTION else interval - elapsed
