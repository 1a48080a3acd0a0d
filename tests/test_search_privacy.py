"""A search leaves its words nowhere: not in a log, a metric or the data dir, through the
command and through the index the running mirror searches (the HTTP side is tested with
the search pages). The searches are counted, and timed, with no label."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from mirror import counters
from mirror.cli import main
from tests.conftest import Origin, open_mirror
from tests.support.search_fixtures import article_html, search_config_file
from tests.support.search_traces import traces_of

URL = "https://chinadigitaltimes.net/2024/07/unique/"


async def test_a_search_leaves_its_words_nowhere(
    origin: Origin,
    ca_file: Path,
    write_config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    toml, config = search_config_file(origin, ca_file, write_config)
    kept = "kept" + secrets.token_hex(6)  # in an article: only the index may hold it
    asked = "asked" + secrets.token_hex(6)  # in no article: nothing may hold it
    chinese = "屬" + secrets.choice("龘龗龖") + "靐"  # the same for a CJK query
    before = counters.SEARCHES.count()
    async with open_mirror(config) as mirror:
        index = mirror.search_index
        assert index is not None
        body = article_html("A story", f"The word {kept} is in this article.")
        await mirror.accept(URL, body, "utf-8", "publisher", 1_700_000_000.0)
        for query in (kept, f'"{asked}" {kept}', asked, chinese, f"{kept} OR {asked}*"):
            await asyncio.to_thread(index.search, query)
            await asyncio.to_thread(index.search, query, site="cdt", removed_only=True)
        for query in (kept, asked, chinese):
            await asyncio.to_thread(main, ["search", query, "--config", str(toml)])
    printed = capsys.readouterr()
    assert kept in printed.out  # the result's snippet, on the reader's own terminal
    assert counters.SEARCHES.count() - before == 13
    logs = caplog.text + printed.err
    index_files = frozenset(
        p for p in config.server.data_dir.iterdir() if p.name.startswith("search.sqlite3")
    )
    for word in (asked, chinese):
        assert traces_of(word, config.server.data_dir, logs + printed.out) == [], word
    assert traces_of(kept, config.server.data_dir, logs, allowed=index_files) == []
    assert traces_of(kept, config.server.data_dir, logs)  # the helper finds what is there


def test_searches_are_a_histogram_with_no_label() -> None:
    assert counters.SEARCHES.labels == ()
    assert counters.SEARCHES.name == "mirror_search_seconds"
