"""The mirror's counters: what every layer counts, with no web framework attached.

Every label value comes from a closed set that we define: a route *template* such as
``/m/{token}`` (never the path that matched it), a status code, the class name of an error,
a cache result, or an event name from ``EVENTS``. So no URL, token, address or user agent can
reach a label, however a request is crafted. ``mirror.web.metrics`` serves them.

Stages count what they did through ``count(event)``; adding an event is adding a row to
``EVENTS``, and an unknown name fails loudly rather than inventing a label value. Work done
in a transform process counts into a ``Tally`` (``tallied()``), which goes back with the
result and is added to this process's counters, the ones ``/metrics`` reads.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

REGISTRY = CollectorRegistry()


class LoopCounter:
    """A labelled counter for the event loop's hot path, read by Prometheus when scraped.

    prometheus_client's counter takes a lock and runs Python code on every increment, which
    cost as much as the rest of a cache hit; these are plain dictionary entries, safe
    because every increment happens on the event loop's one thread.
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, *values: str) -> None:
        self.counts[values] = self.counts.get(values, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, count in list(self.counts.items()):
            family.add_metric(values, count)
        yield family


class LoopHistogram:
    """A histogram by one label for the event loop's hot path (see ``LoopCounter``)."""

    def __init__(self, name: str, documentation: str, label: str) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self.buckets = Histogram.DEFAULT_BUCKETS[:-1]  # the last is +Inf
        self.counts: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, value: str, seconds: float) -> None:
        counts = self.counts.get(value)
        if counts is None:
            counts = self.counts[value] = [0] * (len(self.buckets) + 1)
            self.sums[value] = 0.0
        counts[bisect_left(self.buckets, seconds)] += 1
        self.sums[value] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        bounds = [*map(floatToGoString, self.buckets), "+Inf"]
        for value, counts in list(self.counts.items()):
            cumulative = list(zip(bounds, accumulate(counts), strict=True))
            family.add_metric([value], cumulative, self.sums[value])
        yield family


REQUESTS = LoopCounter(
    "mirror_requests", "Requests answered, by route template and status.", ("route", "status")
)
REQUEST_SECONDS = LoopHistogram(
    "mirror_request_seconds", "Time to answer a request, by route template.", "route"
)
CACHE_LOOKUPS = LoopCounter(
    "mirror_cache_lookups",
    "Page lookups: hit (fresh copy), miss (fetched from the origin), stale (saved copy served),"
    " removed (kept copy of an article its origin removed).",
    ("result",),
)
for _collector in (REQUESTS, REQUEST_SECONDS, CACHE_LOOKUPS):
    REGISTRY.register(_collector)
ORIGIN_FETCH_SECONDS = Histogram(
    "mirror_origin_fetch_seconds",
    "Time of one origin fetch, success or failure.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0),
    registry=REGISTRY,
)
ORIGIN_FETCH_ERRORS = Counter(
    "mirror_origin_fetch_errors",
    "Failed origin fetches, by kind of error.",
    ["kind"],
    registry=REGISTRY,
)
STRIPPED_ELEMENTS = Counter(
    "mirror_stripped_elements",
    "Elements removed from articles as ads, trackers or widgets.",
    registry=REGISTRY,
)
STRIPPED_BYTES = Counter(
    "mirror_stripped_bytes",
    "Bytes of article markup removed as ads, trackers or widgets.",
    registry=REGISTRY,
)
ALTERNATES = Gauge(
    "mirror_alternates",
    "This mirror's alternate addresses by what their last check found: "
    "unchecked, ok, dead, impostor.",
    ["state"],
    registry=REGISTRY,
)
ALTERNATES_BLOCKED = Gauge(
    "mirror_alternates_blocked",
    "Alternate addresses that OONI measured as blocked, by country (alternates.ooni_countries).",
    ["country"],
    registry=REGISTRY,
)
REMOVAL_REASONS = frozenset({"404", "410", "front_page"})
REMOVALS = Counter(
    "mirror_removals",
    "Stored articles first seen removed at their origin, by how the origin said so: a 404, a"
    " 410, or a redirect to its front page.",
    ["reason"],
    registry=REGISTRY,
)
EVENTS = {
    "extraction_fallback": "Reader-mode extraction fell back to a simpler method.",
    "rate_limited": "A request was refused by the per-client rate limit.",
    "access_key_refused": "A request carried a wrong access key.",
    "rate_limit_store_down": "Redis did not answer; the rate limit fell back to memory.",
    "archive_copy": "A page the origin refused was copied from the Internet Archive.",
    "publisher_push": "A publisher's signed push was stored.",
    "contributor_capture": "A contributor's capture was stored.",
    "copy_refused": "A push or a capture was refused; nothing was stored.",
    "removed_article_back": "An article kept as removed was found at its origin again.",
}
EVENT_COUNTER = Counter(
    "mirror_events",
    "Events counted by pipeline stages; names are listed in mirror/metrics.py EVENTS.",
    ["event"],
    registry=REGISTRY,
)


