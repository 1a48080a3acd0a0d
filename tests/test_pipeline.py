from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from mirror import counters
from mirror.errors import (
    FetchError,
    OriginStatus,
    SentToFrontPage,
    SiteNotMirrored,
    UnreadablePage,
)
from mirror.fetch.client import Fetcher
from mirror.pipeline import Mirror, sent_to_front_page
from mirror.reading import read_page
from mirror.settings import CacheConfig, Config
from mirror.store.cache import PageCache
from mirror.store.sqlite import SqliteStore
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    LEAD_IMAGE_PATH,
    Origin,
    open_cache,
    open_mirror,
)
from tests.support.paths import CDT
from tests.support.removal_fixtures import REASONS, always_ask, remove_at_origin
from tests.support.text_checks import assert_in_order, visible_text
from tests.support.unreadable import UNRULY_PAGE, break_reader_mode

NO_FRESHNESS = CacheConfig(fresh_seconds=0, stale_while_revalidate_seconds=0)


def test_process_page_cleans_the_cdt_article(expected: dict[str, Any]) -> None:
    article = read_page((CDT / "article.html").read_bytes(), "utf-8", ARTICLE_URL)
    text = visible_text(article.body)
    assert_in_order(text, expected["paragraphs_in_order"])
    for junk in expected["must_not_contain_text"]:
        assert junk not in text
    for param in expected["tracking_params_removed_everywhere"]:
        assert param not in article.body
    assert "<script" not in article.body
    assert article.url == ARTICLE_URL


def test_process_page_gb18030_comes_out_whole() -> None:
    body = (CDT / "article-zh-gb18030.html").read_bytes()
    article = read_page(body, None, "https://chinadigitaltimes.net/chinese/2018/11/x/")
    assert "维吾尔" in article.body
    assert "بىز ئۆز تىلىمىزدا" in article.body
    assert article.lang == "zh-CN"


def test_links_and_images_come_out_absolute_against_the_base() -> None:
    """Links are made absolute after extraction, with the base the page declared."""
    prose = "".join(
        f"<p>Paragraph {n} of the story, long enough to be kept as prose.</p>" for n in range(8)
    )
    page = (
        '<html><head><base href="/archive/"><title>A story</title></head><body><article>'
        f'<h1>A story</h1>{prose}<p>See <a href="other/">the other story</a> and '
        '<a href="#notes">notes</a>.</p><img src="pics/a.jpg" alt="a picture">'
        "</article></body></html>"
    ).encode()
    body = read_page(page, "utf-8", "https://chinadigitaltimes.net/2024/01/story/").body
    assert 'href="https://chinadigitaltimes.net/archive/other/"' in body
    assert 'href="#notes"' in body
    assert 'src="https://chinadigitaltimes.net/archive/pics/a.jpg"' in body


@pytest.mark.parametrize(
    "junk", [b"", b"\x00\xff\xfe garbage", b"<html><body></html>", b"<" * 5000]
)
def test_process_page_survives_hostile_bytes(junk: bytes) -> None:
    article = read_page(junk, None, "https://chinadigitaltimes.net/x")
    assert "<script" not in article.body


async def test_unconfigured_site_is_refused(mirror_service: Mirror) -> None:
    with pytest.raises(SiteNotMirrored):
        await mirror_service.page("https://example.org/")


