"""The mirror's counters: what every layer counts, with no web framework attached.

Every label value comes from a closed set that we define: a route *template* such as
``/m/{token}`` (never the path that matched it), a status code, the class name of an error,
a cache result, a reading stage from ``READING_STAGES``, or an event name from ``EVENTS``. So
no URL, token, address or user agent can reach a label, however a request is crafted.
``mirror.web.metrics`` serves them.

Stages count what they did through ``count(event)``; adding an event is adding a row to
``EVENTS``, and an unknown name fails loudly rather than inventing a label value. Work done
in a transform process counts into a ``Tally`` (``tallied()``), which goes back with the
result and is added to this process's counters, the ones ``/metrics`` reads.

Several processes serve one socket (``server.workers``), and a scrape reaches whichever
accepts it; each would answer with its own counts, so counters would jump backwards from one
scrape to the next. ``share(directory)``, called once before the processes fork, makes every
process forked from it write its counts into files of its own there, in prometheus_client's
multiprocess format (one ``MmapedDict`` per process and kind), and a scrape sums every file
(``MultiProcessCollector``): counters of all processes, those that have exited included.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

REGISTRY = CollectorRegistry()


class _File:
    """One process's values in prometheus_client's multiprocess format, each written in
    place: its slot is made once (``MmapedDict`` appends the key), then a count is one
    8-byte store where the scrape's reader (``MultiProcessCollector``) finds it."""

    def __init__(self, path: Path) -> None:
        self._values = MmapedDict(str(path))

    def slot(self, key: str) -> int:
        if key not in self._values._positions:
            self._values._init_value(key)
        position: int = self._values._positions[key]
        return position

    def put(self, slot: int, value: float) -> None:
        _VALUE.pack_into(self._values._m, slot, value)  # the mapping in use: remade as it grows


