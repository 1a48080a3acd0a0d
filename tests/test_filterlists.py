"""Filter-list downloads: conditional GETs from a real local origin, atomic replacement."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.fetch.client import Fetcher
from mirror.filterlists import list_path, update_lists
from mirror.settings import Config
from mirror.transform.filters import list_texts, load_rules
from tests.support.filter_fixtures import EASYLIST, EASYLIST_URL, EASYPRIVACY_URL, ListOrigin

PAGE = "https://news.example/story/"


async def test_update_downloads_then_revalidates(
    lists_config: Config, list_origin: ListOrigin
) -> None:
    directory = lists_config.server.data_dir / "filters"
    urls = list(lists_config.filters.lists)
    async with Fetcher(lists_config.fetch) as fetcher:
        first = await update_lists(fetcher, urls, directory)
        assert [r.status for r in first] == ["updated", "updated"]
        assert list_path(directory, EASYLIST_URL).read_text("utf-8") == EASYLIST
        second = await update_lists(fetcher, urls, directory)
    assert [r.status for r in second] == ["not modified", "not modified"]
    assert len(list_origin.conditional) == 2
    loaded = load_rules(lists_config).engine
    assert loaded.blocks("https://ads-fixture.example/a.js", PAGE, "script")
    assert loaded.blocks("https://beacon-fixture.example/b.gif", PAGE, "img")
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp-")]


async def test_update_keeps_the_old_copy_when_the_new_one_is_broken(
    lists_config: Config, list_origin: ListOrigin
) -> None:
    directory = lists_config.server.data_dir / "filters"
    async with Fetcher(lists_config.fetch) as fetcher:
        await update_lists(fetcher, [EASYLIST_URL], directory)
        for kind, broken in (("text/plain", ""), ("text/html", "<html>blocked</html>")):
            list_origin.bodies["/easylist/easylist.txt"] = (kind, broken)
            (result,) = await update_lists(fetcher, [EASYLIST_URL], directory)
            assert result.status.startswith("refused"), result
            assert list_path(directory, EASYLIST_URL).read_text("utf-8") == EASYLIST


async def test_unreachable_list_is_reported(lists_config: Config) -> None:
    directory = lists_config.server.data_dir / "filters"
    async with Fetcher(lists_config.fetch) as fetcher:
        (result,) = await update_lists(fetcher, [EASYPRIVACY_URL + ".missing"], directory)
    assert result.status.startswith("refused")
    assert list_texts(directory) == list_texts(None)


async def test_filters_update_command(
    lists_config: Config, list_origin: ListOrigin, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = lists_config.server.data_dir.parent / "mirror.toml"
    arguments = ["filters", "update", "--config", str(config_path)]
    code = await asyncio.to_thread(main, arguments)  # off the loop the list origin runs on
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count(": updated") == 2
    assert len(list(Path(lists_config.server.data_dir / "filters").glob("*.txt"))) == 2
