"""End to end: the CDT article through the running mirror, over HTTPS."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import lxml.html
import pytest
from aiohttp import web

from mirror.keys import load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import Mirror
from mirror.settings import Config
from mirror.web.server import CONFIG, LINKS, MIRROR, create_app
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    LEAD_IMAGE_PATH,
    Origin,
    RunningMirror,
    open_cache,
    serve_mirror,
    start_site,
)
from tests.support.browser import chromium, visit
from tests.support.fetch_fixtures import failing_proxy
from tests.support.nginx import caching_proxy
from tests.support.pictures import (
    pictures_made,
)
from tests.support.text_checks import assert_in_order, visible_text


def article_path(mirror: RunningMirror, url: str = ARTICLE_URL) -> str:
    return mirror.app[LINKS].path(url, Kind.PAGE)


async def test_article_is_served_clean_and_whole(
    running_mirror: RunningMirror, origin: Origin, expected: dict[str, Any]
) -> None:
    response, html = await running_mirror.get(article_path(running_mirror))
    assert response.status == 200
    text = visible_text(html)
    assert_in_order(text, expected["paragraphs_in_order"])
    for junk in expected["must_not_contain_text"]:
        assert junk not in text
    assert expected["title"] in text
    assert "<script" not in html.lower()
    tree = lxml.html.document_fromstring(html)
    handlers = [a for e in tree.iter() for a in e.attrib if a.lower().startswith("on")]
    assert handlers == []


async def test_second_request_does_not_reach_origin(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    path = article_path(running_mirror)
    first, _ = await running_mirror.get(path)
    second, _ = await running_mirror.get(path)
    assert (first.status, second.status) == (200, 200)
    assert origin.hits[ARTICLE_PATH] == 1


async def test_served_page_only_references_the_mirror(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get(article_path(running_mirror))
    tree = lxml.html.document_fromstring(html)
    for element in tree.iter("img", "source", "link"):
        for attribute in ("src", "href"):
            value = element.get(attribute)
            if value:
                assert not urlsplit(value).netloc, value
        for candidate in re.split(r",\s*", element.get("srcset", "")):
            assert not urlsplit(candidate.split(" ")[0]).netloc, candidate


async def test_internal_links_point_into_the_mirror(
    running_mirror: RunningMirror, expected: dict[str, Any]
) -> None:
    _, html = await running_mirror.get(article_path(running_mirror))
    hrefs = {a.get("href") for a in lxml.html.document_fromstring(html).iter("a")}
    for url in expected["internal_links_rewritten_to_mirror"]:
        assert article_path(running_mirror, url) in hrefs


async def test_lead_image_is_proxied(running_mirror: RunningMirror, origin: Origin) -> None:
    _, html = await running_mirror.get(article_path(running_mirror))
    lead = f"https://{origin.pin.split(':')[0]}{LEAD_IMAGE_PATH}"
    image = running_mirror.app[LINKS].path(lead, Kind.IMAGE)
    assert f'src="{image}/720.light.jpeg"' in html  # the light mode is the default
    assert f'<source type="image/webp" srcset="{image}/360.light.webp 360w, ' in html
    for path, kind in ((image, "image/webp"), (f"{image}/720.jpeg", "image/jpeg")):
        response, body = await running_mirror.get_bytes(path)
        assert response.status == 200 and body
        assert response.content_type == kind  # made again from its pixels
        assert "Vary" not in response.headers
    for wrong in ("/999.webp", "/720.avif", "/720.webp.x", "/0720.webp"):
        response, _ = await running_mirror.get_bytes(image + wrong)
        assert response.status == 404, wrong


async def test_every_response_carries_security_headers(running_mirror: RunningMirror) -> None:
    for path in ("/", "/healthz", "/m/nonsense", "/no/such/route", "/static/mirror.css"):
        response, _ = await running_mirror.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src" not in csp
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" in response.headers
        assert "camera=()" in response.headers["Permissions-Policy"]


async def test_tampered_token_is_a_plain_404(running_mirror: RunningMirror) -> None:
    path = article_path(running_mirror)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response, html = await running_mirror.get(tampered)
    assert response.status == 404
    assert "chinadigitaltimes" not in html


SECRET_MESSAGE = "secret https://origin.example/x from 10.1.2.3"


async def exploding_page(self: Mirror, url: str) -> None:
    raise RuntimeError(SECRET_MESSAGE)


async def test_an_unexpected_error_is_logged_as_its_type_and_frames_only(
    config: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Mirror, "page", exploding_page)
    caplog.set_level(logging.DEBUG)
    async with serve_mirror(config) as mirror:
        path = article_path(mirror)
        response, html = await mirror.get(path)
    assert response.status == 500
    assert "Something went wrong" in html
    logged = caplog.text
    assert "internal error: RuntimeError" in logged
    assert "in exploding_page" in logged and "in article" in logged  # the frames, innermost last
    assert f'File "{__file__}"' in logged
    token = path.rsplit("/", 1)[1]
    for kept in ("secret", "origin.example", "10.1.2.3", token, ARTICLE_URL, "127.0.0.1"):
        assert kept not in logged, kept
        assert kept not in html, kept


@pytest.mark.parametrize("status", [404, 410])
async def test_an_article_the_origin_does_not_have_is_a_404_naming_the_site(
    running_mirror: RunningMirror, origin: Origin, status: int
) -> None:
    async def absent(request: web.Request) -> web.Response:
        return web.Response(status=status, text="the origin's own error page")

    origin.routes["/2024/01/no-such-article/"] = absent
    path = article_path(running_mirror, "https://chinadigitaltimes.net/2024/01/no-such-article/")
    response, html = await running_mirror.get(path)
    assert response.status == 404
    text = visible_text(html)
    assert "This article is not on China Digital Times" in text
    assert "list of articles of this site" in text
    assert "could not be reached" not in text and "origin's own" not in text
    russian, translated = await running_mirror.get(path + "?hl=ru")
    assert russian.status == 404
    assert "Этой статьи нет на сайте China Digital Times" in visible_text(translated)


def huge_table(rows: int) -> bytes:
    """A page whose processing takes seconds of CPU (about 8 s for 60,000 rows)."""
    cells = "".join(
        f"<tr><td>cell {n}</td><td><a href='/x{n}'>link {n}</a></td></tr>" for n in range(rows)
    )
    page = f"<html><body><article><h1>A table</h1><table>{cells}</table></article></body></html>"
    return page.encode()


async def test_a_page_too_complex_to_process_is_a_502_and_stores_nothing(
    config: Config, origin: Origin
) -> None:
    """Past ``server.transform_timeout`` the reader is told so (in their language), the
    worker is replaced so the next page is served, and the failure is remembered."""
    table = huge_table(60_000)

    async def complex_page(request: web.Request) -> web.Response:
        return web.Response(body=table, content_type="text/html")

    origin.routes["/2024/01/huge-table/"] = complex_page
    url = "https://chinadigitaltimes.net/2024/01/huge-table/"
    quick = replace(
        config, server=replace(config.server, transform_processes=1, transform_timeout=2.0)
    )
    async with serve_mirror(quick) as running:
        path = article_path(running, url)
        started = time.monotonic()
        response, html = await running.get(path, headers={"Accept-Language": "ru"})
        assert time.monotonic() - started < 8.0
        assert response.status == 502
        assert "Эта страница слишком сложна, чтобы прочитать её здесь" in visible_text(html)
        assert await running.app[MIRROR].stored(url) is None
        served, article = await running.get(article_path(running))
        assert served.status == 200
        assert "Western Countries Turn Up the Heat on Xinjiang" in visible_text(article)
        again, html = await running.get(path)
        assert again.status == 502
        assert "This page is too complex to read here" in visible_text(html)
    assert origin.hits["/2024/01/huge-table/"] == 1


async def test_in_open_mode_an_absent_article_names_the_host(config: Config) -> None:
    opened = replace(config, sites=(), server=replace(config.server, open_mode=True))
    async with serve_mirror(opened) as mirror:
        response, html = await mirror.get(article_path(mirror, ARTICLE_URL + "gone/"))
    assert response.status == 404
    assert "This article is not on chinadigitaltimes.net" in visible_text(html)


@pytest.mark.parametrize("behaviour", ["refuse", "closed"])
async def test_a_failing_proxy_is_a_plain_error_page_and_its_credentials_stay_unsaid(
    config: Config, caplog: pytest.LogCaptureFixture, behaviour: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with failing_proxy(behaviour) as port:
        proxy = f"socks5h://user:s3cret@127.0.0.1:{port}"
        fetch = replace(config.fetch, proxy=proxy, connect_to=())
        async with serve_mirror(replace(config, fetch=fetch)) as mirror:
            response, html = await mirror.get(article_path(mirror))
    assert response.status == 502
    assert "The original site could not be reached" in html
    shown = (html + caplog.text).lower()
    for kept in ("s3cret", "user:", "authentication", "connect to proxy", f":{port}"):
        assert kept not in shown, kept


async def test_open_form_redirects_to_token(running_mirror: RunningMirror) -> None:
    async with running_mirror.client.post(
        running_mirror.base + "/open", data={"url": ARTICLE_URL}, allow_redirects=False
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == article_path(running_mirror)


async def test_open_form_refuses_unconfigured_site(running_mirror: RunningMirror) -> None:
    async with running_mirror.client.post(
        running_mirror.base + "/open", data={"url": "https://example.org/"}
    ) as response:
        assert response.status == 403


async def test_home_lists_sites_and_has_no_script(running_mirror: RunningMirror) -> None:
    response, html = await running_mirror.get("/")
    assert response.status == 200
    assert "China Digital Times" in html
    assert 'action="open"' in html
    assert "<script" not in html


async def test_healthz(running_mirror: RunningMirror) -> None:
    response, text = await running_mirror.get("/healthz")
    assert (response.status, text) == (200, "ok\n")


async def test_browser_requests_only_the_mirror(running_mirror: RunningMirror) -> None:
    url = running_mirror.base + article_path(running_mirror)
    for javascript in (True, False):
        async with chromium(javascript=javascript) as context:
            loaded = await visit(context, url)
            assert await loaded.page.title() == "Western Countries Turn Up the Heat on Xinjiang"
            hosts = {urlsplit(u).netloc for u in loaded.requests}
            assert hosts == {urlsplit(running_mirror.base).netloc}
            assert loaded.console_errors == []


@asynccontextmanager
async def plain_mirror(config: Config) -> AsyncIterator[tuple[web.AppRunner, str]]:
    """The mirror over plain HTTP, as it runs behind a TLS-terminating proxy or CDN."""
    runner, port = await start_site(create_app(config), front_door=True)
    try:
        yield runner, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_article_carries_caching_headers_and_answers_304(
    running_mirror: RunningMirror,
) -> None:
    path = article_path(running_mirror)
    await pictures_made(running_mirror, path)
    response, _ = await running_mirror.get(path, headers={"Accept-Encoding": "identity"})
    control = response.headers["Cache-Control"]
    assert re.fullmatch(
        r"public, max-age=(\d+), stale-while-revalidate=86400, stale-if-error=31536000", control
    )
    assert 590 <= int(re.findall(r"max-age=(\d+)", control)[0]) <= 600
    etag = response.headers["ETag"]
    assert re.fullmatch(r'"[A-Za-z0-9_-]{24}"', etag)
    assert response.headers["Vary"] == "Accept-Encoding, Accept-Language"
    again, body = await running_mirror.get(
        path, headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
    )
    assert (again.status, body, again.headers["ETag"]) == (304, "", etag)
    zipped, _ = await running_mirror.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] != etag


async def test_repeat_readers_are_answered_from_memory(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    path = article_path(running_mirror)
    first, html = await running_mirror.get(path)
    async with open_cache(running_mirror.app[CONFIG]) as cache:
        await cache.purge(ARTICLE_URL)  # gone from the store
    second, again = await running_mirror.get(path)
    assert (first.status, second.status, html) == (200, 200, again)
    assert origin.hits[ARTICLE_PATH] == 1


async def test_nginx_serves_the_article_from_its_cache_while_the_mirror_is_down(
    config: Config, origin: Origin, tmp_path: Path
) -> None:
    plain = replace(config, server=replace(config.server, plain_http=True))
    (tmp_path / "nginx").mkdir()
    async with plain_mirror(plain) as (runner, base), aiohttp.ClientSession() as client:
        upstream = int(base.rsplit(":", 1)[1])
        with caching_proxy(tmp_path / "nginx", upstream) as port:
            url = f"http://127.0.0.1:{port}" + LinkBuilder(
                load_token_ring(plain.server.data_dir)
            ).path(ARTICLE_URL, Kind.PAGE)
            async with client.get(url) as miss:
                assert (miss.status, miss.headers["X-Cache-Status"]) == (200, "MISS")
                original = await miss.text()
            await runner.cleanup()  # the mirror is gone
            with pytest.raises(aiohttp.ClientConnectionError):
                await client.get(base + "/healthz")
            async with client.get(url) as hit:
                assert (hit.status, hit.headers["X-Cache-Status"]) == (200, "HIT")
                assert await hit.text() == original
    assert "Western Countries Turn Up the Heat on Xinjiang" in original
    assert origin.hits[ARTICLE_PATH] == 1


async def test_image_route_serves_only_raster_bytes(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    async def fake_png(request: web.Request) -> web.Response:
        return web.Response(body=b"<svg onload=alert(1)>", content_type="image/png")

    origin.routes["/wp-content/fake.png"] = fake_png
    links = running_mirror.app[LINKS]
    fake = links.path("https://chinadigitaltimes.net/wp-content/fake.png", Kind.IMAGE)
    response, body = await running_mirror.get_bytes(fake)
    assert response.status == 415
    assert b"onload" not in body
    real = links.path("https://chinadigitaltimes.net/wp-content/real.png", Kind.IMAGE)
    response, body = await running_mirror.get_bytes(real)
    assert (response.status, response.content_type) == (200, "image/webp")
    assert "max-age" in response.headers["Cache-Control"]


async def test_lead_image_srcset_is_proxied_whole(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get(article_path(running_mirror))
    links = running_mirror.app[LINKS]
    site = "https://chinadigitaltimes.net/wp-content/uploads/2018/11/"
    widest = links.path(f"{site}xinjiang-camp-1024x576.jpg", Kind.IMAGE)
    expected = f"{widest}/360.light.webp 360w, {widest}/720.light.webp 720w"
    assert f'srcset="{expected}"' in html  # the widest origin file, offered at every width
    for smaller in ("300x169", "768x432"):
        assert links.path(f"{site}xinjiang-camp-{smaller}.jpg", Kind.IMAGE) not in html


async def test_a_garbage_cache_file_does_not_stop_the_mirror(
    config: Config, origin: Origin
) -> None:
    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    (config.server.data_dir / "cache.sqlite3").write_bytes(b"\x00garbage" * 4096)
    plain = replace(config, server=replace(config.server, plain_http=True))
    path = LinkBuilder(load_token_ring(plain.server.data_dir)).path(ARTICLE_URL, Kind.PAGE)
    async with (
        plain_mirror(plain) as (_, base),
        aiohttp.ClientSession() as client,
        client.get(base + path) as response,
    ):
        assert response.status == 200
        assert "Xinjiang" in await response.text()
    assert any(".corrupt-" in p.name for p in config.server.data_dir.iterdir())