@dataclass
class Tally:
    """Counts made where no one scrapes them (a transform process), to be added here."""

    events: dict[str, float] = field(default_factory=dict)
    elements: int = 0
    stripped_bytes: int = 0

    def add_to_counters(self) -> None:
        for event, amount in self.events.items():
            EVENT_COUNTER.labels(event=event).inc(amount)
        STRIPPED_ELEMENTS.inc(self.elements)
        STRIPPED_BYTES.inc(self.stripped_bytes)


_TALLY: ContextVar[Tally | None] = ContextVar("tally", default=None)


@contextmanager
def tallied() -> Iterator[Tally]:
    """Within it, ``count`` and ``count_stripped`` count into the tally it gives."""
    tally = Tally()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


def count(event: str, amount: float = 1) -> None:
    """Count ``amount`` of a named event; the name must be one of ``EVENTS``."""
    if event not in EVENTS:
        raise ValueError(f"unknown metrics event {event!r}: add it to EVENTS")
    tally = _TALLY.get()
    if tally is None:
        EVENT_COUNTER.labels(event=event).inc(amount)
    else:
        tally.events[event] = tally.events.get(event, 0) + amount


def count_stripped(elements: int, stripped_bytes: int) -> None:
    tally = _TALLY.get()
    if tally is None:
        STRIPPED_ELEMENTS.inc(elements)
        STRIPPED_BYTES.inc(max(stripped_bytes, 0))
    else:
        tally.elements += elements
        tally.stripped_bytes += max(stripped_bytes, 0)


def count_removal(reason: str) -> None:
    """Count an article first seen removed; ``reason`` is one of ``REMOVAL_REASONS``."""
    if reason not in REMOVAL_REASONS:
        raise ValueError(f"unknown removal reason {reason!r}")
    REMOVALS.labels(reason=reason).inc()


def count_cache(result: str) -> None:
    CACHE_LOOKUPS.inc(result)


@contextmanager
def origin_fetch() -> Iterator[None]:
    """Time one origin fetch and count its failure by the error's class name."""
    start = time.perf_counter()
    try:
        yield
    except Exception as exc:
        ORIGIN_FETCH_ERRORS.labels(kind=type(exc).__name__).inc()
        raise
    finally:
        ORIGIN_FETCH_SECONDS.observe(time.perf_counter() - start)


def count_alternates(states: Mapping[str, int], blocked: Mapping[str, int]) -> None:
    """Set how many addresses are in each state and measured blocked in each country;
    the labels are the states' names and the configured country codes, a closed set."""
    ALTERNATES.clear()
    ALTERNATES_BLOCKED.clear()
    for state, number in states.items():
        ALTERNATES.labels(state=state).set(number)
    for country, number in blocked.items():
        ALTERNATES_BLOCKED.labels(country=country).set(number)
