from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from mirror.errors import OriginStatus, SiteNotMirrored
from mirror.pipeline import Mirror, SingleFlight, process_page
from mirror.settings import CacheConfig
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CDT, Origin
from tests.text_checks import assert_in_order, visible_text

NO_FRESHNESS = CacheConfig(fresh_seconds=0, stale_while_revalidate_seconds=0)


def test_process_page_cleans_the_cdt_article(expected: dict[str, Any]) -> None:
    article = process_page((CDT / "article.html").read_bytes(), "utf-8", ARTICLE_URL)
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
    article = process_page(body, None, "https://chinadigitaltimes.net/chinese/2018/11/x/")
    assert "维吾尔" in article.body
    assert "بىز ئۆز تىلىمىزدا" in article.body
    assert article.lang == "zh-CN"


@pytest.mark.parametrize(
    "junk", [b"", b"\x00\xff\xfe garbage", b"<html><body></html>", b"<" * 5000]
)
def test_process_page_survives_hostile_bytes(junk: bytes) -> None:
    article = process_page(junk, None, "https://chinadigitaltimes.net/x")
    assert "<script" not in article.body


async def test_unconfigured_site_is_refused(mirror_service: Mirror) -> None:
    with pytest.raises(SiteNotMirrored):
        await mirror_service.page("https://example.org/")


async def test_stored_copy_is_served_when_origin_fails(
    mirror_service: Mirror, origin: Origin
) -> None:
    first = await mirror_service.page(ARTICLE_URL)
    assert not first.stale

    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable

    origin.routes[ARTICLE_PATH] = broken
    mirror_service._config = replace(mirror_service._config, cache=NO_FRESHNESS)
    second = await mirror_service.page(ARTICLE_URL)
    assert second.stale
    assert second.stored.article.body == first.stored.article.body


async def test_failed_fetch_stores_nothing(mirror_service: Mirror, origin: Origin) -> None:
    missing = "https://chinadigitaltimes.net/no/such/page/"
    with pytest.raises(OriginStatus):
        await mirror_service.page(missing)
    assert await mirror_service._cache.get_page(missing) is None


async def test_concurrent_requests_make_one_fetch(mirror_service: Mirror, origin: Origin) -> None:
    results = await asyncio.gather(*(mirror_service.page(ARTICLE_URL) for _ in range(20)))
    assert origin.hits[ARTICLE_PATH] == 1
    assert len({r.stored.fetched_at for r in results}) == 1


async def test_single_flight_shares_errors_and_clears() -> None:
    calls = 0

    async def failing() -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise OriginStatus(500)

    flights: SingleFlight[Any] = SingleFlight()
    outcomes = await asyncio.gather(
        *(flights.run("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(o, OriginStatus) for o in outcomes)
    with pytest.raises(OriginStatus):
        await flights.run("k", failing)
    assert calls == 2


async def test_stale_copy_is_revalidated_with_its_validators(
    mirror_service: Mirror, origin: Origin, article_html: bytes
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
    mirror_service._config = replace(mirror_service._config, cache=NO_FRESHNESS)
    second = await mirror_service.page(ARTICLE_URL)
    assert seen[-1]["If-None-Match"] == '"v1"'
    assert not second.stale
    assert second.stored.article == first.stored.article
    assert second.stored.fetched_at > first.stored.fetched_at
