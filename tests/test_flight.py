"""One running call shared by concurrent callers, and origin errors remembered briefly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mirror.errors import OriginStatus
from mirror.flight import RecentErrors, SingleFlight


async def test_single_flight_shares_errors_and_clears() -> None:
    calls = 0

    async def failing() -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise OriginStatus(500)

    flights: SingleFlight[Any] = SingleFlight()
    outcomes = await asyncio.gather(
        *(flights.run("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(o, OriginStatus) for o in outcomes)
    with pytest.raises(OriginStatus):
        await flights.run("k", failing)
    assert calls == 2


async def test_a_cancelled_caller_leaves_the_shared_call_running_for_the_others() -> None:
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "done"

    flights: SingleFlight[str] = SingleFlight()
    first = asyncio.create_task(flights.run("k", slow))
    second = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "done"
    assert len(flights) == 0


async def test_closing_cancels_the_calls_still_running() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    flights: SingleFlight[None] = SingleFlight()
    waiter = asyncio.create_task(flights.run("k", forever))
    await asyncio.sleep(0)
    assert len(flights) == 1
    await flights.aclose()
    assert len(flights) == 0
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_an_error_is_raised_again_until_its_time_is_up() -> None:
    now = [1000.0]
    errors = RecentErrors(30, clock=lambda: now[0])
    errors.remember("k", OriginStatus(503))
    with pytest.raises(OriginStatus):
        errors.check("k")
    now[0] += 31
    errors.check("k")  # forgotten


def test_nothing_is_remembered_with_zero_seconds_and_the_oldest_go_first() -> None:
    errors = RecentErrors(0)
    errors.remember("k", OriginStatus(503))
    errors.check("k")
    bounded = RecentErrors(60, capacity=2)
    for key in ("a", "b", "c"):
        bounded.remember(key, OriginStatus(503))
    bounded.check("a")  # pushed out by c
    with pytest.raises(OriginStatus):
        bounded.check("c")


def test_a_remembered_error_keeps_only_its_last_raise_and_can_be_asked_without_one() -> None:
    errors = RecentErrors(30)
    error = OriginStatus(503)
    errors.remember("k", error)
    assert errors.recent("k") is error and error.__traceback__ is None
    assert errors.recent("other") is None
    for _ in range(3):
        with pytest.raises(OriginStatus):
            errors.check("k")
    depth, frame = 0, error.__traceback__
    while frame is not None:
        depth, frame = depth + 1, frame.tb_next
    assert depth == 2  # check and this test: one raise's frames, not three raises'
