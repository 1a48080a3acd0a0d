"""``mirror serve`` keeps the published copies current: each ``[[publish]]`` target with
``every_seconds`` is published that often, by one process of all that share the data dir
(the first to take the publish lock when one is due), as the alternates check is.

When a target was last tried is kept in the publish status file, so a restart, another
worker or a replica does not publish again before it is due; a failed publish waits out
its interval too, and the error is in ``mirror publish --status`` and the log.

A push or a capture publishes those targets again soon (``AfterCopies``), without waiting
for their interval: ``AFTER_COPY_SECONDS`` after the first copy of a burst, once for the
whole burst, by the process that took the copy, under the same lock (taken later if another
process is publishing: its copy may have missed the new article).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from mirror.errors import described
from mirror.locks import held_if_free
from mirror.settings import Config, PublishTarget
from mirror.share.publish import STATUS_FILE, PublishStatus, run_publish
from mirror.share.targets import PublishError

log = logging.getLogger(__name__)
LOCK_FILE = STATUS_FILE.with_name("lock")
LOOK_SECONDS = 30.0  # how often the schedule is looked at; a publish is due at most this late
AFTER_COPY_SECONDS = 10.0  # a publisher pushing a dozen corrections causes one publish


@contextlib.contextmanager
def publish_lock(data_dir: Path) -> Iterator[bool]:
    """Whether this process may publish now: False while another holds the lock."""
    with held_if_free(data_dir / LOCK_FILE) as ours:
        yield ours


def due_targets(config: Config, now: float) -> list[PublishTarget]:
    """The scheduled targets whose interval has passed since they were last tried."""
    status = PublishStatus.load(config.server.data_dir).targets
    return [
        t
        for t in config.publish
        if t.every_seconds > 0
        and now - (status[t.name].last_attempt if t.name in status else 0.0) >= t.every_seconds
    ]


async def publish_due(config: Config) -> int:
    """Publish every due target if this process holds the lock; how many were tried."""
    with publish_lock(config.server.data_dir) as ours:
        due = due_targets(config, time.time()) if ours else []
        if due:
            await _publish_logged(config, due)
        return len(due)


async def _publish_logged(config: Config, targets: list[PublishTarget]) -> None:
    try:
        for report in await run_publish(config, targets):
            log.info("%s", report.summary().removeprefix("mirror: "))
    except PublishError as exc:  # its message names a target and a code, no secret
        log.error("publish: failed: %s", exc)
    except Exception as exc:  # the next round tries again; serving goes on meanwhile
        log.error("publish: failed: %s", described(exc))


class AfterCopies:
    """Publishes the scheduled targets soon after the mirror took a copy (a push, a
    capture): ``copied`` is all a handler calls, and it never waits."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._targets = [t for t in config.publish if t.every_seconds > 0]
        self._copied = asyncio.Event()
        self.publishes = 0

    def copied(self) -> None:
        self._copied.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The publisher's task, while the server runs; none without a scheduled target."""
        if not self._targets:
            yield
            return
        task = asyncio.create_task(self._forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _forever(self) -> None:
        while True:
            await self._copied.wait()
            await asyncio.sleep(AFTER_COPY_SECONDS)  # the rest of the burst joins this one
            self._copied.clear()  # a copy taken while publishing causes the next one
            with publish_lock(self._config.server.data_dir) as ours:
                if ours:
                    await _publish_logged(self._config, self._targets)
                    self.publishes += 1
            if not ours:
                self._copied.set()  # another process is publishing: try again after it


@contextlib.asynccontextmanager
async def periodic_publish(
    config: Config, look_seconds: float = LOOK_SECONDS
) -> AsyncIterator[None]:
    """``serve``'s publisher; nothing runs when no target has ``every_seconds``."""
    if not any(t.every_seconds > 0 for t in config.publish):
        yield
        return

    async def forever() -> None:
        while True:
            await publish_due(config)
            await asyncio.sleep(look_seconds)

    task = asyncio.create_task(forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
