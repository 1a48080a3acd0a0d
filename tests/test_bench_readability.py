"""``make bench-data`` fetching the second development set, mozilla/readability's test pages.

The fetch runs for real (``make``, the script, a tarball read through a ``file://`` URL) on an
archive laid out as the upstream repository's GitHub archive: one top folder with
``LICENSE.md``, ``test/test-pages/<name>/`` and files that are not data. It is made here, in a
temporary folder, from the copy the benchmark reads.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import paths
from tests.support.bench_archives import Members, archive, tree
from tests.support.bench_archives import make_bench_data as run_make

TOP = "readability-ab4027a8b37669745016869a37a504727992b2ba"


@pytest.fixture(scope="module")
def upstream() -> Members:
    """The upstream archive's files, from the copy of the test pages, with some that are not."""
    bench = paths.bench_readability()
    members = {
        "README.md": b"# Readability.js\n",
        "Readability.js": b"function Readability() {}\n",
        "test/test-pages/not-pinned/source.html": b"<p>new upstream page</p>\n",
        "LICENSE.md": (bench / "LICENSE").read_bytes(),
    }
    for page in sorted((bench / "pages").rglob("*")):
        if page.is_file():
            name = page.relative_to(bench / "pages")
            members[f"test/test-pages/{name}"] = page.read_bytes()
    return members


def make_bench_data(dest: Path, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``make bench-data`` for this set; the 181 pages' step finds its folder already made."""
    extraction = tmp_path / "extraction"
    extraction.mkdir(exist_ok=True)
    (extraction / "ground-truth.json").write_text("{}", "utf-8")
    return run_make(
        [
            f"MIRROR_BENCH_DATA={extraction}",
            f"MIRROR_BENCH_READABILITY={dest}",
            f"BENCH_READABILITY_URL={url}",
        ]
    )


def test_missing_pages_fail_naming_make_bench_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_BENCH_READABILITY", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"make bench-data") as error:
        paths.bench_readability()
    assert str(tmp_path) in str(error.value)


def test_make_bench_data_lays_the_pinned_pages_out_as_shared_has_them(
    upstream: Members, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "bench" / "readability"
    result = make_bench_data(dest, archive(upstream, TOP, tmp_path / "upstream.tar.gz"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert tree(dest) == tree(paths.bench_readability())
    monkeypatch.setenv("MIRROR_BENCH_READABILITY", str(dest))
    assert paths.bench_readability() == dest


def test_an_archive_with_other_bytes_is_refused_and_nothing_is_made(
    upstream: Members, tmp_path: Path
) -> None:
    first = next(name for name in upstream if name.endswith("/source.html") and "001" in name)
    changed = {**upstream, first: upstream[first] + b"<!-- changed -->"}
    url = archive(changed, TOP, tmp_path / "upstream.tar.gz")
    result = make_bench_data(tmp_path / "readability", url, tmp_path)
    assert result.returncode != 0
    assert "other bytes in pages/001/source.html" in result.stderr
    assert not (tmp_path / "readability").exists()


def test_an_archive_without_every_page_is_refused(upstream: Members, tmp_path: Path) -> None:
    some = {name: data for name, data in upstream.items() if "/001/" not in name}
    url = archive(some, TOP, tmp_path / "some.tar.gz")
    result = make_bench_data(tmp_path / "readability", url, tmp_path)
    assert result.returncode != 0
    assert re.search(r"missing pages/001/expected\.html", result.stderr)
    assert not (tmp_path / "readability").exists()


def test_a_folder_that_has_the_pages_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "readability"
    (dest / "pages").mkdir(parents=True)
    result = make_bench_data(dest, (tmp_path / "nowhere.tar.gz").as_uri(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert tree(dest) == {}


def test_an_unreachable_archive_fails_and_makes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "readability"
    result = make_bench_data(dest, (tmp_path / "nowhere.tar.gz").as_uri(), tmp_path)
    assert result.returncode != 0
    assert "cannot fetch" in result.stderr
    assert not dest.exists()


def test_the_readme_and_the_download_name_one_pinned_commit() -> None:
    makefile = (paths.ROOT / "Makefile").read_text("utf-8")
    (commit,) = re.findall(r"^BENCH_READABILITY_COMMIT := ([0-9a-f]{40})$", makefile, re.M)
    assert "readability/archive/$(BENCH_READABILITY_COMMIT).tar.gz" in makefile
    readme = (paths.ROOT / "scripts" / "bench-readability.README.md").read_text("utf-8")
    assert f"at commit\n{commit}" in readme
    assert TOP.endswith(commit)
