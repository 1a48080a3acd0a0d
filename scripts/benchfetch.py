"""What both development sets' fetch scripts share (``bench-data.py`` for the 181 pages,
``bench-readability.py`` for the 130): download an archive, check every file it yields
against pinned hashes, and make the destination whole or not at all.

GitHub does not promise that an archive's bytes stay the same from one day to the next, only
the files in it, so files are checked, not the archive. A destination that is already there
is left as it is, so ``make bench-data`` is safe to run before every test run.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

Unpack = Callable[[IO[bytes], Path], None]


def download(url: str, into: IO[bytes]) -> None:
    """Copy the archive at ``url`` (https, or file for an offline copy) into ``into``."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (operator's URL)
        shutil.copyfileobj(response, into)


def pinned(sums: Path) -> dict[str, str]:
    """The pinned hashes by file name, from ``sha256sum`` output (so ``sha256sum -c`` reads it)."""
    lines = (line.split("  ", 1) for line in sums.read_text("ascii").splitlines())
    return {name: digest for digest, name in lines}


def fetch(
    dest: Path,
    url: str,
    unpack: Unpack,
    problems: Callable[[Path], list[str]],
    added: dict[str, Path],
) -> list[str]:
    """Fill ``dest`` from ``url`` (``unpack`` writes the files, ``added`` names ours to copy
    in); the problems found, if any (then ``dest`` is not made)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as work:
        staging = Path(work) / dest.name
        staging.mkdir()
        with tempfile.TemporaryFile() as archive:
            download(url, archive)
            archive.seek(0)
            unpack(archive, staging)
        found = problems(staging)
        if not found:
            for name, source in added.items():
                shutil.copyfile(source, staging / name)
            staging.rename(dest)
        return found


def main(
    argv: list[str],
    usage: str,
    what: str,
    present: Callable[[Path], bool],
    run: Callable[..., list[str]],
) -> int:
    """The command: ``SCRIPT DEST URL``; 0 when ``dest`` holds ``what`` (already, or now)."""
    if len(argv) != 3:
        print(usage, file=sys.stderr)
        return 2
    dest, url = Path(argv[1]), argv[2]
    if present(dest):
        print(f"bench-data: {dest} has the {what} already")
        return 0
    try:
        found = run(dest, url)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
        print(f"bench-data: cannot fetch {url}: {error}", file=sys.stderr)
        return 1
    for problem in found:
        print(f"bench-data: {problem}", file=sys.stderr)
    if found:
        print(f"bench-data: {url} is not the pinned {what}; {dest} not made", file=sys.stderr)
        return 1
    print(f"bench-data: {len(list((dest / 'pages').iterdir()))} {what} in {dest}")
    return 0
