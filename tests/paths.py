"""Where the tests find their data: the project's own fixtures, and the benchmark pages.

The CDT fixtures are the project's test data and live in ``tests/fixtures/``. The 181
benchmark pages are publishers' copyright and never enter the repository: they are read
from ``MIRROR_BENCH_DATA`` (default ``../shared/bench/extraction``), which ``make
bench-data`` fills when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
CDT = FIXTURES / "cdt"
GOLDEN = TESTS / "golden"
BENCH_DATA = Path(os.environ.get("MIRROR_BENCH_DATA", ROOT.parent / "shared/bench/extraction"))


def bench_data() -> Path:
    """The benchmark pages' folder; fails, naming the command that fetches them, if absent."""
    if not (BENCH_DATA / "ground-truth.json").is_file():
        raise FileNotFoundError(
            f"benchmark pages not found in {BENCH_DATA}: run `make bench-data` "
            "(or point MIRROR_BENCH_DATA at a copy)"
        )
    return BENCH_DATA
