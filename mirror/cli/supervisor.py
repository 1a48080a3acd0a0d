"""The pre-fork supervisor of ``mirror serve``: worker processes that all accept on one
listening socket, the counters they share, and the event loop each one runs."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import traceback
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mirror.cli.common import STOP_SIGNALS
from mirror.counters import share
from mirror.settings import Config


@contextmanager
def shared_counters() -> Iterator[None]:
    """Every process of this server (workers, and any they fork) counts into files of a
    fresh private directory, so a scrape answered by any of them sums them all; the
    directory goes when the server stops."""
    directory = Path(tempfile.mkdtemp(prefix="mirror-metrics-"))
    share(directory)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


STOPPED = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


def serve_workers(config: Config, serve: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """Fork ``server.workers`` processes that each run ``serve()``, all accepting on the one
    listening socket opened before the fork; the kernel spreads the connections, so
    throughput scales with cores while each process stays single-threaded."""
    children: list[int] = []

    def forward(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for _ in range(config.server.workers):
        pid = os.fork()
        if pid == 0:  # the child serves until told to stop, then leaves without cleanup
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            code = 0
            try:
                run_loop(config, serve())
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    failed = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        # A child still starting up when the stop signal came dies by it: that is a clean stop.
        failed += os.waitstatus_to_exitcode(status) not in STOPPED
    return 1 if failed else 0


def run_loop(config: Config, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where it is installed (it answers cache hits with less CPU per
    request than asyncio's own loop), unless ``server.uvloop`` is off; else on asyncio's."""
    with asyncio.Runner(loop_factory=event_loop_factory(config)) as runner:
        runner.run(main)


def event_loop_factory(config: Config) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or ``None`` (asyncio's default) when it is off or missing."""
    if not config.server.uvloop:
        return None
    try:
        import uvloop  # optional: a platform without it serves on asyncio's loop
    except ImportError:
        return None
    return uvloop.new_event_loop
