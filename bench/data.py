"""Where the benchmarks find their data: the rule of ``tests/paths.py``, once more.

A benchmark runs as ``.venv/bin/python bench/x.py``, with ``bench/`` on its path but not the
repository root, so it cannot import the tests' module; this one keeps the same rule. The
CDT article is the project's own fixture; the benchmark pages are publishers' copyright,
kept outside the repository in ``MIRROR_BENCH_DATA`` (default ``../shared/bench/extraction``)
and fetched by ``make bench-data``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDT_ARTICLE = ROOT / "tests" / "fixtures" / "cdt" / "article.html"
DEFAULT_BENCH_DATA = ROOT.parent / "shared" / "bench" / "extraction"


def bench_data() -> Path:
    """The benchmark pages' folder; stops the run, naming the command that fetches them."""
    folder = Path(os.environ.get("MIRROR_BENCH_DATA", DEFAULT_BENCH_DATA))
    if not (folder / "ground-truth.json").is_file():
        raise SystemExit(
            f"benchmark pages not found in {folder}: run `make bench-data` "
            "(or point MIRROR_BENCH_DATA at a copy)"
        )
    return folder
