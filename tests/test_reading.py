"""Reading a page: whatever a stage raises comes out once, as ``UnreadablePage``, with its
stage, crosses from a transform process whole, and is counted and logged without its
address."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import lxml.etree
import pytest

from mirror import counters
from mirror.errors import UnreadablePage
from mirror.pool import TransformPool
from mirror.reading import (
    STAGES,
    PageRules,
    read_fetched,
    read_in_pool,
    read_page,
    start_worker,
)
from mirror.settings import Config
from mirror.transform.filters import default_rules
from mirror.transform.reader.siterules import load_site_rules
from tests.conftest import ARTICLE_URL, ORIGIN_HOST
from tests.support.paths import CDT
from tests.support.unreadable import BROKEN_LINK_PAGE, UNRULY_PAGE, break_reader_mode

ARTICLE = (CDT / "article.html").read_bytes()
SECRET_URL = f"https://{ORIGIN_HOST}/2024/secret-story-path/"


def failing_rules(data_dir: Path) -> PageRules:
    break_reader_mode(data_dir)
    return PageRules(default_rules(), load_site_rules(data_dir))


def test_reader_mode_raising_is_an_unreadable_page_of_the_extract_stage(tmp_path: Path) -> None:
    with pytest.raises(UnreadablePage) as raised:
        read_page(UNRULY_PAGE, "utf-8", ARTICLE_URL, failing_rules(tmp_path))
    error = raised.value
    assert error.stage == "extract"
    assert isinstance(error.__cause__, lxml.etree.XPathEvalError)
    assert "XPathEvalError" in error.cause and ORIGIN_HOST not in error.cause
    assert str(error) == f"{UnreadablePage.title}. Reading stopped at its extract stage."


def test_a_link_no_browser_can_parse_costs_the_page_nothing() -> None:
    article = read_page(BROKEN_LINK_PAGE, "utf-8", ARTICLE_URL)
    assert "the notes" in article.body and "[::1" not in article.body


def test_every_stage_is_a_label_the_counter_knows() -> None:
    assert set(STAGES.values()) | {"other"} == counters.READING_STAGES
    with pytest.raises(ValueError, match="unknown reading stage"):
        counters.count_unreadable("https://example.com/")


def test_an_unreadable_page_pickles_whole() -> None:
    error = UnreadablePage("extract", 'lxml.etree.XPathEvalError\n  File "x.py", line 1, in f')
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UnreadablePage
    assert (copy.stage, copy.cause, str(copy)) == (error.stage, error.cause, str(error))


async def test_an_unreadable_page_crosses_from_a_transform_process(config: Config) -> None:
    break_reader_mode(config.server.data_dir)
    async with TransformPool(1, 60.0, start_worker, (config,)) as pool:
        with pytest.raises(UnreadablePage) as raised:
            await read_in_pool(pool, UNRULY_PAGE, "utf-8", ARTICLE_URL)
        assert raised.value.stage == "extract"
        assert "XPathEvalError" in raised.value.cause
        article = await read_in_pool(pool, ARTICLE, "utf-8", ARTICLE_URL)
    assert "Xinjiang" in article.title  # the same process reads the next page


async def test_an_unreadable_page_is_counted_by_stage_and_logged_without_its_address(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    before = counters.UNREADABLE_PAGES.value("extract")
    with caplog.at_level(logging.DEBUG), pytest.raises(UnreadablePage):
        await read_fetched(None, failing_rules(tmp_path), UNRULY_PAGE, "utf-8", SECRET_URL)
    assert counters.UNREADABLE_PAGES.value("extract") == before + 1
    assert "could not be read at its extract stage" in caplog.text
    assert "XPathEvalError" in caplog.text  # what an operator needs to find the bug
    for secret in (ORIGIN_HOST, "secret-story-path", "og:body"):
        assert secret not in caplog.text
