"""Where the benchmarks find their data: the tests' rule (``tests/paths.py``), not a copy.

The CDT article is the project's own fixture; the benchmark pages are publishers' copyright,
kept outside the repository in ``MIRROR_BENCH_DATA`` (default ``../shared/bench/extraction``)
and fetched by ``make bench-data``, as are mozilla/readability's 130 test pages, the second
development set (``MIRROR_BENCH_READABILITY``, default ``../shared/bench/readability``).
The real EasyList and EasyPrivacy are read from ``MIRROR_BENCH_LISTS`` (default
``bench/lists`` in the checkout, git-ignored), filled by ``make bench-lists``.
"""

from __future__ import annotations

import os
from pathlib import Path

import repo_root  # noqa: F401  (puts the repository root on the path, for tests.support.paths)

from tests.support import paths

CDT_ARTICLE = paths.CDT / "article.html"


def bench_data() -> Path:
    """The benchmark pages' folder; stops the run, naming the command that fetches them."""
    try:
        return paths.bench_data()
    except FileNotFoundError as missing:
        raise SystemExit(str(missing)) from None


def bench_readability() -> Path:
    """The readability test pages' folder; stops the run, naming the command that fetches them."""
    try:
        return paths.bench_readability()
    except FileNotFoundError as missing:
        raise SystemExit(str(missing)) from None


LISTS = ("easylist.txt", "easyprivacy.txt")
DEFAULT_LISTS = paths.ROOT / "bench" / "lists"


def bench_lists() -> list[Path]:
    """EasyList and EasyPrivacy; stops the run, naming the command that fetches them."""
    folder = Path(os.environ.get("MIRROR_BENCH_LISTS", DEFAULT_LISTS))
    found = [folder / name for name in LISTS]
    if not all(p.is_file() for p in found):
        raise SystemExit(f"filter lists not found in {folder}: run `make bench-lists`")
    return found
