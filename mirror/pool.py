"""Worker processes for the CPU-heavy work, so the event loop does only I/O and cache hits.

Turning a page into an article, re-publishing a feed and building a download are pure
Python and lxml work: in the event loop's thread pool they hold the GIL against the loop,
and every reader of a cached page waits behind every new one. Here they run in processes
(``server.transform_processes``), each started with ``forkserver`` (no copy of the server's
threads, sockets or locks) and set up once by an initializer (the page rules, loaded once
per process).

The processes start when the pool is entered, from a fork server that imported the heavy
modules once (``PRELOAD``): a new or replaced worker is a fork, ready in milliseconds
rather than the seconds that importing lxml, trafilatura and the renderer take. A task that
runs past ``server.transform_timeout`` cannot be cancelled inside a process, so
its process is killed and replaced (pebble's pool does both) and the caller gets
``TooComplex``: nothing half-done comes back, so nothing half-done can be stored. The clock
starts when a worker takes the task, not when it is queued, so a crowd of new pages waits
its turn instead of timing out.

Workers run at a lower CPU priority (``NICENESS``): when new pages keep every core busy,
the event loop still gets the CPU first, so readers of cached pages do not wait behind
them; the workers have every cycle the loop leaves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable
from typing import Any, Self, TypeVar

import pebble

from mirror.errors import TooComplex

T = TypeVar("T")

START_METHOD = "forkserver"
# What every task needs imported: named, not imported here, so that this leaf module stays
# below the layers it runs work for.
PRELOAD = [
    "mirror.reading",
    "mirror.web.article",
    "mirror.web.downloads",
    "mirror.transform.pictures",
]
NICENESS = 10
STOP_SECONDS = 10.0


class TransformPool:
    """A pool of worker processes; ``run`` awaits one task without blocking the loop.

    Use as an async context manager: leaving it stops the workers (a running task is
    abandoned). ``tasks`` counts what was handed to the workers, so tests can tell how
    often the heavy work ran.
    """

    def __init__(
        self,
        processes: int,
        timeout: float,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self._timeout = timeout
        context = multiprocessing.get_context(START_METHOD)
        context.set_forkserver_preload(PRELOAD)
        self._pool = pebble.ProcessPool(
            max_workers=processes,
            initializer=_start_worker,
            initargs=(initializer, initargs),
            context=context,
        )
        self.tasks = 0

    async def __aenter__(self) -> Self:
        # Scheduling the first task starts the processes, which blocks until the fork server
        # is up: done in a thread, so that the event loop never waits for it.
        await asyncio.to_thread(self._pool.schedule, _started)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        await asyncio.to_thread(self._pool.join, STOP_SECONDS)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker process (both picklable: a module-level function
        and plain values). A caller who stops waiting (a cancelled task) kills the process
        that runs it, as a timeout does."""
        self.tasks += 1
        future: concurrent.futures.Future[T] = self._pool.schedule(
            function, args, timeout=self._timeout
        )
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            raise TooComplex(f"Processing stopped after {self._timeout:g} seconds.") from exc
        except pebble.ProcessExpired as exc:
            raise TooComplex("The page stopped the process reading it.") from exc


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """Every worker's first step: step back for the event loop, then its own set-up."""
    os.nice(NICENESS)
    if initializer is not None:
        initializer(*initargs)


def _started() -> None:
    """The task that starts a pool's processes; it has nothing to do."""


async def off_loop(pool: TransformPool | None, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in ``pool``; without one (tests and tools), in a thread."""
    if pool is None:
        return await asyncio.to_thread(function, *args)
    return await pool.run(function, *args)
