"""Politeness towards an origin that asked the mirror to wait: 429 or 503 with ``Retry-After``
keeps it from being asked again before then (bounded by ``fetch.max_retry_after``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from mirror.errors import (
    OriginStatus,
)

BACKOFF_ORIGINS = 1024  # past this many, expired waits are forgotten (open mode: any origin)


class AskedToWait(OriginStatus):
    """The origin asked the mirror to wait (``Retry-After``), or refused it lately: it is
    not asked now, so this is no new refusal (nothing is rested or counted again)."""

    def __init__(self, detail: str) -> None:
        super().__init__(429, detail)


class Backoff:
    """Origins that asked us (429/503 + Retry-After) not to come back before a given time.

    ``clock`` is a test seam: a test moves it past the wait instead of sleeping through it.
    """

    def __init__(self, longest: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._longest = longest
        self._clock = clock
        self._until: dict[str, float] = {}

    def check(self, origin: str) -> None:
        wait = self._until.get(origin, 0.0) - self._clock()
        if wait > 0:
            raise AskedToWait(f"The site asked us to wait; try again in {wait:.0f} s.")
        self._until.pop(origin, None)

    def record(self, origin: str, retry_after: str | None) -> None:
        seconds = retry_after_seconds(retry_after)
        if seconds is None:
            return
        now = self._clock()
        if len(self._until) >= BACKOFF_ORIGINS:
            self._until = {o: t for o, t in self._until.items() if t > now}
        self._until[origin] = now + min(seconds, self._longest)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
