"""Retry-After read as an origin sends it, and origins that asked to wait left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mirror.errors import OriginStatus
from mirror.fetch.backoff import Backoff, retry_after_seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_a_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    seconds = retry_after_seconds(later)
    assert seconds is not None
    assert 55 < seconds <= 60


def test_an_origin_that_asked_to_wait_is_not_asked_before_then() -> None:
    backoff = Backoff(longest=3600)
    backoff.record("https://a.example", "120")
    with pytest.raises(OriginStatus) as waiting:
        backoff.check("https://a.example")
    assert waiting.value.origin_status == 429
    backoff.check("https://b.example")  # another origin is not held back
    backoff.record("https://c.example", "soon")  # unreadable: no wait
    backoff.check("https://c.example")
