"""``mirror search``: results printed, filters, and the index rebuilt from the store while
a mirror runs on it (missing, damaged)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.pipeline import Mirror
from tests.conftest import CHINESE_URL, Origin, open_mirror
from tests.support.removal_fixtures import always_ask, remove_at_origin
from tests.support.search_fixtures import search_config_file, serve_articles

HARBOUR = "/2024/05/harbour-strike/"


async def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The command's exit code and what it printed, run beside the test's mirror."""
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def found(mirror: Mirror, query: str) -> list[str]:
    assert mirror.search_index is not None
    return [hit.entry.url for hit in mirror.search_index.search(query) or []]


async def test_search_prints_title_site_date_label_and_marked_snippet(
    origin: Origin,
    ca_file: Path,
    write_config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    toml, config = search_config_file(origin, ca_file, write_config)
    urls = serve_articles(origin)
    async with open_mirror(always_ask(config)) as mirror:
        await mirror.page(urls[HARBOUR])
        remove_at_origin(origin, HARBOUR, "404")
        await mirror.page(urls[HARBOUR])
        await mirror.page(CHINESE_URL)
    code, out = await run(capsys, "search", "Dockworkers", "harbour", "--config", str(toml))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Dockworkers strike at the harbour"
    assert lines[1].startswith("  cdt · 20") and lines[1].endswith(" · removed")
    assert lines[2] == "  " + urls[HARBOUR]
    assert "[dockworkers]" in lines[3] and "[harbour]" in lines[3]
    assert (await run(capsys, "search", "新疆", "--removed", "--config", str(toml)))[0] == 1
    assert (await run(capsys, "search", "dockworkers", "--removed", "--config", str(toml)))[0] == 0
    assert (await run(capsys, "search", "新疆", "--site", "other", "--config", str(toml)))[0] == 1
    code, out = await run(capsys, "search", "維吾爾", "--site", "cdt", "--config", str(toml))
    assert (code, out.splitlines()[2]) == (0, "  " + CHINESE_URL)
    code, out = await run(capsys, "search", "*", "--config", str(toml))
    assert (code, out) == (2, "mirror: the query holds no word to search for\n")


async def test_search_says_when_it_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mirror.toml").write_text("[server]\n")
    code, out = await run(capsys, "search", "words", "--config", str(tmp_path / "mirror.toml"))
    assert (code, out) == (2, "mirror: search is off (search.enabled)\n")


@pytest.mark.parametrize("harm", ["missing", "damaged"])
async def test_reindex_rebuilds_the_index_under_a_running_mirror(
    origin: Origin,
    ca_file: Path,
    write_config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    harm: str,
) -> None:
    toml, config = search_config_file(origin, ca_file, write_config)
    urls = serve_articles(origin)
    index_file = config.server.data_dir / "search.sqlite3"
    async with open_mirror(config) as mirror:
        for url in urls.values():
            await mirror.page(url)
        await mirror.page(CHINESE_URL)
        if harm == "missing":
            index_file.unlink()
        else:  # the file overwritten, its log lost
            for side in ("-wal", "-shm"):
                index_file.with_name(index_file.name + side).unlink()
            index_file.write_bytes(b"not a database at all " * 512)
        code, out = await run(capsys, "search", "reindex", "--config", str(toml))
        assert (code, out) == (0, "indexed 4 articles\n")
        assert index_file.is_symlink()
        assert found(mirror, "dockworkers") == [urls[HARBOUR]]
        assert found(mirror, "維吾爾") == [CHINESE_URL]
        code, _ = await run(capsys, "search", "reindex", "--config", str(toml))
        assert code == 0
        assert found(mirror, "журналисты") == [urls["/2024/05/moscow-journalists/"]]
    names = {p.name for p in index_file.parent.glob("search.sqlite3*")}
    names -= {name for name in names if name.endswith(("-wal", "-shm"))}
    in_use = index_file.resolve().name
    assert in_use.startswith("search.sqlite3.")
    damaged = {"search.sqlite3.damaged"} if harm == "damaged" else set()
    assert names == {"search.sqlite3", in_use} | damaged
