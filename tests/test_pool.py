"""The transform processes: results as in a thread, a timeout that replaces its process."""

from __future__ import annotations

import importlib
import os
import time

import pytest

from mirror.errors import TooComplex
from mirror.pool import NICENESS, PRELOAD, TransformPool, off_loop
from mirror.reading import load_page_rules, read_in_worker, read_page, start_worker
from tests.conftest import ARTICLE_URL
from tests.support.paths import CDT


async def test_a_page_read_in_a_worker_equals_the_page_read_in_this_process() -> None:
    body = (CDT / "article.html").read_bytes()
    async with TransformPool(1, 60.0, start_worker, (None,)) as pool:
        in_worker, tally = await pool.run(read_in_worker, body, "utf-8", ARTICLE_URL)
        assert pool.tasks == 1
    assert tally.stripped_bytes > 0  # counted in the worker, sent back to be added here
    assert in_worker == read_page(body, "utf-8", ARTICLE_URL, load_page_rules(None))
    assert "Xinjiang" in in_worker.title


async def test_a_task_past_the_timeout_is_too_complex_and_its_process_is_replaced() -> None:
    async with TransformPool(1, 0.5) as pool:
        before = await pool.run(os.getpid)
        started = time.monotonic()
        with pytest.raises(TooComplex, match=r"0\.5 seconds"):
            await pool.run(time.sleep, 30)
        assert time.monotonic() - started < 15  # killed, not waited for
        after = await pool.run(os.getpid)
    assert after != before
    assert TooComplex.status == 502


async def test_an_error_in_a_worker_reaches_the_caller_as_itself() -> None:
    async with TransformPool(1, 10.0) as pool:
        with pytest.raises(ZeroDivisionError):
            await pool.run(divmod, 1, 0)
        assert await pool.run(divmod, 7, 2) == (3, 1)


async def test_without_a_pool_work_runs_in_a_thread() -> None:
    assert await off_loop(None, divmod, 7, 2) == (3, 1)


async def test_workers_run_below_the_event_loop_priority() -> None:
    async with TransformPool(1, 10.0) as pool:
        assert await pool.run(os.nice, 0) == os.nice(0) + NICENESS


def test_every_preloaded_module_exists() -> None:
    """The forkserver skips a preload it cannot import, silently: a renamed module would
    leave every new worker importing it on its first task instead."""
    for name in PRELOAD:
        importlib.import_module(name)
