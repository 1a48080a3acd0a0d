"""Two small tools the pipeline uses for its origins: share one running call among
concurrent callers (``SingleFlight``), and remember an origin's recent failure
(``RecentErrors``) so that a blocked or failing origin is not asked by every reader."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from mirror.errors import MirrorError

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Concurrent callers for one key share one running call."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        """How many calls are running."""
        return len(self._running)

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        if key in self._running:
            return await asyncio.shield(self._running[key])
        future: asyncio.Future[T] = asyncio.ensure_future(call())
        self._running[key] = future
        try:
            return await asyncio.shield(future)
        finally:
            if future.done():
                self._running.pop(key, None)
            else:
                future.add_done_callback(lambda _: self._running.pop(key, None))

    async def aclose(self) -> None:
        """Cancel the calls still running and wait for them: none may outlive the fetcher
        and the store it uses (a caller's cancellation stops only its wait, by design)."""
        running = list(self._running.values())
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)


class RecentErrors:
    """Origin errors remembered for a short while (negative caching), in memory only.

    A blocked or failing origin is then not asked again by every reader: the saved copy
    (or the error) is served at once until ``seconds`` have passed.
    """

    def __init__(
        self,
        seconds: int,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._capacity = capacity
        self._clock = clock
        self._errors: OrderedDict[str, tuple[float, MirrorError]] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise the error remembered for ``key``, if it is recent (with only this raise's
        frames: the remembered object's earlier tracebacks are let go)."""
        error = self.recent(key)
        if error is not None:
            raise error.with_traceback(None)

    def recent(self, key: str) -> MirrorError | None:
        """The error remembered for ``key``, if it is recent. Asking does not raise it:
        each raise of the one remembered object adds the raising frames to its traceback,
        keeping them (and what they hold) alive for as long as it is remembered."""
        remembered = self._errors.get(key)
        if remembered is None:
            return None
        if self._clock() < remembered[0]:
            return remembered[1]
        del self._errors[key]
        return None

    def remember(self, key: str, error: MirrorError) -> None:
        if self._seconds <= 0:
            return
        self._errors[key] = (self._clock() + self._seconds, error)
        self._errors.move_to_end(key)
        while len(self._errors) > self._capacity:
            self._errors.popitem(last=False)
