"""Where the tests find their data: the project's own fixtures, and the benchmark pages.

The CDT fixtures are the project's test data and live in ``tests/fixtures/``. The 181
benchmark pages are publishers' copyright and never enter the repository: they are read
from ``MIRROR_BENCH_DATA`` (default ``../shared/bench/extraction``), which ``make
bench-data`` fills when it is absent. The variable is read when a test asks, not at import,
so a clone without the pages still collects every test and only those that need them fail.
The second development set, mozilla/readability's 130 test pages, is read from
``MIRROR_BENCH_READABILITY`` (default ``../shared/bench/readability``) by the same rule.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.tiers import refuse_in_fast_tier

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
CDT = FIXTURES / "cdt"
GOLDEN = TESTS / "golden"
DEFAULT_BENCH_DATA = ROOT.parent / "shared" / "bench" / "extraction"
DEFAULT_BENCH_READABILITY = ROOT.parent / "shared" / "bench" / "readability"


def bench_data() -> Path:
    """The benchmark pages' folder; fails, naming the command that fetches them, if absent."""
    return _bench_folder("MIRROR_BENCH_DATA", DEFAULT_BENCH_DATA, "ground-truth.json", "pages")


def bench_readability() -> Path:
    """The readability test pages' folder (``pages/<name>/source.html`` and ``expected.html``);
    fails, naming the command that fetches them, if absent."""
    return _bench_folder(
        "MIRROR_BENCH_READABILITY", DEFAULT_BENCH_READABILITY, "pages", "test pages"
    )


def _bench_folder(variable: str, default: Path, holds: str, what: str) -> Path:
    """The folder ``variable`` names (else ``default``), which must hold ``holds``."""
    refuse_in_fast_tier("bench", f"the benchmark {what}")
    folder = Path(os.environ.get(variable, default))
    if not (folder / holds).exists():
        raise FileNotFoundError(
            f"benchmark {what} not found in {folder}: run `make bench-data` "
            f"(or point {variable} at a copy)"
        )
    return folder
