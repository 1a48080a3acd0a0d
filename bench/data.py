"""Where the benchmarks find their data: the tests' rule (``tests/paths.py``), not a copy.

The CDT article is the project's own fixture; the benchmark pages are publishers' copyright,
kept outside the repository in ``MIRROR_BENCH_DATA`` (default ``../shared/bench/extraction``)
and fetched by ``make bench-data``.
"""

from __future__ import annotations

from pathlib import Path

import repo_root  # noqa: F401  (puts the repository root on the path, for tests.paths)

from tests import paths

CDT_ARTICLE = paths.CDT / "article.html"


def bench_data() -> Path:
    """The benchmark pages' folder; stops the run, naming the command that fetches them."""
    try:
        return paths.bench_data()
    except FileNotFoundError as missing:
        raise SystemExit(str(missing)) from None
