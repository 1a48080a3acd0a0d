"""Where the index file is, how a rebuilt one replaces it, and what a damaged one becomes.

The index's name in the data dir (``search.sqlite3``) is, once rebuilt, a symbolic link
to the file in use (``search.sqlite3.<n>``). A rebuild writes a new file beside it and
swaps the link in one ``rename``, atomic on POSIX: every process that has the index open
notices the link changed on its next read or write (``SearchIndex`` compares the file the
name resolves to) and opens the new file. Renaming a new database over the old name would
not do: a live SQLite file's ``-wal`` and ``-shm`` are found by name, and the new file would
be read with the old file's log.

A file SQLite cannot read as a database is moved aside (``.damaged``) and an empty index
made in its place, so a damaged index costs search until ``mirror search reindex`` fills
it, never the server.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")


def resolved(name: Path) -> Path:
    """The file ``name`` stands for now: the link's target, or ``name`` itself."""
    return Path(os.path.realpath(name))


def next_file(name: Path) -> Path:
    """A new file beside ``name`` for a rebuild to write."""
    return name.with_name(f"{name.name}.{time.time_ns()}")


def swap_in(name: Path, built: Path) -> None:
    """Make ``name`` stand for ``built`` in one rename, then delete the file it stood for
    (processes that still have it open keep reading it until they notice the change)."""
    previous = resolved(name) if name.exists() or name.is_symlink() else None
    link = built.with_name(built.name + ".link")
    link.unlink(missing_ok=True)
    link.symlink_to(built.name)
    os.replace(link, name)
    if previous is not None and previous != built and previous != name:
        delete(previous)
    elif previous == name:
        delete_side_files(name)


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    delete_side_files(path)


def delete_side_files(path: Path) -> None:
    for suffix in SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def move_aside(path: Path) -> None:
    """Keep a damaged file for a look, out of the index's way."""
    log.warning("the search index is damaged; an empty one is made (mirror search reindex)")
    os.replace(path, path.with_name(path.name + ".damaged"))
    delete_side_files(path)
