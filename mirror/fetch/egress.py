"""The health of each way out (``fetch.egress``) for each origin, and Tor's circuits.

An origin that refuses the mirror through a way out (403, 429, a challenge, a reset, no
answer in time) is counted, and for a site whose publisher consents, has that way out
rested for it: ``fetch.rest_seconds`` the first time,
doubled on each refusal after, never more than ``fetch.max_retry_after``; a ``Retry-After``
the origin sent is honoured beside it (``backoff.Backoff``), whichever is longer. The way out
is tried again for that origin once its rest is over; serving then is a recovery. Only such
a site (``publisher_consents``) is tried through the next way out after a refusal: the
others use their first way out only and stop at the first refusal, falling back to their
other sources (and the pipeline remembers the error for ``cache.error_seconds``).

Refusals and recoveries are counted per way out (``counters.count_way_out``), labelled with
the operator's name for it, never a URL.

Over a ``tor://`` way out each origin has a SOCKS user name of its own (``isolation_user``),
so Tor (``IsolateSOCKSAuth``, on by default) builds a separate circuit for it; with
``fetch.tor_new_circuit`` a refusal changes the password, which makes Tor build a new one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit, urlunsplit

from mirror.counters import count_way_out
from mirror.errors import (
    FetchError,
    OriginChallenged,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
)
from mirror.settings import FetchConfig, WayOut

REFUSING_STATUSES = frozenset({401, 403, 429, 451, 503})
HEALTH_ENTRIES = 4096  # past this many (way out, origin) pairs, healthy ones are forgotten


def is_refusal(error: FetchError) -> bool:
    """Whether ``error`` is the origin refusing this way out (so another may be tried),
    rather than the page's own fault (404, too large, a redirect loop, the address policy)."""
    if isinstance(error, OriginStatus):
        return error.origin_status in REFUSING_STATUSES
    return isinstance(error, OriginChallenged | OriginTimeout | OriginUnreachable)


def refused_by_site(error: FetchError) -> bool:
    """Whether the origin itself turned the mirror away (401, 403, 429, 451, a bot wall),
    rather than failing to answer: what the reader is told as a refusal."""
    if isinstance(error, OriginStatus):
        return error.origin_status in REFUSING_STATUSES - {503}
    return isinstance(error, OriginChallenged)


def isolation_user(host: str) -> str:
    """The SOCKS user name that gives ``host`` a Tor circuit of its own; a digest, so the
    proxy's logs do not list the origins."""
    return "mirror-" + hashlib.sha256(host.encode()).hexdigest()[:16]


@dataclass
class _State:
    refusals: int = 0
    until: float = 0.0
    circuit: int = 0


class Health:
    """Each way out's rest per origin; ``clock`` is a seam for tests."""

    def __init__(self, config: FetchConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._first = config.rest_seconds
        self._longest = config.max_retry_after
        self._new_circuit = config.tor_new_circuit
        self._clock = clock
        self._states: dict[tuple[str, str], _State] = {}

    def resting(self, way: WayOut, origin: str) -> float:
        """Seconds left of ``way``'s rest for ``origin``; 0 if it may be tried."""
        state = self._states.get((way.name, origin))
        return max(0.0, state.until - self._clock()) if state else 0.0

    def refused(self, way: WayOut, origin: str, rest: bool) -> None:
        """``origin`` refused ``way``: counted; with ``rest`` (a rotating site's), rested
        longer each time."""
        count_way_out("refused", way.name)
        if not rest:
            return
        if len(self._states) >= HEALTH_ENTRIES:
            self._states = {k: s for k, s in self._states.items() if s.refusals}
        state = self._states.setdefault((way.name, origin), _State())
        state.refusals += 1
        state.until = self._clock() + min(self._first * 2 ** (state.refusals - 1), self._longest)
        if way.tor and self._new_circuit:
            state.circuit += 1

    def served(self, way: WayOut, origin: str) -> None:
        """``origin`` served through ``way``: a recovery if it had refused it."""
        state = self._states.get((way.name, origin))
        if state is not None and state.refusals:
            state.refusals, state.until = 0, 0.0
            count_way_out("recovered", way.name)

    def route(self, way: WayOut, origin: str) -> WayOut:
        """``way`` as a request to ``origin`` uses it: over Tor, with the origin's own SOCKS
        credentials (its circuit)."""
        if not way.tor:
            return way
        state = self._states.get((way.name, origin))
        parts = urlsplit(way.proxy)
        user = isolation_user(urlsplit(origin).hostname or origin)
        password = f"circuit-{state.circuit if state else 0}"
        netloc = f"{quote(user)}:{password}@{parts.hostname}:{parts.port or 9050}"
        return replace(way, proxy=urlunsplit((parts.scheme, netloc, "", "", "")))
