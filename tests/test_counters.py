"""Counts made in a transform process reach the counters that ``/metrics`` reads."""

from __future__ import annotations

from mirror.counters import EVENT_COUNTER, STRIPPED_BYTES, count, count_stripped, tallied


def test_counts_inside_a_tally_reach_the_counters_only_when_added() -> None:
    before_bytes = STRIPPED_BYTES._value.get()
    before_events = EVENT_COUNTER.labels(event="extraction_fallback")._value.get()
    with tallied() as tally:
        count_stripped(3, 120)
        count("extraction_fallback")
    assert (tally.elements, tally.stripped_bytes) == (3, 120)
    assert tally.events == {"extraction_fallback": 1}
    assert STRIPPED_BYTES._value.get() == before_bytes
    tally.add_to_counters()
    assert STRIPPED_BYTES._value.get() == before_bytes + 120
    assert EVENT_COUNTER.labels(event="extraction_fallback")._value.get() == before_events + 1
    count_stripped(1, 5)  # outside a tally: straight to the counters
    assert STRIPPED_BYTES._value.get() == before_bytes + 125