async def test_stored_copy_is_served_when_origin_fails(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    first = await mirror_service.page(ARTICLE_URL)
    assert not first.stale

    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable

    origin.routes[ARTICLE_PATH] = broken
    async with open_mirror(replace(config, cache=NO_FRESHNESS)) as later:
        second = await later.page(ARTICLE_URL)
    assert second.stale
    assert second.stored.article.body == first.stored.article.body


async def test_failed_fetch_stores_nothing(mirror_service: Mirror, origin: Origin) -> None:
    missing = "https://chinadigitaltimes.net/no/such/page/"
    with pytest.raises(OriginStatus):
        await mirror_service.page(missing)
    assert await mirror_service.stored(missing) is None


async def test_the_origin_response_is_kept_beside_the_page(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    html = (CDT / "article.html").read_bytes()

    async def gzipped(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Set-Cookie": "id=tracked", "X-Served-By": "cdn"}
        return web.Response(body=gzip.compress(html), content_type="text/html", headers=headers)

    origin.routes[ARTICLE_PATH] = gzipped
    served = await mirror_service.page(ARTICLE_URL)
    async with open_cache(config) as cache:
        kept = await cache.get_response(ARTICLE_URL)
    assert kept is not None
    assert (kept.url, kept.status, kept.reason, kept.body) == (ARTICLE_URL, 200, "OK", html)
    assert kept.fetched_at == served.stored.fetched_at
    names = {name.lower(): value for name, value in kept.headers}
    assert names["x-served-by"] == "cdn" and names["content-encoding"] == "gzip"
    assert "set-cookie" not in names


async def test_concurrent_requests_make_one_fetch(mirror_service: Mirror, origin: Origin) -> None:
    results = await asyncio.gather(*(mirror_service.page(ARTICLE_URL) for _ in range(20)))
    assert origin.hits[ARTICLE_PATH] == 1
    assert len({r.stored.fetched_at for r in results}) == 1


async def test_stale_copy_is_revalidated_with_its_validators(
    mirror_service: Mirror, origin: Origin, article_html: bytes, config: Config
) -> None:
    seen: list[dict[str, str]] = []

    async def conditional(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(
            body=article_html,
            headers={"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'},
        )

    origin.routes[ARTICLE_PATH] = conditional
    first = await mirror_service.page(ARTICLE_URL)
    assert first.stored.etag == '"v1"'
    async with open_mirror(replace(config, cache=NO_FRESHNESS)) as later:
        second = await later.page(ARTICLE_URL)
    assert seen[-1]["If-None-Match"] == '"v1"'
    assert not second.stale
    assert second.stored.article == first.stored.article
    assert second.stored.fetched_at > first.stored.fetched_at


async def test_stale_while_revalidate_serves_at_once_and_refreshes_behind(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    first = await mirror_service.page(ARTICLE_URL)
    swr = CacheConfig(fresh_seconds=0, stale_while_revalidate_seconds=60)
    async with open_mirror(replace(config, cache=swr)) as later:
        second = await later.page(ARTICLE_URL)
        assert second.stored == first.stored and not second.stale
        await later.settled()
        assert origin.hits[ARTICLE_PATH] == 2
        third = await later.page(ARTICLE_URL)
    assert third.stored.fetched_at > first.stored.fetched_at


async def test_shutdown_cancels_background_refreshes(
    config: Config, origin: Origin, article_html: bytes
) -> None:
    released = asyncio.Event()

    async def hanging(request: web.Request) -> web.Response:
        if origin.hits[ARTICLE_PATH] > 1:
            await released.wait()
        return web.Response(body=article_html, content_type="text/html")

    origin.routes[ARTICLE_PATH] = hanging
    swr = replace(config, cache=CacheConfig(fresh_seconds=0, stale_while_revalidate_seconds=60))
    store = SqliteStore(config.server.data_dir / "c.sqlite3", 1 << 30, 0)
    async with Fetcher(config.fetch) as fetcher, PageCache(store, b"s" * 32) as cache:
        async with Mirror(swr, fetcher, cache) as mirror:
            await mirror.page(ARTICLE_URL)
            await mirror.page(ARTICLE_URL)
            for _ in range(200):  # until the background refresh reaches the origin
                if origin.hits[ARTICLE_PATH] == 2:
                    break
                await asyncio.sleep(0.025)
            assert mirror.pending == 2 and origin.hits[ARTICLE_PATH] == 2  # task and fetch
        assert mirror.pending == 0  # the fetch itself stopped, not only its waiter
    released.set()


async def test_origin_errors_are_remembered_briefly(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    missing = "https://chinadigitaltimes.net/no/such/page/"
    for _ in range(3):
        with pytest.raises(OriginStatus):
            await mirror_service.page(missing)
    assert origin.hits["/no/such/page/"] == 1
    async with open_mirror(config) as restarted:
        with pytest.raises(OriginStatus):
            await restarted.page(missing)
    assert origin.hits["/no/such/page/"] == 2


async def _unruly(request: web.Request) -> web.Response:
    return web.Response(body=UNRULY_PAGE, content_type="text/html")


async def test_an_unreadable_page_stores_nothing_is_remembered_and_the_next_is_served(
    origin: Origin, config: Config
) -> None:
    break_reader_mode(config.server.data_dir)
    origin.routes["/2024/unruly/"] = _unruly
    unruly_url = "https://chinadigitaltimes.net/2024/unruly/"
    async with open_mirror(config) as mirror_service:
        for _ in range(2):
            with pytest.raises(UnreadablePage):
                await mirror_service.page(unruly_url)
        assert origin.hits["/2024/unruly/"] == 1  # remembered as an origin's error is
        assert "Xinjiang" in (await mirror_service.page(ARTICLE_URL)).stored.article.title
    async with open_cache(config) as cache:
        assert await cache.get_page(unruly_url) is None
        assert await cache.get_response(unruly_url) is None


async def test_a_stored_copy_stands_in_when_its_refresh_cannot_be_read(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    first = await mirror_service.page(ARTICLE_URL)
    origin.routes[ARTICLE_PATH] = _unruly
    break_reader_mode(config.server.data_dir)
    async with open_mirror(replace(config, cache=NO_FRESHNESS)) as restarted:
        second = await restarted.page(ARTICLE_URL)
    assert second.stale
    assert second.stored.article.body == first.stored.article.body


async def test_stale_if_error_has_no_age_limit_unless_configured(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    first = await mirror_service.page(ARTICLE_URL)
    old = replace(first.stored, fetched_at=first.stored.fetched_at - 10 * 365 * 86400)
    async with open_cache(config) as cache:
        await cache.put_page(ARTICLE_URL, old)
    origin.routes[ARTICLE_PATH] = _failing
    served = await mirror_service.page(ARTICLE_URL)
    assert served.stale and served.stored == old
    limited = CacheConfig(stale_if_error_seconds=86400, error_seconds=0)
    async with open_mirror(replace(config, cache=limited)) as later:
        with pytest.raises(OriginStatus):
            await later.page(ARTICLE_URL)


async def test_images_are_cached_and_outlive_their_origin(
    mirror_service: Mirror, origin: Origin, config: Config
) -> None:
    image_url = "https://chinadigitaltimes.net" + LEAD_IMAGE_PATH
    first = await mirror_service.image(image_url)
    again = await mirror_service.image(image_url)
    assert again == first and first.body.startswith(b"RIFF")
    assert origin.hits[LEAD_IMAGE_PATH] == 1
    origin.routes[LEAD_IMAGE_PATH] = _failing
    async with open_mirror(replace(config, cache=CacheConfig(image_fresh_seconds=0))) as later:
        assert await later.image(image_url) == first
    assert origin.hits[LEAD_IMAGE_PATH] == 2


async def test_site_freshness_overrides_the_default(config: Config) -> None:
    site = replace(config.sites[0], fresh_seconds=5, image_fresh_seconds=7)
    tuned = replace(config, sites=(site,))
    assert (tuned.fresh_seconds(ARTICLE_URL), tuned.fresh_seconds(ARTICLE_URL, image=True)) == (
        5,
        7,
    )
    assert config.fresh_seconds(ARTICLE_URL) == 600
    assert config.fresh_seconds(ARTICLE_URL, image=True) == 86400


async def _failing(request: web.Request) -> web.Response:
    raise web.HTTPServiceUnavailable


def removals(reason: str) -> float:
    value: float = counters.REMOVALS.value(reason)
    return value


@pytest.mark.parametrize("reason", REASONS)
async def test_removed_article_is_kept_marked_listed_and_counted(
    config: Config, origin: Origin, reason: str
) -> None:
    async with open_mirror(always_ask(config)) as mirror:
        first = await mirror.page(ARTICLE_URL)
        remove_at_origin(origin, ARTICLE_PATH, reason)
        before = removals(reason)
        served = await mirror.page(ARTICLE_URL)
        kept = served.stored
        assert kept.removed_at is not None and not served.stale
        assert kept.provenance == "removed"
        assert kept.fetched_at == first.stored.fetched_at  # the last time it was seen live
        assert kept.removed_at >= kept.fetched_at
        assert kept.article == first.stored.article
        assert await mirror.stored(ARTICLE_URL) == kept
        assert await mirror.removed(config.sites[0]) == [(ARTICLE_URL, kept)]
        assert removals(reason) == before + 1


async def test_a_removal_keeps_its_first_date_and_is_checked_behind_the_reader(
    config: Config, origin: Origin
) -> None:
    no_freshness = replace(config, cache=NO_FRESHNESS)
    async with open_mirror(no_freshness) as mirror:
        await mirror.page(ARTICLE_URL)
        remove_at_origin(origin, ARTICLE_PATH, "410")
        before = removals("410")
        first = await mirror.page(ARTICLE_URL)
        asked = origin.hits[ARTICLE_PATH]
        again = await mirror.page(ARTICLE_URL)  # at once; the 410 is remembered a while
        await mirror.settled()
        assert again.stored == first.stored and origin.hits[ARTICLE_PATH] == asked
    async with open_mirror(no_freshness) as restarted:  # nothing remembered
        later = await restarted.page(ARTICLE_URL)
        await restarted.settled()
        assert origin.hits[ARTICLE_PATH] == asked + 1
        assert later.stored == first.stored
        assert await restarted.stored(ARTICLE_URL) == first.stored
    assert removals("410") == before + 1


async def test_an_article_back_at_its_origin_is_live_and_unlisted_again(
    config: Config, origin: Origin
) -> None:
    live = origin.routes[ARTICLE_PATH]
    async with open_mirror(always_ask(config)) as mirror:
        await mirror.page(ARTICLE_URL)
        remove_at_origin(origin, ARTICLE_PATH, "404")
        removed = await mirror.page(ARTICLE_URL)
        assert removed.stored.removed_at is not None
        origin.routes[ARTICLE_PATH] = live
        assert (await mirror.page(ARTICLE_URL)).stored == removed.stored  # served at once
        await mirror.settled()
        back = await mirror.stored(ARTICLE_URL)
        assert back is not None and back.removed_at is None
        assert back.fetched_at > removed.stored.fetched_at
        assert await mirror.removed(config.sites[0]) == []
        assert (await mirror.page(ARTICLE_URL)).stored.removed_at is None


async def test_a_redirect_to_the_front_page_with_nothing_stored_is_not_at_origin(
    mirror_service: Mirror, origin: Origin
) -> None:
    missing = "https://chinadigitaltimes.net/2019/01/taken-down/"
    remove_at_origin(origin, "/2019/01/taken-down/", "front_page")
    with pytest.raises(SentToFrontPage) as gone:
        await mirror_service.page(missing)
    assert gone.value.status == 404 and gone.value.url == missing
    assert origin.hits["/"] == 1
    assert await mirror_service.stored(missing) is None


@pytest.mark.parametrize(
    ("url", "final", "front"),
    [
        ("https://a.example/2024/01/story/", "https://a.example/", True),
        ("https://a.example/2024/01/story/", "https://www.a.example", True),
        ("https://www.a.example/story", "https://a.example/", True),
        ("https://a.example/story", "https://a.example/story/", False),
        ("https://a.example/story", "https://a.example/?p=1", False),
        ("https://a.example/story", "https://b.example/", False),
        ("https://a.example/", "https://a.example/", False),
        ("https://a.example/index.html", "https://a.example/", False),
    ],
)
def test_what_counts_as_sent_to_the_front_page(url: str, final: str, front: bool) -> None:
    assert sent_to_front_page(url, final) is front


async def test_removed_articles_survive_eviction_pressure_and_a_restart_with_the_origin_down(
    config: Config, origin: Origin, article_html: bytes
) -> None:
    """The size bound evicts hundreds of other pages around a removed one, which stays; then
    the mirror restarts with its origin gone dark and still serves it, marked."""

    async def other(request: web.Request) -> web.Response:
        prose = "".join(
            f"<p>Report {request.path} paragraph {n}: " + "words of the story " * 12 + "</p>"
            for n in range(8)
        )
        page = f"<html><head><title>{request.path}</title></head><body><article>{prose}"
        return web.Response(body=page + "</article></body></html>", content_type="text/html")

    others = [f"/2020/01/other-{n}/" for n in range(300)]
    origin.routes.update(dict.fromkeys(others, other))
    tuned = always_ask(config)
    secret = b"r" * 32
    path = config.server.data_dir / "bounded.sqlite3"
    max_bytes = 200_000

    @asynccontextmanager
    async def mirror_on_disk() -> AsyncIterator[tuple[Mirror, PageCache]]:
        store = SqliteStore(path, max_bytes, 3600)
        async with (
            Fetcher(tuned.fetch) as fetcher,
            PageCache(store, secret) as cache,
            Mirror(tuned, fetcher, cache) as mirror,
        ):
            yield mirror, cache

    async with mirror_on_disk() as (mirror, cache):
        await mirror.page(ARTICLE_URL)
        remove_at_origin(origin, ARTICLE_PATH, "404")
        kept = (await mirror.page(ARTICLE_URL)).stored
        assert kept.removed_at is not None
        for n in range(0, len(others), 20):
            batch = others[n : n + 20]
            await asyncio.gather(*(mirror.page("https://chinadigitaltimes.net" + p) for p in batch))
        stats = await cache.store.stats()
        assert stats["value_bytes"] <= max_bytes
        first_other = await mirror.stored("https://chinadigitaltimes.net" + others[0])
        assert first_other is None  # evicted: the bound was pressed hard
        assert await mirror.stored(ARTICLE_URL) == kept
    await origin.stop()
    async with mirror_on_disk() as (mirror, _):
        served = await mirror.page(ARTICLE_URL)
        assert served.stored == kept
        assert await mirror.removed(tuned.sites[0]) == [(ARTICLE_URL, kept)]
        with pytest.raises(FetchError):  # the origin is down indeed
            await mirror.page("https://chinadigitaltimes.net/2021/never-stored/")
