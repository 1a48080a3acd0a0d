"""The index file swapped by a rebuild under an open index, and a damaged one replaced."""

from __future__ import annotations

import threading
from pathlib import Path

from mirror.search.files import next_file, swap_in
from mirror.search.index import Entry, SearchIndex


def entry(url: str, text: str) -> Entry:
    return Entry(url, "site", "title", text, 1.0, "origin", False)


def urls(index: SearchIndex, query: str) -> list[str]:
    return [hit.entry.url for hit in index.search(query) or []]


def test_an_open_index_follows_a_swap_in_every_thread(tmp_path: Path) -> None:
    name = tmp_path / "search.sqlite3"
    live = SearchIndex(name)
    live.put(entry("old", "harbour"))
    seen_in_thread: list[list[str]] = []
    reader = threading.Thread(target=lambda: seen_in_thread.append(urls(live, "harbour")))
    reader.start()
    reader.join()
    built_at = next_file(name)
    built = SearchIndex(built_at)
    built.put(entry("new", "harbour"))
    built.close()
    swap_in(name, built_at)
    assert urls(live, "harbour") == ["new"]
    reader = threading.Thread(target=lambda: seen_in_thread.append(urls(live, "harbour")))
    reader.start()
    reader.join()
    assert seen_in_thread == [["old"], ["new"]]
    live.put(entry("later", "harbour"))
    live.close()
    assert sorted(urls(SearchIndex(name), "harbour")) == ["later", "new"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "search.sqlite3",
        built_at.name,
    ]


def test_a_file_that_is_no_database_is_moved_aside_for_an_empty_index(tmp_path: Path) -> None:
    name = tmp_path / "search.sqlite3"
    name.write_bytes(b"\x00garbage" * 1000)
    index = SearchIndex(name)
    assert index.count() == 0
    index.put(entry("a", "words"))
    assert urls(index, "words") == ["a"]
    assert (tmp_path / "search.sqlite3.damaged").read_bytes() == b"\x00garbage" * 1000
