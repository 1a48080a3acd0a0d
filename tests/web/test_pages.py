"""The reader's pages over HTTPS: site index, feed, article, languages, low-bandwidth, weight."""

from __future__ import annotations

import datetime
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import aiohttp
import feedparser
import lxml.html
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from mirror import counters, resources
from mirror.links import Kind
from mirror.render.html import Reader
from mirror.render.i18n import LANGUAGES, long_date
from mirror.settings import Config
from mirror.web.appkeys import CONFIG, DOWNLOADS, LISTINGS, MIRROR
from mirror.web.readers import reader_choices, view_key
from mirror.web.server import LINKS, POOL
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    CHINESE_PATH,
    CHINESE_URL,
    ORIGIN_HOST,
    Origin,
    RunningMirror,
    serve_mirror,
    start_site,
)
from tests.support.feed_fixtures import long_rss
from tests.support.removal_fixtures import REASONS, always_ask, remove_at_origin

WEIGHT_LIMIT = 30 * 1024


def page_path(mirror: RunningMirror, url: str = ARTICLE_URL) -> str:
    return mirror.app[LINKS].path(url, Kind.PAGE)


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


async def test_home_lists_latest_articles_as_mirror_links(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get("/")
    hrefs = {a.get("href") for a in tree(html).iter("a")}
    assert page_path(running_mirror) in hrefs
    assert page_path(running_mirror, CHINESE_URL) in hrefs
    assert "/s/cdt/" in hrefs
    assert "Western Countries Turn Up the Heat on Xinjiang" in html
    assert "chinadigitaltimes.net/2018" not in html


async def test_site_index_is_paginated(running_mirror: RunningMirror, origin: Origin) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=long_rss(45), content_type="application/rss+xml")

    origin.routes["/feed/"] = feed
    _, first = await running_mirror.get("/s/cdt/")
    assert "Story 0" in first and "Story 19" in first and "Story 20" not in first
    assert tree(first).xpath("//a[@rel='next']/@href") == ["/s/cdt/?page=2"]
    _, last = await running_mirror.get("/s/cdt/?page=3")
    assert "Story 40" in last and "Story 44" in last and "Story 39" not in last
    assert tree(last).xpath("//a[@rel='prev']/@href") == ["/s/cdt/?page=2"]
    assert tree(last).xpath("//a[@rel='next']") == []
    for missing in ("/s/cdt/?page=4", "/s/cdt/?page=0", "/s/nosuch/", "/s/nosuch/feed"):
        response, _ = await running_mirror.get(missing)
        assert response.status == 404, missing


async def test_site_feed_points_into_the_mirror(running_mirror: RunningMirror) -> None:
    response, body = await running_mirror.get("/s/cdt/feed")
    assert response.status == 200
    assert response.content_type == "application/rss+xml"
    result = feedparser.parse(body)
    assert not result.bozo
    assert len(result.entries) == 3
    for entry in result.entries:
        assert entry.link.startswith(running_mirror.base + "/m/"), entry.link
        for mark in ("stats.wp.com", "<script", "utm_source"):
            assert mark not in entry.summary
    token = urlsplit(result.entries[0].link).path.rsplit("/", 1)[1]
    assert running_mirror.app[LINKS].open(token, Kind.PAGE) == ARTICLE_URL
    response, _ = await running_mirror.get("/s/cdt/feed?n=2")
    assert response.status == 404


async def test_article_page_shows_where_it_came_from(running_mirror: RunningMirror) -> None:
    path = page_path(running_mirror)
    _, html = await running_mirror.get(path)
    page = tree(html)
    assert page.xpath("string(//h1)") == "Western Countries Turn Up the Heat on Xinjiang"
    meta = page.xpath("string(//p[@class='meta'])")
    assert "China Digital Times" in meta and "November 16, 2018" in meta and "min read" in meta
    assert page.xpath("//input[@id='share']/@value") == [running_mirror.base + path]
    assert page.xpath("//input[@id='share']/@readonly")
    assert ARTICLE_URL in page.xpath("string(//span[@class='original'])")
    live = page.xpath(f"//a[@href='{ARTICLE_URL}']")
    assert live and all(a.xpath("ancestor::details") for a in live)
    token = path.rsplit("/", 1)[1]
    assert set(page.xpath("//p[@class='downloads']/a/@href")) == {
        f"/d/{token}.html",
        f"/d/{token}.epub",
    }
    assert page.xpath("//a[@class='site']/@href") == ["/s/cdt/"]


