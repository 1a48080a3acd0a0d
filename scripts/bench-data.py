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
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
SUMS = HERE / "bench-data.sha256"
NOTICE = HERE / "bench-data.NOTICE"
TRUTH = "ground-truth.json"
PAGE = re.compile(r"html/([0-9a-f]{64})\.html\.gz")


def download(url: str, into: IO[bytes]) -> None:
    """Copy the archive at ``url`` (https, or file for an offline copy) into ``into``."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (operator's URL)
        shutil.copyfileobj(response, into)


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


def pinned() -> dict[str, str]:
    """The pinned hashes by file name, from ``sha256sum`` output (so ``sha256sum -c`` reads it)."""
    lines = (line.split("  ", 1) for line in SUMS.read_text("ascii").splitlines())
    return {name: digest for digest, name in lines}


def problems(staging: Path) -> list[str]:
    """What differs from the pinned hashes: files missing, extra, or with other bytes."""
    expected = pinned()
    files = [p for p in [staging / TRUTH, *(staging / "pages").glob("*.html")] if p.is_file()]
    found = {str(p.relative_to(staging)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    missing = [f"missing {name}" for name in sorted(expected.keys() - found.keys())]
    extra = [f"not pinned {name}" for name in sorted(found.keys() - expected.keys())]
    both = sorted(expected.keys() & found.keys())
    changed = [f"other bytes in {name}" for name in both if expected[name] != found[name]]
    return missing + extra + changed


def fetch(dest: Path, url: str) -> list[str]:
    """Fill ``dest`` from ``url``; the problems found, if any (then ``dest`` is not made)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as work:
        staging = Path(work) / "extraction"
        with tempfile.TemporaryFile() as archive:
            download(url, archive)
            archive.seek(0)
            unpack(archive, staging)
        found = problems(staging)
        if not found:
            shutil.copyfile(NOTICE, staging / "NOTICE")
            staging.rename(dest)
        return found


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    dest, url = Path(argv[1]), argv[2]
    if (dest / TRUTH).is_file():
        print(f"bench-data: {dest} has the benchmark pages already")
        return 0
    try:
        found = fetch(dest, url)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
        print(f"bench-data: cannot fetch {url}: {error}", file=sys.stderr)
        return 1
    for problem in found:
        print(f"bench-data: {problem}", file=sys.stderr)
    if found:
        print(f"bench-data: {url} is not the pinned benchmark; {dest} not made", file=sys.stderr)
        return 1
    print(f"bench-data: {len(list((dest / 'pages').iterdir()))} pages in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