class _Shared:
    """This process's files in the directory every process of one server counts into."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.open()

    def open(self) -> None:
        pid = os.getpid()
        self.counter = _File(self.directory / f"counter_{pid}.db")
        self.histogram = _File(self.directory / f"histogram_{pid}.db")


_VALUE = struct.Struct("d")
_SHARED: _Shared | None = None
# Counts may come from the event loop and from transform threads at once.
_LOCK = threading.Lock()
_METRICS: list[FastCounter | FastHistogram] = []


def share(directory: Path) -> None:
    """Make this process and every process forked from it count into files in ``directory``
    (empty, private to one server run), and scrapes answer the sum of all of them."""
    global _SHARED
    with _LOCK:
        _SHARED = _Shared(directory)


def _after_fork() -> None:
    """A forked child inherits the parent's counts, files and perhaps a held lock: it
    forgets the counts (they stay in the parent's files) and counts from zero into files
    of its own."""
    global _LOCK
    _LOCK = threading.Lock()
    if _SHARED is not None:
        for metric in _METRICS:
            metric.forget()
        _SHARED.open()


os.register_at_fork(after_in_child=_after_fork)


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's files when shared, else this process's counts."""
    if _SHARED is None:
        return REGISTRY
    merged = CollectorRegistry()
    MultiProcessCollector(merged, str(_SHARED.directory))
    merged.register(ALTERNATES)
    merged.register(ALTERNATES_BLOCKED)
    return merged


class FastCounter:
    """A labelled counter read by Prometheus when scraped.

    prometheus_client's counter runs much Python code on every increment, which cost as
    much as the rest of a cache hit; these are plain dictionary entries, mirrored into this
    process's file when processes share counts.
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.counts: dict[tuple[str, ...], float] = {}
        self._slots: dict[tuple[str, ...], int] = {}
        _METRICS.append(self)

    def inc(self, *values: str, amount: float = 1) -> None:
        with _LOCK:
            count = self.counts[values] = self.counts.get(values, 0) + amount
            if _SHARED is not None:
                slot = self._slots.get(values)
                if slot is None:
                    slot = self._slots[values] = _SHARED.counter.slot(self._key(values))
                _SHARED.counter.put(slot, count)

    def value(self, *values: str) -> float:
        return self.counts.get(values, 0)

    def forget(self) -> None:
        self.counts.clear()
        self._slots.clear()

    def _key(self, values: tuple[str, ...]) -> str:
        name = self.name
        return mmap_key(name, name + "_total", list(self.labels), list(values), self.documentation)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, count in list(self.counts.items()):
            family.add_metric(values, count)
        yield family


class FastHistogram:
    """A histogram by at most one label, kept as ``FastCounter`` keeps counts."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...] = (),
        buckets: Iterable[float] = Histogram.DEFAULT_BUCKETS[:-1],  # the last is +Inf
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.buckets = tuple(buckets)
        self.counts: dict[tuple[str, ...], list[int]] = {}
        self.sums: dict[tuple[str, ...], float] = {}
        self._slots: dict[tuple[str, ...], tuple[list[int], int]] = {}
        _METRICS.append(self)

    def observe(self, *values: str, seconds: float) -> None:
        with _LOCK:
            counts = self.counts.get(values)
            if counts is None:
                counts = self.counts[values] = [0] * (len(self.buckets) + 1)
                self.sums[values] = 0.0
            bucket = bisect_left(self.buckets, seconds)
            counts[bucket] += 1
            total = self.sums[values] = self.sums[values] + seconds
            if _SHARED is not None:
                slots = self._slots.get(values)
                if slots is None:  # every bucket at once, so the merged ones are all there
                    buckets, sum_key = self._keys(values)
                    file = _SHARED.histogram
                    slots = self._slots[values] = ([*map(file.slot, buckets)], file.slot(sum_key))
                _SHARED.histogram.put(slots[0][bucket], counts[bucket])
                _SHARED.histogram.put(slots[1], total)

    def count(self, *values: str) -> int:
        return sum(self.counts.get(values, ()))

    def forget(self) -> None:
        self.counts.clear()
        self.sums.clear()
        self._slots.clear()

    def _keys(self, values: tuple[str, ...]) -> tuple[list[str], str]:
        """The file's keys of each bucket (not cumulative, as prometheus_client writes
        them) and of the sum, for one set of label values."""
        name, labels, doc = self.name, [*self.labels, "le"], self.documentation
        bounds = [*map(floatToGoString, self.buckets), "+Inf"]
        buckets = [mmap_key(name, name + "_bucket", labels, [*values, b], doc) for b in bounds]
        return buckets, mmap_key(name, name + "_sum", list(self.labels), list(values), doc)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [*map(floatToGoString, self.buckets), "+Inf"]
        for values, counts in list(self.counts.items()):
            cumulative = list(zip(bounds, accumulate(counts), strict=True))
            family.add_metric(list(values), cumulative, self.sums[values])
        yield family


REQUESTS = FastCounter(
    "mirror_requests", "Requests answered, by route template and status.", ("route", "status")
)
REQUEST_SECONDS = FastHistogram(
    "mirror_request_seconds", "Time to answer a request, by route template.", ("route",)
)
CACHE_LOOKUPS = FastCounter(
    "mirror_cache_lookups",
    "Page lookups: hit (fresh copy), miss (fetched from the origin), stale (saved copy served),"
    " removed (kept copy of an article its origin removed).",
    ("result",),
)
ORIGIN_FETCH_SECONDS = FastHistogram(
    "mirror_origin_fetch_seconds",
    "Time of one origin fetch, success or failure.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0),
)
ORIGIN_FETCH_ERRORS = FastCounter(
    "mirror_origin_fetch_errors", "Failed origin fetches, by kind of error.", ("kind",)
)
STRIPPED_ELEMENTS = FastCounter(
    "mirror_stripped_elements", "Elements removed from articles as ads, trackers or widgets."
)
STRIPPED_BYTES = FastCounter(
    "mirror_stripped_bytes", "Bytes of article markup removed as ads, trackers or widgets."
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
WAY_OUT_EVENTS = frozenset({"refused", "recovered"})
WAYS_OUT = FastCounter(
    "mirror_way_out_events",
    "Ways out (fetch.egress) an origin refused (and that were rested for it), and that served"
    " it again after, by the way out's name.",
    ("event", "way_out"),
)
REMOVAL_REASONS = frozenset({"404", "410", "front_page"})
REMOVALS = FastCounter(
    "mirror_removals",
    "Stored articles first seen removed at their origin, by how the origin said so: a 404, a"
    " 410, or a redirect to its front page.",
    ("reason",),
)
# Reading's stages (``mirror.reading`` puts each failure down to one): other is none of them.
READING_STAGES = frozenset({"decode", "prepare", "extract", "clean", "other"})
UNREADABLE_PAGES = FastCounter(
    "mirror_unreadable_pages",
    "Pages the mirror was given but could not read, by the stage that raised: decode, prepare"
    " (parse, strip the page), extract, clean (strip the body, sanitise) or other.",
    ("stage",),
)
SEARCHES = FastHistogram(
    "mirror_search_seconds",
    "Time of one full-text search (its count is the number of searches); no label: a query"
    " never reaches a metric.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
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
EVENT_COUNTER = FastCounter(
    "mirror_events",
    "Events counted by pipeline stages; names are listed in mirror/metrics.py EVENTS.",
    ("event",),
)
for _metric in _METRICS:
    REGISTRY.register(_metric)


@dataclass
class Tally:
    """Counts made where no one scrapes them (a transform process), to be added here."""

    events: dict[str, float] = field(default_factory=dict)
    elements: int = 0
    stripped_bytes: int = 0

    def add_to_counters(self) -> None:
        for event, amount in self.events.items():
            EVENT_COUNTER.inc(event, amount=amount)
        STRIPPED_ELEMENTS.inc(amount=self.elements)
        STRIPPED_BYTES.inc(amount=self.stripped_bytes)


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
        EVENT_COUNTER.inc(event, amount=amount)
    else:
        tally.events[event] = tally.events.get(event, 0) + amount


def count_stripped(elements: int, stripped_bytes: int) -> None:
    tally = _TALLY.get()
    if tally is None:
        STRIPPED_ELEMENTS.inc(amount=elements)
        STRIPPED_BYTES.inc(amount=max(stripped_bytes, 0))
    else:
        tally.elements += elements
        tally.stripped_bytes += max(stripped_bytes, 0)


def count_removal(reason: str) -> None:
    """Count an article first seen removed; ``reason`` is one of ``REMOVAL_REASONS``."""
    if reason not in REMOVAL_REASONS:
        raise ValueError(f"unknown removal reason {reason!r}")
    REMOVALS.inc(reason)


def count_unreadable(stage: str) -> None:
    """Count a page that could not be read; ``stage`` is one of ``READING_STAGES``."""
    if stage not in READING_STAGES:
        raise ValueError(f"unknown reading stage {stage!r}")
    UNREADABLE_PAGES.inc(stage)


def count_search(seconds: float) -> None:
    """Count one search and its time; nothing of the query is recorded."""
    SEARCHES.observe(seconds=seconds)


def count_way_out(event: str, name: str) -> None:
    """Count a refusal or a recovery of the way out ``name`` (the operator's name for it,
    from ``fetch.egress``: a closed set, never a URL)."""
    if event not in WAY_OUT_EVENTS:
        raise ValueError(f"unknown way out event {event!r}")
    WAYS_OUT.inc(event, name)


def count_cache(result: str) -> None:
    CACHE_LOOKUPS.inc(result)


@contextmanager
def origin_fetch() -> Iterator[None]:
    """Time one origin fetch and count its failure by the error's class name."""
    start = time.perf_counter()
    try:
        yield
    except Exception as exc:
        ORIGIN_FETCH_ERRORS.inc(type(exc).__name__)
        raise
    finally:
        ORIGIN_FETCH_SECONDS.observe(seconds=time.perf_counter() - start)


def count_alternates(states: Mapping[str, int], blocked: Mapping[str, int]) -> None:
    """Set how many addresses are in each state and measured blocked in each country;
    the labels are the states' names and the configured country codes, a closed set."""
    ALTERNATES.clear()
    ALTERNATES_BLOCKED.clear()
    for state, number in states.items():
        ALTERNATES.labels(state=state).set(number)
    for country, number in blocked.items():
        ALTERNATES_BLOCKED.labels(country=country).set(number)