async def test_images_are_lazy_and_low_bandwidth_hides_them(running_mirror: RunningMirror) -> None:
    path = page_path(running_mirror)
    _, html = await running_mirror.get(path)
    images = tree(html).xpath("//div[@class='body']//img")
    assert images and all(img.get("loading") == "lazy" for img in images)
    _, lite = await running_mirror.get(path + "?lite=1")
    page = tree(lite)
    assert page.xpath("//div[@class='body']//img") == []
    requests = page.xpath("//a[@class='image-request']/@href")
    assert requests and all(href.startswith("/r/") for href in requests)
    assert page.xpath("//a[@class='brand']/@href") == ["/?pics=none"]
    assert page.xpath("//p[@class='bandwidth']/a/@href") == [
        path + "?pics=full",
        path + "?pics=light",
        path + "?pics=none",
    ]


async def test_language_from_header_and_from_link(running_mirror: RunningMirror) -> None:
    _, persian = await running_mirror.get("/", headers={"Accept-Language": "fa-IR,fa;q=0.9"})
    assert '<html lang="fa" dir="rtl">' in persian
    assert "خبرهای مسدودشده را بخوانید" in persian
    response, russian = await running_mirror.get("/about?hl=ru", headers={"Accept-Language": "fa"})
    assert '<html lang="ru" dir="ltr">' in russian
    assert "Об этом зеркале" in russian
    assert "Accept-Language" in response.headers["Vary"]
    links = tree(russian).xpath("//nav[@class='languages']//a")
    assert {a.get("hreflang"): a.get("href") for a in links}["zh-Hant"] == "/about?hl=zh-Hant"
    assert tree(russian).xpath("//a[@class='brand']/@href") == ["/?hl=ru"]
    _, uyghur = await running_mirror.get("/m/nonsense?hl=ug")
    assert '<html lang="ug" dir="rtl">' in uyghur and "بەت تېپىلمىدى" in uyghur


async def test_open_form_keeps_the_chosen_language(running_mirror: RunningMirror) -> None:
    async with running_mirror.client.post(
        running_mirror.base + "/open?hl=zh-Hant",
        data={"url": ARTICLE_URL},
        allow_redirects=False,
    ) as response:
        location = urlsplit(response.headers["Location"])
    assert location.path == page_path(running_mirror)
    assert parse_qs(location.query) == {"hl": ["zh-Hant"]}


