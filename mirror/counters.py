"""The mirror's counters: what every layer counts, with no web framework attached.

Every label value comes from a closed set that we define: a route *template* such as
``/m/{token}`` (never the path that matched it), a status code, the class name of an error,
a cache result, or an event name from ``EVENTS``. So no URL, token, address or user agent can
reach a label, however a request is crafted. ``mirror.web.metrics`` serves them.

Stages count what they did through ``count(event)``; adding an event is adding a row to
``EVENTS``, and an unknown name fails loudly rather than inventing a label value.

Several processes serve one socket (``server.workers``), and a scrape reaches whichever
accepts it; each would answer with its own counts, so counters would jump backwards from one
scrape to the next. ``share(directory)``, called once before the processes fork, makes every
process write its counts into files of its own there, in prometheus_client's multiprocess
format (one ``MmapedDict`` per process and kind), and a scrape sums every file
(``MultiProcessCollector``): counters of all processes, those that have exited included.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

REGISTRY = CollectorRegistry()


class _Sharing:
    """Where this process writes its counts when processes share them (``share``).

    A forked child inherits the parent's counts and open files; the first count it makes
    notices the new process id, forgets both, and starts files of its own from zero (what
    the parent counted stays in the parent's files).
    """

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.pid = 0
        self.files: dict[str, MmapedDict] = {}

    def file(self, kind: str) -> MmapedDict | None:
        """This process's file for ``kind`` (``counter``, ``histogram``); None unshared."""
        if self.directory is None:
            return None
        if self.pid != os.getpid():
            self.pid = os.getpid()
            self.files = {}
            for metric in _METRICS:
                metric.forget()
        if kind not in self.files:
            self.files[kind] = MmapedDict(str(self.directory / f"{kind}_{self.pid}.db"))
        return self.files[kind]


_SHARING = _Sharing()
# Counts may come from the event loop and from transform threads at once.
_LOCK = threading.Lock()
_METRICS: list[FastCounter | FastHistogram] = []


def share(directory: Path) -> None:
    """Make this process and every process forked from it count into files in ``directory``
    (empty, private to one server run), and scrapes answer the sum of all of them."""
    with _LOCK:
        _SHARING.directory = directory
        _SHARING.pid = os.getpid()
        _SHARING.files = {}


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's files when shared, else this process's counts."""
    if _SHARING.directory is None:
        return REGISTRY
    merged = CollectorRegistry()
    MultiProcessCollector(merged, str(_SHARING.directory))
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
        self._keys: dict[tuple[str, ...], str] = {}
        _METRICS.append(self)

    def inc(self, *values: str, amount: float = 1) -> None:
        with _LOCK:
            shared = _SHARING.file("counter")  # first: a new process forgets inherited counts
            count = self.counts[values] = self.counts.get(values, 0) + amount
            if shared is not None:
                shared.write_value(self._key(values), count, 0.0)

    def value(self, *values: str) -> float:
        return self.counts.get(values, 0)

    def forget(self) -> None:
        self.counts.clear()

    def _key(self, values: tuple[str, ...]) -> str:
        key = self._keys.get(values)
        if key is None:
            name, labels = self.name, list(self.labels)
            key = mmap_key(name, name + "_total", labels, list(values), self.documentation)
            self._keys[values] = key
        return key

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
        self._keys: dict[tuple[str, ...], tuple[list[str], str]] = {}
        _METRICS.append(self)

    def observe(self, *values: str, seconds: float) -> None:
        with _LOCK:
            shared = _SHARING.file("histogram")  # first: a new process forgets inherited counts
            counts = self.counts.get(values)
            if counts is None:
                counts = self.counts[values] = [0] * (len(self.buckets) + 1)
                self.sums[values] = 0.0
                if shared is not None:  # every bucket, so the merged ones are all there
                    for key in self._key(values)[0]:
                        shared.write_value(key, 0.0, 0.0)
            slot = bisect_left(self.buckets, seconds)
            counts[slot] += 1
            self.sums[values] += seconds
            if shared is not None:
                buckets, total = self._key(values)
                shared.write_value(buckets[slot], counts[slot], 0.0)
                shared.write_value(total, self.sums[values], 0.0)

    def count(self, *values: str) -> int:
        return sum(self.counts.get(values, ()))

    def forget(self) -> None:
        self.counts.clear()
        self.sums.clear()

    def _key(self, values: tuple[str, ...]) -> tuple[list[str], str]:
        """The file's keys of each bucket (not cumulative, as prometheus_client writes
        them) and of the sum, for one set of label values."""
        keys = self._keys.get(values)
        if keys is None:
            name, labels = self.name, [*self.labels, "le"]
            bounds = [*map(floatToGoString, self.buckets), "+Inf"]
            doc = self.documentation
            buckets = [mmap_key(name, name + "_bucket", labels, [*values, b], doc) for b in bounds]
            total = mmap_key(name, name + "_sum", list(self.labels), list(values), doc)
            keys = self._keys[values] = (buckets, total)
        return keys

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
    "Page lookups: hit (fresh copy), miss (fetched from the origin), stale (saved copy served).",
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
EVENTS = {
    "extraction_fallback": "Reader-mode extraction fell back to a simpler method.",
    "rate_limited": "A request was refused by the per-client rate limit.",
    "access_key_refused": "A request carried a wrong access key.",
    "rate_limit_store_down": "Redis did not answer; the rate limit fell back to memory.",
}
EVENT_COUNTER = FastCounter(
    "mirror_events",
    "Events counted by pipeline stages; names are listed in mirror/metrics.py EVENTS.",
    ("event",),
)
for _metric in _METRICS:
    REGISTRY.register(_metric)


def count(event: str, amount: float = 1) -> None:
    """Count ``amount`` of a named event; the name must be one of ``EVENTS``."""
    if event not in EVENTS:
        raise ValueError(f"unknown metrics event {event!r}: add it to EVENTS")
    EVENT_COUNTER.inc(event, amount=amount)


def count_stripped(elements: int, stripped_bytes: int) -> None:
    STRIPPED_ELEMENTS.inc(amount=elements)
    STRIPPED_BYTES.inc(amount=max(stripped_bytes, 0))


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
