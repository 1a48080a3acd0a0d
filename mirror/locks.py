"""A file lock that one process of all sharing a data dir takes to do a periodic job (the
alternates check, a publish), and that the others skip rather than wait for."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def held_if_free(path: Path) -> Iterator[bool]:
    """Whether this process holds the lock at ``path`` now: False, at once, while another
    process holds it. The lock goes with the process, so a crashed holder leaves none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