async def test_about_page(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get("/about")
    assert "The operator of this mirror has not given a name." in html
    assert "make serve" in html and "China Digital Times" in html


async def wire_bytes(mirror: RunningMirror, path: str, coding: str) -> int:
    """Bytes on the wire for ``path`` (not decompressed), fetched from the test mirror."""
    connector = aiohttp.TCPConnector(ssl=False)
    async with (
        aiohttp.ClientSession(connector=connector, auto_decompress=False) as raw,
        raw.get(mirror.base + path, headers={"Accept-Encoding": coding}) as response,
    ):
        assert response.headers["Content-Encoding"] == coding
        return len(await response.read())


async def test_article_page_weighs_under_30_kb_compressed(running_mirror: RunningMirror) -> None:
    path = page_path(running_mirror)
    for coding in ("br", "gzip"):
        weight = await wire_bytes(running_mirror, path, coding)
        weight += await wire_bytes(running_mirror, "/static/mirror.css", coding)
        print(f"article page + CSS, {coding}: {weight} bytes")
        assert weight <= WEIGHT_LIMIT, (coding, weight)


async def test_static_files_and_favicon_are_served_with_their_types(
    running_mirror: RunningMirror,
) -> None:
    for path, name, content_type in (
        ("/static/mirror.css", "mirror.css", "text/css"),
        ("/static/favicon.svg", "favicon.svg", "image/svg+xml"),
        ("/favicon.ico", "favicon.svg", "image/svg+xml"),
    ):
        response, body = await running_mirror.get_bytes(path)
        assert (response.status, response.content_type) == (200, content_type), path
        assert body == resources.static_bytes(name)


async def test_a_missing_static_file_is_a_404_never_a_500(
    running_mirror: RunningMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in ("/static/gone.css", "/static/__init__.py", "/static/..%2F..%2Fpyproject.toml"):
        response, _ = await running_mirror.get(path)
        assert response.status == 404, path
    monkeypatch.setattr(resources, "STATIC", "mirror.nowhere")  # a wheel built without it
    resources.static_names.cache_clear()
    try:
        for path in ("/static/mirror.css", "/favicon.ico"):
            response, _ = await running_mirror.get(path)
            assert response.status == 404, path
    finally:
        resources.static_names.cache_clear()


async def test_uyghur_quote_survives_the_pipeline(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get(page_path(running_mirror, CHINESE_URL))
    assert tree(html).xpath("//blockquote[@lang='ug'][@dir='rtl']")


def test_reader_choices_parse_the_raw_query_as_aiohttp_does() -> None:
    for raw in ["hl=ug&lite=1", "hl=%75%67&lite=0&page=3", "lite=1&lite=0&hl=xx", "page=2+", ""]:
        request = make_mocked_request("GET", f"/s/cdt/?{raw}", headers={"Accept-Language": "ru"})
        expected = Reader.from_request("/s/cdt/", request.query, "ru", "none")
        choices = reader_choices(request.rel_url.raw_query_string, "ru", "none")
        assert replace(choices, path="/s/cdt/") == expected, raw


def test_view_key_tells_every_view_apart() -> None:
    readers = [
        Reader.from_request("/", query, language, "light")
        for query in [
            {},
            {"hl": "ug"},
            {"hl": "en"},
            {"lite": "1"},
            {"lite": "0"},
            {"pics": "light"},
        ]
        for language in ["", "ug"]
    ]
    views = {
        (r.language.tag, r.pictures, r.explicit_language, r.explicit_pictures) for r in readers
    }
    assert len({view_key(reader) for reader in readers}) == len(views)


async def test_heavy_pages_are_made_once_per_stored_version(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    """Article, downloads and re-published feed: each made once in the transform
    processes, then every reader is answered from what was kept; home and site index pages
    are rendered once per view while their feeds' lists are unchanged."""
    pool = running_mirror.app[POOL]
    token = running_mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    made: dict[str, bytes] = {}
    for path in ("/m/" + token, f"/d/{token}.html", f"/d/{token}.epub", "/s/cdt/feed"):
        _, made[path] = await running_mirror.get_bytes(path)
        await running_mirror.app[MIRROR].settled()  # the pictures made behind the reader's back
        tasks = pool.tasks
        response, again = await running_mirror.get_bytes(path)
        assert response.status == 200, path
        assert again == made[path], path
        assert pool.tasks == tasks, f"{path} was made again"
    listings = running_mirror.app[LISTINGS]
    for path in ("/", "/s/cdt/", "/?hl=fa"):
        renders = listings.made
        _, first = await running_mirror.get(path)
        _, second = await running_mirror.get(path)
        assert second == first, path
        assert listings.made == renders + 1, f"{path} was rendered again"
    kept = running_mirror.app[DOWNLOADS].get(f"{token} epub {view_key_of(running_mirror)}")
    assert kept is not None and kept.body == made[f"/d/{token}.epub"]
    assert origin.hits["/feed/"] == 1


def view_key_of(mirror: RunningMirror) -> str:
    """The rest of a memory key, as ``memory_key`` makes it for a request without choices."""
    reader = reader_choices("", "", mirror.app[CONFIG].reader.default_pictures)
    return f"{view_key(reader)} {mirror.base}"


# What a reader of each interface language reads in the label of a removed article.
REMOVED_WORDS = {
    "en": ("Removed from China Digital Times on", "this copy was saved on"),
    "zh-Hans": ("从 China Digital Times 删除", "此副本保存于"),
    "zh-Hant": ("從 China Digital Times 刪除", "此副本保存於"),
    "ru": ("Удалено с сайта China Digital Times", "эта копия сохранена"),
    "fa": ("از China Digital Times حذف شد", "این نسخه در"),
    "ug": ("China Digital Times تىن ئۆچۈرۈلدى", "بۇ نۇسخا"),
}


def removal_label(html: str) -> str:
    return str(tree(html).xpath("string(//p[@class='removed'])"))


@pytest.mark.parametrize("reason", REASONS)
async def test_removed_article_is_labelled_in_every_interface_language(
    config: Config, origin: Origin, reason: str
) -> None:
    async with serve_mirror(always_ask(config)) as mirror:
        path = page_path(mirror)
        _, live = await mirror.get(path)
        assert removal_label(live) == ""
        remove_at_origin(origin, ARTICLE_PATH, reason)
        today = datetime.datetime.now(datetime.UTC).date()
        assert set(REMOVED_WORDS) == set(LANGUAGES)
        for tag, (removed, saved) in REMOVED_WORDS.items():
            response, html = await mirror.get(path + f"?hl={tag}")
            assert response.status == 200, tag
            label = removal_label(html)
            assert removed in label and saved in label, (tag, label)
            assert label.count(long_date(today, LANGUAGES[tag])) == 2, (tag, label)
            page = tree(html)
            assert page.xpath("//p[@class='stale']") == []
            assert page.xpath("string(//h1)") == "Western Countries Turn Up the Heat on Xinjiang"
            assert "Xinjiang" in page.xpath("string(//div[@class='body'])")


async def test_an_unreachable_origin_is_told_apart_from_a_removal(
    config: Config, origin: Origin
) -> None:
    async def down(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable

    async with serve_mirror(always_ask(config)) as mirror:
        path = page_path(mirror)
        await mirror.get(path)
        origin.routes[ARTICLE_PATH] = down
        _, html = await mirror.get(path)
    assert "could not be reached" in tree(html).xpath("string(//p[@class='stale'])")
    assert removal_label(html) == ""


async def test_removed_articles_are_listed_newest_first_with_a_feed_and_outlive_a_restart(
    config: Config, origin: Origin
) -> None:
    tuned = always_ask(config)
    async with serve_mirror(tuned) as mirror:
        english, chinese = page_path(mirror), page_path(mirror, CHINESE_URL)
        await mirror.get(english)
        await mirror.get(chinese)
        _, empty = await mirror.get("/s/cdt/removed")
        assert tree(empty).xpath("//ul[@class='entries']/li") == []
        remove_at_origin(origin, ARTICLE_PATH, "404")
        await mirror.get(english)
        remove_at_origin(origin, CHINESE_PATH, "front_page")
        await mirror.get(chinese)
        _, site = await mirror.get("/s/cdt/")
        assert "/s/cdt/removed" in tree(site).xpath("//p[@class='meta']//a/@href")
        response, html = await mirror.get("/s/cdt/removed?hl=ru")
        assert response.status == 200
        listed = tree(html).xpath("//ul[@class='entries']/li/a/@href")
        assert listed == [chinese + "?hl=ru", english + "?hl=ru"]
        assert "Удалена" in tree(html).xpath("string(//ul[@class='entries'])")
        response, body = await mirror.get("/s/cdt/removed/feed")
        assert response.status == 200 and response.content_type == "application/rss+xml"
        feed = feedparser.parse(body)
        assert not feed.bozo
        assert [e.link for e in feed.entries] == [mirror.base + chinese, mirror.base + english]
        assert feed.entries[1].title == "Western Countries Turn Up the Heat on Xinjiang"
        assert feed.entries[1].summary.startswith("Removed from China Digital Times on")
        assert ORIGIN_HOST not in body
        for missing in ("/s/cdt/removed?page=2", "/s/nosuch/removed", "/s/nosuch/removed/feed"):
            response, _ = await mirror.get(missing)
            assert response.status == 404, missing
    await origin.stop()
    async with serve_mirror(tuned) as mirror:
        response, html = await mirror.get(page_path(mirror))
        assert response.status == 200
        assert "Removed from China Digital Times on" in removal_label(html)
        _, listing = await mirror.get("/s/cdt/removed")
        assert len(tree(listing).xpath("//ul[@class='entries']/li")) == 2


async def new_share_link(mirror: RunningMirror, article_html: str) -> str:
    """What a reader gets from the article's "new link" button: a fresh link to share."""
    action = tree(article_html).xpath("//form[@class='share-new']/@action")[0]
    async with mirror.client.post(mirror.base + action) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        page = tree(await response.text())
    [link] = page.xpath("//input[@id='share']/@value")
    assert link.startswith(mirror.base + "/m/")
    return str(link)


def article_body(html: str) -> bytes:
    [body] = tree(html).xpath("//div[@class='body']")
    return bytes(lxml.html.tostring(body))


async def test_two_shares_open_the_same_article_and_rendering_with_one_origin_fetch(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    path = page_path(running_mirror)
    response, html = await running_mirror.get(path)
    assert response.status == 200
    first, second = [await new_share_link(running_mirror, html) for _ in range(2)]
    assert len({first, second, running_mirror.base + path}) == 3
    hits = counters.CACHE_LOOKUPS.counts.get(("hit",), 0)
    for link in (first, second):
        async with running_mirror.client.get(link) as shared:
            assert shared.status == 200
            shared_html = await shared.text()
        assert article_body(shared_html) == article_body(html)
        # The page's own links lead to the page link: the rendering is the one kept for it.
        assert first.removeprefix(running_mirror.base) not in shared_html
        assert second.removeprefix(running_mirror.base) not in shared_html
    assert counters.CACHE_LOOKUPS.counts.get(("hit",), 0) == hits + 2
    assert origin.hits[ARTICLE_PATH] == 1


async def test_the_share_page_is_in_the_readers_language(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get(page_path(running_mirror) + "?hl=ru")
    action = tree(html).xpath("//form[@class='share-new']/@action")[0]
    assert action.endswith("?hl=ru")
    async with running_mirror.client.post(running_mirror.base + action) as response:
        page = tree(await response.text())
    assert page.xpath("string(//h1)") == "Новая ссылка, чтобы поделиться"
    assert page.xpath("//main//a/@href") == [page_path(running_mirror) + "?hl=ru"]


async def test_a_tampered_share_link_is_a_404(running_mirror: RunningMirror) -> None:
    _, html = await running_mirror.get(page_path(running_mirror))
    link = await new_share_link(running_mirror, html)
    for position in (len(running_mirror.base) + 8, len(running_mirror.base) + 30, -2):
        tampered = list(link)
        tampered[position] = "A" if tampered[position] != "A" else "B"
        async with running_mirror.client.get("".join(tampered)) as response:
            assert response.status == 404
    bad_action = "/share/" + link.rsplit("/", 1)[1][:-3] + "xyz"
    async with running_mirror.client.post(running_mirror.base + bad_action) as response:
        assert response.status == 404


async def test_a_blocked_share_link_leaves_the_others_working(
    running_mirror: RunningMirror,
) -> None:
    """A censor in front of the mirror refuses each path on its blocklist, as URL filters and
    chat apps do with a link that spread: the other links to the article still open."""
    _, html = await running_mirror.get(page_path(running_mirror))
    blocked, other = [await new_share_link(running_mirror, html) for _ in range(2)]
    blocklist = {blocked.removeprefix(running_mirror.base)}

    async def censor(request: web.Request) -> web.Response:
        if request.path in blocklist:
            return web.Response(status=403, text="blocked")
        response, body = await running_mirror.get_bytes(request.path_qs)
        return web.Response(status=response.status, body=body)

    app = web.Application()
    app.router.add_get("/{tail:.*}", censor)
    runner, port = await start_site(app)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as reader:
            statuses = {}
            for link in (blocked, other, running_mirror.base + page_path(running_mirror)):
                async with reader.get(link.removeprefix(running_mirror.base)) as response:
                    statuses[link] = response.status
    finally:
        await runner.cleanup()
    assert list(statuses.values()) == [403, 200, 200]
