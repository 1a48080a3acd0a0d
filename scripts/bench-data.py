#!/usr/bin/env python3
"""Fetch the scrapinghub article-extraction benchmark into DEST, laid out as shared/ has it.

    scripts/bench-data.py DEST URL

URL is the upstream repository's archive at the pinned commit (the Makefile's
``BENCH_DATA_URL``): a gzipped tarball with one top folder that holds ``ground-truth.json``
and ``html/<id>.html.gz``. DEST gets ``ground-truth.json`` byte for byte, ``pages/<id>.html``
gunzipped and ``NOTICE`` (source, licence, and the publishers' copyright caveat). The pages
are publishers' copyright, so they are fetched here and never kept in the repository.

Every file must match ``bench-data.sha256``, the files' own hashes: GitHub does not promise
that an archive's bytes stay the same from one day to the next, only the files in it. DEST
appears whole or not at all, and a DEST that already holds ``ground-truth.json`` is left as
it is, so the command is safe to run before every test run.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import sys
import tarfile
from pathlib import Path
from typing import IO

import benchfetch
from benchfetch import pinned

HERE = Path(__file__).resolve().parent
SUMS = HERE / "bench-data.sha256"
NOTICE = HERE / "bench-data.NOTICE"
TRUTH = "ground-truth.json"
PAGE = re.compile(r"html/([0-9a-f]{64})\.html\.gz")


def unpack(archive: IO[bytes], staging: Path) -> None:
    """Write the ground truth and the gunzipped pages; every other file is left out."""
    (staging / "pages").mkdir(parents=True)
    with tarfile.open(fileobj=archive, mode="r:gz") as tar:
        for member in tar:
            inner = member.name.partition("/")[2]
            page = PAGE.fullmatch(inner)
            source = tar.extractfile(member) if member.isfile() else None
            if source is None or (inner != TRUTH and page is None):
                continue
            if page is None:
                (staging / TRUTH).write_bytes(source.read())
            else:
                (staging / "pages" / f"{page[1]}.html").write_bytes(gzip.decompress(source.read()))


def problems(staging: Path) -> list[str]:
    """What differs from the pinned hashes: files missing, extra, or with other bytes."""
    expected = pinned(SUMS)
    files = [p for p in [staging / TRUTH, *(staging / "pages").glob("*.html")] if p.is_file()]
    found = {str(p.relative_to(staging)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    missing = [f"missing {name}" for name in sorted(expected.keys() - found.keys())]
    extra = [f"not pinned {name}" for name in sorted(found.keys() - expected.keys())]
    both = sorted(expected.keys() & found.keys())
    changed = [f"other bytes in {name}" for name in both if expected[name] != found[name]]
    return missing + extra + changed


def fetch(dest: Path, url: str) -> list[str]:
    """Fill ``dest`` from ``url``; the problems found, if any (then ``dest`` is not made)."""
    return benchfetch.fetch(dest, url, unpack, problems, {"NOTICE": NOTICE})


def present(dest: Path) -> bool:
    """Whether ``dest`` holds the benchmark pages already."""
    return (dest / TRUTH).is_file()


def main(argv: list[str]) -> int:
    usage = __doc__.split("\n\n")[1]
    return benchfetch.main(argv, usage, "benchmark pages", present, fetch)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
