"""Where a reader's query may have been left: for the tests that a search leaves none.

``traces_of`` looks for a word in everything a mirror writes or shows besides its answer:
every file under the data dir (the cache, keys, the search index and its log, metrics
files), the logs captured, and a scrape of the metrics. The word is looked for as typed,
folded as the index folds it, and in the forms a file may hold it (UTF-8, UTF-16, hex).
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import generate_latest

from mirror import counters
from mirror.search.fold import fold


def forms(word: str) -> list[bytes]:
    """The byte strings that would betray ``word`` in a file."""
    texts = {word, fold(word), word.upper()}
    found: list[bytes] = []
    for text in texts:
        found += [
            text.encode("utf-8"),
            text.encode("utf-16-le"),
            text.encode("utf-8").hex().encode(),
        ]
    return found


def traces_of(
    word: str, data_dir: Path, logs: str, allowed: frozenset[Path] = frozenset()
) -> list[str]:
    """Where ``word`` is found: file paths (less ``allowed``), ``logs``, ``metrics``."""
    places = [
        str(path)
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and path not in allowed and _holds(path.read_bytes(), word)
    ]
    if _holds(logs.encode("utf-8"), word):
        places.append("logs")
    if _holds(generate_latest(counters.registry()), word):
        places.append("metrics")
    return places


def _holds(data: bytes, word: str) -> bool:
    return any(form in data for form in forms(word))
