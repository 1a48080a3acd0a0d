"""The search index: SQLite FTS5 over the folded text of the articles the mirror keeps.

One file in the data dir, apart from the cache: the cache is sealed (nothing readable at
rest) and a full-text index cannot be, so the index is a separate, optional file the
operator can leave out, and ``mirror search reindex`` can rebuild from the store.

The FTS5 table is contentless (``content=''``): it holds the inverted index of
``mirror.search.fold.index_text`` and nothing else; ``articles`` holds what a result shows
(title, site, date, source label, the text for the snippet, compressed with brotli: text
stored as it is would spill into half-empty overflow pages and weigh 1.26 times itself on
disk, compressed and in 16 KiB pages it weighs 0.62, measured by ``bench/search.py``).
Deleting from a contentless table needs the values indexed, recomputed from ``articles``.

Ranked by BM25 (title weighted above body), newest first among ties.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import brotli

from mirror.counters import count_search
from mirror.search.files import move_aside, resolved
from mirror.search.fold import fold, index_text
from mirror.search.query import fts_query

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(
    title, body, content='', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    url TEXT UNIQUE NOT NULL,
    site TEXT NOT NULL,
    title TEXT NOT NULL,
    text BLOB NOT NULL,
    saved_at REAL NOT NULL,
    source TEXT NOT NULL,
    removed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_site ON articles (site);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Ranked among the newest ``CANDIDATES`` matches (the most recently indexed): FTS5 walks
# the matches in row order and stops there, where ranking every match of a common word
# (的, "said") in 100,000 articles cost over 100 ms; the articles are joined there only
# to filter by site or removal.
SEARCH = """
SELECT a.url, a.site, a.title, a.text, a.saved_at, a.source, a.removed
FROM (
    SELECT words.rowid AS id, bm25(words, 4.0, 1.0) AS score
    FROM words {join}
    WHERE words MATCH ? {filters}
    ORDER BY words.rowid DESC LIMIT ?
) AS found JOIN articles a ON a.id = found.id
ORDER BY found.score, a.saved_at DESC
LIMIT ? OFFSET ?
"""
CANDIDATES = 500
FILTERED = "JOIN articles a ON a.id = words.rowid"
INDEX_FILE = "search.sqlite3"
BUSY_MS = 5000
PAGE_BYTES = 16384
# Brotli's own dictionary of web text (English and Chinese among it) makes a short article
# smaller than zlib does (0.55 against 0.58 of its bytes, bench/search.py), at 0.3 ms.
BROTLI_QUALITY = 5
PAGE_SIZE = 20
SNIPPET_CHARS = 240
SNIPPET_SCAN = 1500


@dataclass(frozen=True)
class Entry:
    """An article as the index holds it."""

    url: str
    site: str
    title: str
    text: str
    saved_at: float
    source: str
    removed: bool


@dataclass(frozen=True)
class Hit:
    """A result: the entry and its snippet, as (text, marked) pieces, never markup."""

    entry: Entry
    snippet: tuple[tuple[str, bool], ...]


class SearchIndex:
    """The index in one SQLite file, safe from threads: one writer connection behind a
    lock, and a connection per reading thread, so a search (WAL) never waits for a write.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._file = resolved(self.path)
        self._generation = 0
        self._db = _open_writer(self._file)

    def close(self) -> None:
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._db.close()

    def _follow(self) -> None:
        """Open the file the index's name stands for now, if a rebuild swapped it (under
        the lock: the writer is replaced; each thread's reader on its next use)."""
        if resolved(self.path) == self._file:
            return
        with self._lock:
            current = resolved(self.path)
            if current != self._file:
                self._db.close()
                self._db = _open_writer(current)
                self._file = current
                self._generation += 1

    def optimize(self) -> None:
        """Merge the index's segments into one and empty the write-ahead log (after a
        rebuild: smaller on disk, faster to search)."""
        self._follow()
        with self._lock:
            self._db.execute("INSERT INTO words (words) VALUES ('optimize')")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def meta(self, key: str) -> str | None:
        """A value the index keeps about itself (where a stream was last read)."""
        self._follow()
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._follow()
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def copy_meta(self, other: SearchIndex) -> None:
        """Keep what ``other`` kept about itself (a rebuild keeps the stream position)."""
        for key, value in other._reader().execute("SELECT key, value FROM meta").fetchall():
            self.set_meta(key, value)

    def newest_row(self) -> int:
        """The highest row number written so far: a rebuild copies what comes after it."""
        self._follow()
        row = self._reader().execute("SELECT COALESCE(MAX(id), 0) FROM articles").fetchone()
        return int(row[0])

    def entries_after(self, row: int) -> list[Entry]:
        """The entries written after ``row`` (``newest_row``), oldest first."""
        rows = self._reader().execute(
            "SELECT url, site, title, text, saved_at, source, removed FROM articles"
            " WHERE id > ? ORDER BY id",
            (row,),
        )
        return [
            Entry(u, si, ti, _unpacked(te), sa, so, bool(r)) for u, si, ti, te, sa, so, r in rows
        ]

    def put(self, entry: Entry) -> None:
        """Index ``entry``, replacing what was indexed for its URL."""
        self.put_many([entry])

    def put_many(self, entries: list[Entry]) -> None:
        """Index ``entries`` in one transaction (a rebuild's batches, a stream's reads)."""
        folded = [(e, index_text(e.title), index_text(e.text)) for e in entries]
        self._follow()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for entry, title, text in folded:
                    self._insert(entry, title, text)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(self, entry: Entry, title: str, text: str) -> None:
        self._delete(entry.url)
        cursor = self._db.execute(
            "INSERT INTO articles (url, site, title, text, saved_at, source, removed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.url,
                entry.site,
                entry.title,
                _packed(entry.text),
                entry.saved_at,
                entry.source,
                int(entry.removed),
            ),
        )
        self._db.execute(
            "INSERT INTO words (rowid, title, body) VALUES (?, ?, ?)",
            (cursor.lastrowid, title, text),
        )

    def remove(self, url: str) -> bool:
        """Forget ``url`` (a purge); whether it was indexed."""
        self._follow()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._delete(url)
            self._db.execute("COMMIT")
            return gone

    def _delete(self, url: str) -> bool:
        row = self._db.execute(
            "SELECT id, title, text FROM articles WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return False
        rowid, title, text = row
        self._db.execute(
            "INSERT INTO words (words, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            (rowid, index_text(title), index_text(_unpacked(text))),
        )
        self._db.execute("DELETE FROM articles WHERE id = ?", (rowid,))
        return True

    def search(
        self, query: str, site: str | None = None, removed_only: bool = False, page: int = 0
    ) -> list[Hit] | None:
        """A page of results for ``query``; ``None`` if it holds no word to search for."""
        match = fts_query(query)
        if match is None:
            return None
        self._follow()
        filters, params = "", [match]
        if site is not None:
            filters += " AND a.site = ?"
            params.append(site)
        if removed_only:
            filters += " AND a.removed = 1"
        start = time.perf_counter()
        rows = (
            self._reader()
            .execute(
                SEARCH.format(join=FILTERED if filters else "", filters=filters),
                (*params, CANDIDATES, PAGE_SIZE, max(page, 0) * PAGE_SIZE),
            )
            .fetchall()
        )
        words = _snippet_words(query)
        hits = []
        for url, row_site, title, packed, saved_at, source, is_removed in rows:
            text = _unpacked(packed)
            entry = Entry(url, row_site, title, text, saved_at, source, bool(is_removed))
            hits.append(Hit(entry, snippet(text, words)))
        count_search(time.perf_counter() - start)
        return hits

    def count(self) -> int:
        self._follow()
        return int(self._reader().execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def _reader(self) -> sqlite3.Connection:
        """This thread's reading connection, opened on first use and again after a swap."""
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "db", None)
        if held is not None and held[0] == self._generation:
            return held[1]
        with self._lock:
            if held is not None:
                self._readers.remove(held[1])
                held[1].close()
            reader = _connect(self._file)
            self._local.db = (self._generation, reader)
            self._readers.append(reader)
        return reader


def _packed(text: str) -> bytes:
    return bytes(brotli.compress(text.encode("utf-8"), quality=BROTLI_QUALITY))


def _unpacked(packed: bytes) -> str:
    return bytes(brotli.decompress(packed)).decode("utf-8")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return db


def _open_writer(path: Path) -> sqlite3.Connection:
    """The writing connection to ``path``, its tables made; a file that is no database
    (or a damaged one) is moved aside and an empty index made instead."""
    try:
        return _writer(path)
    except sqlite3.DatabaseError:
        move_aside(path)
        return _writer(path)


def _writer(path: Path) -> sqlite3.Connection:
    db = _connect(path)
    try:
        db.execute(f"PRAGMA page_size={PAGE_BYTES}")  # a new file's only: see the module
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def _snippet_words(query: str) -> list[str]:
    """The folded words of ``query`` to mark in a snippet, longest first."""
    words = {w for w in fold(query.replace('"', " ").replace("\0", " ")).split() if w}
    return sorted(words, key=len, reverse=True)


def snippet(text: str, words: list[str]) -> tuple[tuple[str, bool], ...]:
    """Up to ``SNIPPET_CHARS`` of ``text`` around the first word found, with the words
    marked. Folding maps Simplified and Traditional Chinese character for character, so
    the folded text's positions are the original's where the lengths agree; where they
    do not (rare compatibility forms), the snippet is the text's start, unmarked. The
    text's start is folded first (most words found are found there), the rest only when
    no word is in it: folding a whole article for every result cost half of a search."""
    for scanned in (SNIPPET_SCAN, len(text)):
        part = text[:scanned]
        folded = fold(part)
        if scanned >= len(text) or any(w in folded for w in words):
            break
    if len(folded) != len(part):
        return ((text[:SNIPPET_CHARS], False),)
    first = min((i for i in (folded.find(w) for w in words) if i >= 0), default=0)
    start = max(0, first - SNIPPET_CHARS // 4)
    end = min(len(text), start + SNIPPET_CHARS)
    pieces: list[tuple[str, bool]] = []
    position = start
    while position < end:
        found = [(folded.find(w, position, end), w) for w in words]
        found = [(i, w) for i, w in found if i >= 0]
        if not found:
            break
        at, word = min(found)
        if at > position:
            pieces.append((text[position:at], False))
        pieces.append((text[at : at + len(word)], True))
        position = at + len(word)
    if position < end:
        pieces.append((text[position:end], False))
    return tuple(pieces)
