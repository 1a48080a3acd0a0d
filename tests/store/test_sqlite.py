"""The SQLite store's own promises: a size bound, crash safety, and healing a broken file."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from mirror.store.sqlite import SqliteStore

WRITER = """
import asyncio, sys
from pathlib import Path
from mirror.store.sqlite import SqliteStore

async def main() -> None:
    async with SqliteStore(Path(sys.argv[1]), 1 << 30, 0) as store:
        i = 0
        while True:
            await store.put(i.to_bytes(8, "big"), bytes([i % 251]) * 20_000)
            print(i, flush=True)
            i += 1

asyncio.run(main())
"""


def value(i: int) -> bytes:
    return bytes([i % 251]) * 20_000


async def test_size_is_bounded_and_recently_used_entries_stay(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "c.sqlite3", 100_000, 0) as store:
        for i in range(4):
            await store.put(bytes([i]), b"x" * 20_000)
        await asyncio.sleep(0.01)
        assert await store.get(bytes([0])) is not None  # entry 0 is now the most recent
        for i in range(4, 6):  # the sixth entry goes over the bound: evict down to 90%
            await store.put(bytes([i]), b"x" * 20_000)
        assert (await store.stats())["value_bytes"] == 80_000
        assert await store.get(bytes([0])) is not None
        assert await store.get(bytes([1])) is None
        assert await store.get(bytes([2])) is None
        assert await store.get(bytes([5])) is not None


async def test_kill_9_during_writes_loses_no_committed_entry(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(path), stdout=asyncio.subprocess.PIPE
    )
    assert writer.stdout is not None
    committed: list[int] = []
    while len(committed) < 300:
        line = await asyncio.wait_for(writer.stdout.readline(), 30)
        committed.append(int(line))
    os.kill(writer.pid, signal.SIGKILL)  # mid-write: the loop never pauses
    assert await writer.wait() == -signal.SIGKILL
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    async with SqliteStore(path, 1 << 30, 0) as store:
        for i in committed:
            assert await store.get(i.to_bytes(8, "big")) == value(i), i


async def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database, it is the remains of one" * 100)
    async with SqliteStore(path, 1 << 30, 0) as store:
        await store.put(b"k", b"v")
        assert await store.get(b"k") == b"v"
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside == [aside[0]] and aside[0].startswith("c.sqlite3.corrupt-")


async def test_file_broken_while_running_is_rebuilt_and_service_continues(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.sqlite3"
    async with SqliteStore(path, 1 << 30, 0) as store:
        for i in range(100):  # more than SQLite's page cache holds, so reads go to the file
            await store.put(i.to_bytes(2, "big"), b"v" * 50_000)
        await store.prune()  # checkpoint: everything is in the main file now
        with path.open("r+b") as handle:
            handle.seek(0)
            handle.write(os.urandom(200_000))
        outcomes: list[object] = []
        for _ in range(3):
            try:
                outcomes.append(await store.get((7).to_bytes(2, "big")))
            except Exception as exc:
                outcomes.append(type(exc).__name__)
        await store.put(b"after", b"works")
        assert await store.get(b"after") == b"works"
    assert any(".corrupt-" in p.name for p in tmp_path.iterdir()), outcomes


async def test_kept_entries_are_never_evicted_nor_pruned(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    async with SqliteStore(path, 100_000, 3600) as store:
        await store.put(b"kept", b"k" * 20_000, keep=True)
        for i in range(50):  # 1 MB through a 100 KB bound: everything else goes, many times
            await store.put(bytes([i]), b"x" * 20_000)
        assert await store.get(b"kept") == b"k" * 20_000
        assert await store.get(bytes([0])) is None
        assert (await store.stats())["value_bytes"] <= 100_000
    with sqlite3.connect(path) as db:  # neither read nor refreshed for two hours
        db.execute("UPDATE entries SET used_at = used_at - 7200")
    async with SqliteStore(path, 100_000, 3600) as store:
        assert await store.prune() > 0
        assert await store.get(b"kept") == b"k" * 20_000
        await store.put(b"kept", b"k", keep=False)  # ordinary again: the next prune may drop it
    with sqlite3.connect(path) as db:
        db.execute("UPDATE entries SET used_at = used_at - 7200")
    async with SqliteStore(path, 100_000, 3600) as store:
        await store.prune()
        assert await store.get(b"kept") is None


async def test_a_file_from_before_kept_entries_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE entries (key BLOB PRIMARY KEY, value BLOB NOT NULL,"
            " size INTEGER NOT NULL, stored_at REAL NOT NULL, used_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO entries VALUES (x'01', x'02', 1, 0, 0)")
    async with SqliteStore(path, 1 << 30, 0) as store:
        assert await store.get(b"\x01") == b"\x02"
        await store.put(b"\x03", b"kept", keep=True)
        await store.index_put(b"i", b"\x03", b"v")
        assert await store.index_items(b"i") == [(b"\x03", b"v")]
