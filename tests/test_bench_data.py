"""The benchmark pages: where the tests find them, and ``make bench-data`` that fetches them.

The fetch runs for real (``make``, the script, a tarball read through a ``file://`` URL),
on an archive laid out as the upstream repository's GitHub archive: one top folder with
``ground-truth.json``, ``html/<id>.html.gz`` and files that are not data. It is made here,
in a temporary folder, from the copy the other tests read.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import paths
from tests.support.bench_archives import Members, archive, tree
from tests.support.bench_archives import make_bench_data as run_make

TOP = "article-extraction-benchmark-4a3bc979f76c0df73cb95fe272e2fc1b96f9f010"


@pytest.fixture(scope="module")
def upstream() -> Members:
    """The upstream archive's files, from the benchmark copy: pages gzipped back."""
    bench = paths.bench_data()
    members = {
        "README.rst": b"Article extraction benchmark\n",
        "output/trafilatura.json": b"{}\n",
        "ground-truth.json": (bench / "ground-truth.json").read_bytes(),
    }
    for page in sorted((bench / "pages").glob("*.html")):
        members[f"html/{page.name}.gz"] = gzip.compress(page.read_bytes(), compresslevel=1)
    return members


@pytest.fixture(scope="module")
def readability(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the second set's step finds made, so ``make bench-data`` fetches nothing
    else, wherever the checkout is and whatever ``MIRROR_BENCH_READABILITY`` says."""
    made = tmp_path_factory.mktemp("readability")
    (made / "pages").mkdir()
    return made


def make_bench_data(dest: Path, url: str, readability: Path) -> subprocess.CompletedProcess[str]:
    return run_make(
        [
            f"MIRROR_BENCH_DATA={dest}",
            f"BENCH_DATA_URL={url}",
            f"MIRROR_BENCH_READABILITY={readability}",
        ]
    )


def test_missing_pages_fail_naming_make_bench_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_BENCH_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"make bench-data") as error:
        paths.bench_data()
    assert str(tmp_path) in str(error.value)


def test_make_bench_data_lays_the_archive_out_as_shared_has_it(
    upstream: Members, readability: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "bench" / "extraction"
    url = archive(upstream, TOP, tmp_path / "upstream.tar.gz")
    result = make_bench_data(dest, url, readability)
    assert result.returncode == 0, result.stderr
    assert tree(dest) == tree(paths.bench_data())
    monkeypatch.setenv("MIRROR_BENCH_DATA", str(dest))
    assert paths.bench_data() == dest


def test_an_archive_with_other_bytes_is_refused_and_nothing_is_made(
    upstream: Members, readability: Path, tmp_path: Path
) -> None:
    first = next(name for name in upstream if name.startswith("html/"))
    page = gzip.decompress(upstream[first]) + b"<!-- changed -->"
    url = archive({**upstream, first: gzip.compress(page)}, TOP, tmp_path / "upstream.tar.gz")
    result = make_bench_data(tmp_path / "extraction", url, readability)
    assert result.returncode != 0
    assert f"other bytes in pages/{first[5:-3]}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upstream.tar.gz"]


def test_an_archive_without_every_page_is_refused(
    upstream: Members, readability: Path, tmp_path: Path
) -> None:
    some = {name: data for name, data in upstream.items() if not name.startswith("html/0")}
    url = archive(some, TOP, tmp_path / "some.tar.gz")
    result = make_bench_data(tmp_path / "extraction", url, readability)
    assert result.returncode != 0
    assert re.search(r"missing pages/0[0-9a-f]{63}\.html", result.stderr)
    assert not (tmp_path / "extraction").exists()


def test_a_folder_that_has_the_pages_is_left_alone(readability: Path, tmp_path: Path) -> None:
    (tmp_path / "ground-truth.json").write_text("{}", "utf-8")
    result = make_bench_data(tmp_path, (tmp_path / "nowhere.tar.gz").as_uri(), readability)
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path) == {"ground-truth.json": b"{}"}


def test_an_unreachable_archive_fails_and_makes_nothing(readability: Path, tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.tar.gz").as_uri()
    result = make_bench_data(tmp_path / "extraction", url, readability)
    assert result.returncode != 0
    assert "cannot fetch" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_notice_and_the_download_name_one_pinned_commit() -> None:
    makefile = (paths.ROOT / "Makefile").read_text("utf-8")
    (commit,) = re.findall(r"^BENCH_DATA_COMMIT := ([0-9a-f]{40})$", makefile, re.M)
    assert "/archive/$(BENCH_DATA_COMMIT).tar.gz" in makefile
    notice = (paths.ROOT / "scripts" / "bench-data.NOTICE").read_text("utf-8")
    assert f"Commit            : {commit}" in notice
    assert TOP.endswith(commit)
