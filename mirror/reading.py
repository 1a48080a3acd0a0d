"""Reading a page: the bytes an origin sent, as a clean article (decode → ``process_page``).

Pure, so that benchmarks, ``mirror extract``, the export and the server read a page the same
way; the server runs it in its transform processes (``mirror.pool``), with the rules loaded
once per process by ``start_worker``, so that the event loop only moves bytes.

Whatever a stage raises is translated here, once, into ``UnreadablePage``: inside the
transform process, so that only our own picklable error crosses back, and before anything is
stored. The server counts it by stage and logs its cause (``read_fetched``), never the
page's address; a page past its time stays ``TooComplex`` (``mirror.pool``).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from dataclasses import dataclass
from types import CodeType

from mirror.article import Article
from mirror.counters import Tally, count_unreadable, tallied
from mirror.errors import MirrorError, UnreadablePage, described
from mirror.fetch.decode import decode_html
from mirror.pool import TransformPool
from mirror.settings import Config
from mirror.transform.filters import StripRules, default_rules, load_rules
from mirror.transform.page import clean_body, prepare_page, process_page
from mirror.transform.reader.extract import extract_article
from mirror.transform.reader.siterules import ReaderModeRules, load_site_rules, packaged_rules

log = logging.getLogger(__name__)

# Reading's stages, by the function that runs each (``counters.READING_STAGES`` names them):
# a failure is put down to the innermost one its traceback passes through, else "other".
STAGES: dict[CodeType, str] = {
    decode_html.__code__: "decode",
    prepare_page.__code__: "prepare",
    extract_article.__code__: "extract",
    clean_body.__code__: "clean",
}


@dataclass(frozen=True)
class PageRules:
    """Every rule a page is processed with: the ad and tracker lists with each site's
    ``remove`` and ``keep_params`` (strip), and the reader-mode rules (extract).

    One value made by one loader, so the server, ``mirror extract`` and ``mirror export``
    cannot process the same page differently.
    """

    strip: StripRules
    reader: ReaderModeRules


def load_page_rules(config: Config | None) -> PageRules:
    """The rules of ``config``: downloaded lists and site rules from its data dir, and its
    sites' own; without a config, the built-in ones alone."""
    if config is None:
        return PageRules(default_rules(), packaged_rules())
    return PageRules(load_rules(config), load_site_rules(config.server.data_dir))


def read_page(
    body: bytes, charset: str | None, url: str, rules: PageRules | None = None
) -> Article:
    """decode → ``process_page``: the bytes an origin sent, as a clean article; pure. What a
    stage raises comes out as ``UnreadablePage`` (our own errors pass as they are)."""
    rules = rules or load_page_rules(None)
    try:
        return process_page(decode_html(body, charset), url, rules.strip, rules.reader)
    except MirrorError:
        raise
    except Exception as exc:
        raise UnreadablePage(stage_of(exc), described(exc)) from exc


def stage_of(exc: BaseException) -> str:
    """The stage of ``STAGES`` that ``exc`` was raised in."""
    frames = traceback.walk_tb(exc.__traceback__)
    stages = [STAGES[frame.f_code] for frame, _ in frames if frame.f_code in STAGES]
    return stages[-1] if stages else "other"


@dataclass
class _WorkerState:
    rules: PageRules | None = None


_WORKER = _WorkerState()


def start_worker(config: Config | None) -> None:
    """A transform process's initializer: the page rules, loaded once per process."""
    _WORKER.rules = load_page_rules(config)


def read_in_worker(body: bytes, charset: str | None, url: str) -> tuple[Article, Tally]:
    """``read_page`` with the rules ``start_worker`` loaded, and what it counted: what a
    transform process runs (its own counters are never scraped)."""
    assert _WORKER.rules is not None, "start_worker runs first in every transform process"
    with tallied() as tally:
        return read_page(body, charset, url, _WORKER.rules), tally


async def read_in_pool(pool: TransformPool, body: bytes, charset: str | None, url: str) -> Article:
    """``read_page`` in a transform process, its counts added to this process's."""
    article, tally = await pool.run(read_in_worker, body, charset, url)
    tally.add_to_counters()
    return article


async def read_fetched(
    pool: TransformPool | None, rules: PageRules | None, body: bytes, charset: str | None, url: str
) -> Article:
    """``read_page`` off the event loop: in ``pool`` when given, else in a thread with
    ``rules``. A page it cannot read is counted by stage and logged by its cause alone."""
    try:
        if pool is not None:
            return await read_in_pool(pool, body, charset, url)
        return await asyncio.to_thread(read_page, body, charset, url, rules)
    except UnreadablePage as error:
        count_unreadable(error.stage)
        log.error("a page could not be read at its %s stage: %s", error.stage, error.cause)
        raise


def transform_pool(config: Config) -> TransformPool:
    """The transform processes of ``config``, each with its page rules."""
    server = config.server
    return TransformPool(
        server.transform_pool_size, server.transform_timeout, start_worker, (config,)
    )
