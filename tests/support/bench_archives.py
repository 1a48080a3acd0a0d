"""Archives laid out as GitHub serves a repository at a commit, for the tests of
``make bench-data``: made in a temporary folder from the copy the benchmark reads."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from tests.support import paths

Members = dict[str, bytes]


def archive(members: Members, top: str, path: Path) -> str:
    """A gzipped tarball of ``members`` under one top folder ``top``; its URL."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.as_uri()


def make_bench_data(variables: list[str]) -> subprocess.CompletedProcess[str]:
    """``make bench-data`` with ``variables`` (``NAME=value``) set on its command line."""
    command = ["make", "-s", "-C", str(paths.ROOT), "bench-data", *variables]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by its relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
