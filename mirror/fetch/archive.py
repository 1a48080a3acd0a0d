"""The Internet Archive's Wayback Machine, asked for a copy when an origin refuses the mirror.

Two requests, both through the caller's ``Fetcher``, so the archive is fetched under the
same address policy, limits, pins and upstream proxy as any origin:

1. the availability API (``archive.api_url?url=<url>&timestamp=<now>``), whose JSON names
   the closest capture: ``archived_snapshots.closest{available, url, timestamp, status}``;
2. the raw capture, ``archive.capture_url/<timestamp>id_/<url>``: the ``id_`` form serves
   the page as the origin sent it, without the archive's toolbar or rewritten links.

The API is an origin like any other: of its answer only a 14-digit timestamp is used. The
capture's address is built from the configured base, that timestamp and the URL the mirror
asked about, never taken from the answer, so a hostile or impersonated API cannot send the
mirror anywhere else.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from mirror.errors import OriginBroken
from mirror.fetch.client import PAGE_TYPES, Fetched, Fetcher
from mirror.settings import ArchiveConfig

JSON_TYPES = frozenset({"application/json", "text/json"})
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
_TIMESTAMP = re.compile(r"[0-9]{14}")


@dataclass(frozen=True)
class Capture:
    """One capture of ``url`` in the archive, taken at ``timestamp`` (UTC, 14 digits)."""

    url: str
    timestamp: str

    @property
    def captured_at(self) -> float:
        moment = datetime.datetime.strptime(self.timestamp, TIMESTAMP_FORMAT)
        return moment.replace(tzinfo=datetime.UTC).timestamp()


class Wayback:
    """The archive's two endpoints, reached through ``fetcher``."""

    def __init__(self, fetcher: Fetcher, config: ArchiveConfig) -> None:
        self._fetcher = fetcher
        self._config = config

    def capture_address(self, capture: Capture) -> str:
        return f"{self._config.capture_url}/{capture.timestamp}id_/{capture.url}"

    async def closest(self, url: str, now: datetime.datetime | None = None) -> Capture | None:
        """The capture of ``url`` closest to ``now`` that the archive holds with status 200."""
        moment = now or datetime.datetime.now(datetime.UTC)
        query = urlencode({"url": url, "timestamp": moment.strftime(TIMESTAMP_FORMAT)})
        answer = await self._fetcher.fetch(f"{self._config.api_url}?{query}", JSON_TYPES)
        return _closest(answer.body, url)

    async def fetch(self, capture: Capture) -> Fetched:
        """The capture's page, as the origin sent it to the archive."""
        return await self._fetcher.fetch(self.capture_address(capture), PAGE_TYPES)

    def original_url(self, capture: Capture, fetched: Fetched) -> str:
        """The article's own address, for the page's relative links: the archive may have
        redirected to a capture of another address of the site (``<ts>id_/<other url>``)."""
        prefix = re.escape(self._config.capture_url) + r"/[0-9]{14}id_/(https?://.+)"
        moved = re.fullmatch(prefix, fetched.final_url)
        return moved[1] if moved else capture.url


def _closest(body: bytes, url: str) -> Capture | None:
    try:
        answer = json.loads(body)
        closest = answer["archived_snapshots"].get("closest") or {}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise OriginBroken("The archive's answer is not the availability API's.") from exc
    if not isinstance(closest, dict):
        raise OriginBroken("The archive's answer is not the availability API's.")
    timestamp = closest.get("timestamp")
    if closest.get("available") is not True or str(closest.get("status")) != "200":
        return None
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        raise OriginBroken("The archive named a capture without a valid timestamp.")
    return Capture(url, timestamp)
