#!/usr/bin/env python3
"""Fetch mozilla/readability's test pages into DEST, laid out as shared/ has them.

    scripts/bench-readability.py DEST URL

URL is the upstream repository's archive at the pinned commit (the Makefile's
``BENCH_READABILITY_URL``): a gzipped tarball with one top folder that holds
``LICENSE.md`` and ``test/test-pages/<name>/{source.html,expected.html,
expected-metadata.json}``. DEST gets ``pages/<name>/`` with those three files byte for
byte, ``LICENSE`` (Apache-2.0, upstream's) and ``README.md`` (what the files are). Only
the pinned pages are taken: upstream's other test pages and files are left out.

Every file must match ``bench-readability.sha256``: GitHub does not promise that an
archive's bytes stay the same, only the files in it. DEST appears whole or not at all, and
a DEST that already holds ``pages/`` is left as it is, so the command is safe to run before
every test run (``scripts/bench-data.py`` does the same for the 181 pages).
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path
from typing import IO

import benchfetch
from benchfetch import pinned

HERE = Path(__file__).resolve().parent
SUMS = HERE / "bench-readability.sha256"
README = HERE / "bench-readability.README.md"
PAGES = "test/test-pages/"
LICENSE = "LICENSE.md"


def unpack(archive: IO[bytes], staging: Path, wanted: set[str]) -> None:
    """Write the pinned pages' files and the licence; every other file is left out."""
    with tarfile.open(fileobj=archive, mode="r:gz") as tar:
        for member in tar:
            inner = member.name.partition("/")[2]
            name = "pages/" + inner.removeprefix(PAGES) if inner.startswith(PAGES) else ""
            name = "LICENSE" if inner == LICENSE else name
            source = tar.extractfile(member) if member.isfile() else None
            if source is None or (name not in wanted and name != "LICENSE"):
                continue
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(source.read())


def problems(staging: Path, expected: dict[str, str]) -> list[str]:
    """What differs from the pinned hashes: files missing or with other bytes."""
    missing, changed = [], []
    for name, digest in sorted(expected.items()):
        path = staging / name
        if not path.is_file():
            missing.append(f"missing {name}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            changed.append(f"other bytes in {name}")
    return missing + changed


def fetch(dest: Path, url: str) -> list[str]:
    """Fill ``dest`` from ``url``; the problems found, if any (then ``dest`` is not made)."""
    expected = pinned(SUMS)
    return benchfetch.fetch(
        dest,
        url,
        lambda archive, staging: unpack(archive, staging, set(expected)),
        lambda staging: problems(staging, expected),
        {"README.md": README},
    )


def present(dest: Path) -> bool:
    """Whether ``dest`` holds the readability test pages already."""
    return (dest / "pages").is_dir()


def main(argv: list[str]) -> int:
    usage = __doc__.split("\n\n")[1]
    return benchfetch.main(argv, usage, "readability test pages", present, fetch)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
