from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mirror.fetch import Fetcher
from mirror.filters import (
    BrokenList,
    FilterEngine,
    build_engine,
    check_list,
    compile_selector,
    default_rules,
    list_path,
    list_texts,
    load_rules,
    update_lists,
)
from mirror.settings import Config
from tests.filter_fixtures import (
    EASYLIST,
    EASYLIST_URL,
    EASYPRIVACY,
    EASYPRIVACY_URL,
    ListOrigin,
)

PAGE = "https://news.example/story/"


def engine() -> FilterEngine:
    return build_engine([EASYLIST, EASYPRIVACY])


def test_network_rules_by_resource_type() -> None:
    rules = engine()
    assert rules.blocks("https://cdn.ads-fixture.example/a.js", PAGE, "script")
    assert rules.blocks("https://beacon-fixture.example/p.gif", PAGE, "img")
    assert not rules.blocks("https://news.example/photo.jpg", PAGE, "img")


def test_hiding_selectors_only_for_classes_present() -> None:
    rules = engine()
    assert ".fixture-ad" in rules.hiding_selectors(PAGE, {"fixture-ad", "x"}, set())
    assert ".fixture-ad" not in rules.hiding_selectors(PAGE, {"x"}, set())


def test_builtin_list_strips_the_common_networks_on_a_fresh_install() -> None:
    rules = default_rules().engine
    for url in (
        "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js",
        "https://www.googletagmanager.com/gtag/js?id=UA-1",
        "https://connect.facebook.net/en_US/fbevents.js",
        "https://www.facebook.com/tr?id=1&ev=PageView",
        "https://pixel.quantserve.com/pixel/p-1.gif",
        "https://images.taboola.com/x.jpg",
        "https://stats.wp.com/e-201846.js",
    ):
        assert rules.blocks(url, PAGE, "script"), url
    assert not rules.blocks("https://www.facebook.com/cdtimes", PAGE, "a")
    assert not rules.blocks("https://chinadigitaltimes.net/wp-content/x.jpg", PAGE, "img")
    assert ".adsbygoogle" in rules.hiding_selectors(PAGE, {"adsbygoogle"}, set())


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "<!doctype html><title>Error</title>", "[Adblock Plus 2.0]\n! only comments\n"],
)
def test_broken_lists_are_refused(text: str) -> None:
    with pytest.raises(BrokenList):
        check_list(text)


def test_a_real_list_header_passes() -> None:
    check_list("\ufeff[Adblock Plus 2.0]\n! c\n||x.example^\n")


def test_selectors_compile_or_are_refused() -> None:
    assert compile_selector("div.ad > p") is not None
    assert compile_selector("div:-abp-has(.x)") is None
    assert compile_selector("div[") is None


def test_bad_site_selector_stops_start_up(config: Config) -> None:
    from dataclasses import replace

    from mirror.errors import ConfigError

    site = replace(config.sites[0], remove=("div[",))
    with pytest.raises(ConfigError):
        load_rules(replace(config, sites=(site,)))


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


async def test_filters_update_command(lists_config: Config, list_origin: ListOrigin) -> None:
    config_path = lists_config.server.data_dir.parent / "mirror.toml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror",
        "filters",
        "update",
        "--config",
        str(config_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert out.decode().count(": updated") == 2
    assert len(list(Path(lists_config.server.data_dir / "filters").glob("*.txt"))) == 2


def test_site_rules_come_from_the_config(write_config: Callable[..., Path]) -> None:
    from mirror.settings import load_config

    config = load_config(
        write_config(
            '[[sites]]\nname = "cdt"\norigin = "https://chinadigitaltimes.net"\n'
            'remove = ["aside#secondary", ".cdt-popup"]\nkeep_params = ["S_CID"]\n'
        ),
        environ={},
    )
    rules = load_rules(config)
    site = rules.site("https://chinadigitaltimes.net/2018/11/x/")
    assert site.remove == ("aside#secondary", ".cdt-popup")
    assert site.keep_params == frozenset({"s_cid"})
    assert rules.site("https://other.example/").remove == ()
