"""The two development sets for reader mode, and folds drawn across both.

``scrapinghub``: the 181 article-extraction-benchmark pages (``bench_data()``), reference =
their ``articleBody``. ``readability``: mozilla/readability's 130 test pages
(``bench_readability()``), reference = the visible text of the ``expected.html`` that
Readability.js extracts, read by the scoring tool's own ``html_to_text``; every page's URL is
``http://fakehost/test/page.html``, as in Readability's own tests.

A rule tuned within one set did not carry to the other (issue 28: 0.979 held out on the 181,
0.951 on the 130), so folds are drawn across both, stratified by set and by site: every fold
holds about a K-th of each set, and a site's pages are never split, so a choice is always
scored on sites it was not chosen on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from data import bench_data, bench_readability

SCRAPINGHUB = "scrapinghub"
READABILITY = "readability"
SETS = (SCRAPINGHUB, READABILITY)
READABILITY_URL = "http://fakehost/test/page.html"
_NUMBERED = re.compile(r"-\d+$")


@dataclass(frozen=True)
class Sample:
    """One page of one set, with the site its folds are grouped by."""

    set: str
    site: str
    page: Any  # extract_eval.Page: id, url, html (bytes), reference (text)


def load(evaluator: ModuleType, sets: tuple[str, ...] = SETS) -> list[Sample]:
    """Every page of the named sets, the 181 first, each set sorted by id."""
    found: list[Sample] = []
    if SCRAPINGHUB in sets:
        for page in evaluator.load_scrapinghub(bench_data()):
            host = urlsplit(page.url).hostname or page.id
            found.append(Sample(SCRAPINGHUB, host.removeprefix("www."), page))
    if READABILITY in sets:
        for page in _readability_pages(evaluator, bench_readability()):
            found.append(Sample(READABILITY, _NUMBERED.sub("", page.id), page))
    return found


def _readability_pages(evaluator: ModuleType, root: Path) -> Iterator[Any]:
    for folder in sorted(p for p in (root / "pages").iterdir() if p.is_dir()):
        expected = (folder / "expected.html").read_text("utf-8")
        yield evaluator.Page(
            id=folder.name,
            url=READABILITY_URL,
            html=(folder / "source.html").read_bytes(),
            reference=evaluator.html_to_text(expected),
        )


def folds(samples: list[Sample], k: int) -> list[int]:
    """Each sample's fold: per set, whole sites, largest first, go to the fold of that set
    with the fewest pages so far (ties to the lowest fold). Deterministic."""
    fold_of = [0] * len(samples)
    for name in SETS:
        by_site: dict[str, list[int]] = defaultdict(list)
        for i, sample in enumerate(samples):
            if sample.set == name:
                by_site[sample.site].append(i)
        sizes = [0] * k
        for site in sorted(by_site, key=lambda s: (-len(by_site[s]), s)):
            fold = min(range(k), key=lambda f: (sizes[f], f))
            for i in by_site[site]:
                fold_of[i] = fold
            sizes[fold] += len(by_site[site])
    return fold_of
