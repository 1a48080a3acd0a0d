"""Counters shared by processes: each counts into its own file, a scrape sums them all; counts
made in a transform process reach the counters that ``/metrics`` reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mirror.counters import EVENT_COUNTER, STRIPPED_BYTES, count, count_stripped, tallied

FORKING_COUNTER = """
import os, sys
from pathlib import Path
from prometheus_client import generate_latest
from mirror import counters

counters.share(Path(sys.argv[1]))
counters.count_cache("hit")
counters.REQUEST_SECONDS.observe("/m/{token}", seconds=0.002)
children = []
for n in range(3):
    pid = os.fork()
    if pid == 0:  # each child counts on top of what it inherited
        for _ in range(n + 1):
            counters.count_cache("hit")
            counters.REQUEST_SECONDS.observe("/m/{token}", seconds=0.3)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
sys.stdout.write(generate_latest(counters.registry()).decode())
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_forked_processes_count_from_zero_and_a_scrape_sums_them_all(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", FORKING_COUNTER, str(tmp_path)],
        capture_output=True,
        check=True,
        text=True,
    )
    found = samples(run.stdout)
    route = (("route", "/m/{token}"),)
    assert found[("mirror_cache_lookups_total", (("result", "hit"),))] == 1 + 1 + 2 + 3
    assert found[("mirror_request_seconds_count", route)] == 7
    assert found[("mirror_request_seconds_bucket", (("le", "0.005"), *route))] == 1
    assert found[("mirror_request_seconds_bucket", (("le", "0.5"), *route))] == 7
    assert found[("mirror_request_seconds_sum", route)] == pytest.approx(0.002 + 6 * 0.3)
    assert len(list(tmp_path.glob("counter_*.db"))) == 4  # the parent's and each child's


def test_counts_inside_a_tally_reach_the_counters_only_when_added() -> None:
    before_bytes = STRIPPED_BYTES.value()
    before_events = EVENT_COUNTER.value("extraction_fallback")
    with tallied() as tally:
        count_stripped(3, 120)
        count("extraction_fallback")
    assert (tally.elements, tally.stripped_bytes) == (3, 120)
    assert tally.events == {"extraction_fallback": 1}
    assert STRIPPED_BYTES.value() == before_bytes
    tally.add_to_counters()
    assert STRIPPED_BYTES.value() == before_bytes + 120
    assert EVENT_COUNTER.value("extraction_fallback") == before_events + 1
    count_stripped(1, 5)  # outside a tally: straight to the counters
    assert STRIPPED_BYTES.value() == before_bytes + 125
