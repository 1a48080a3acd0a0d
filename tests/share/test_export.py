"""Static export: the CDT site as plain files that a plain static server can serve."""

from __future__ import annotations

import asyncio
import datetime
import io
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from PIL import Image

from mirror.cli import main
from mirror.links import Kind
from mirror.settings import Config
from mirror.share.export import (
    ExportedArticle,
    article_file,
    find_host_references,
    localise,
    media_file,
    run_export,
    state_dir,
)
from mirror.web.appkeys import LINKS, MIRROR
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    CHINESE_PATH,
    LEAD_IMAGE_PATH,
    Origin,
    serve_mirror,
)
from tests.support.browser import chromium, visit
from tests.support.operator_fixtures import operator_config
from tests.support.pictures import SECRETS, jpeg_with_secrets, photo, serving
from tests.support.text_checks import assert_in_order, visible_text

LINKED_PATH = "/2018/10/xinjiang-legalizes-re-education-camps/"
LINKED_TITLE = "Xinjiang Legalizes Re-education Camps"
PARAGRAPH = (
    "Regional authorities revised the law to describe the camps as vocational training "
    "centres, giving a legal basis to detentions that had been reported for over a year. "
)


def linked_article() -> bytes:
    """An older CDT article that the fixture article links to, linking back to it."""
    body = "".join(f"<p>{PARAGRAPH * 3}</p>" for _ in range(4))
    return (
        f"<!doctype html><html lang='en'><head><title>{LINKED_TITLE}</title></head><body>"
        f"<article><h1>{LINKED_TITLE}</h1>{body}"
        f"<p>Read on: <a href='{ARTICLE_URL}'>Western countries turn up the heat</a> and "
        f"<a href='https://www.reuters.com/article/x'>Reuters</a>.</p></article></body></html>"
    ).encode()


def serve_linked_article(origin: Origin) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=linked_article(), content_type="text/html")

    origin.routes[LINKED_PATH] = handler


async def export(config: Config, out: Path, **kwargs: Any) -> tuple[Any, str]:
    progress = io.StringIO()
    report = await run_export(
        config, "cdt", out, depth=kwargs.pop("depth", 1), stream=progress, **kwargs
    )
    return report, progress.getvalue()


# Pure parts ---------------------------------------------------------------------------------


def test_article_files_stay_inside_the_export() -> None:
    assert article_file(ARTICLE_URL) == f"articles{ARTICLE_PATH}index.html"
    for hostile in (
        "https://chinadigitaltimes.net/../../etc/passwd",
        "https://chinadigitaltimes.net/%2e%2e/x/",
        "https://chinadigitaltimes.net/a/..%2F..%2Fb",
    ):
        path = article_file(hostile)
        assert path.startswith("articles/") and ".." not in path.split("/"), path
    with_query = article_file("https://chinadigitaltimes.net/?p=174102")
    assert with_query != article_file("https://chinadigitaltimes.net/?p=174103")


def test_localise_links_images_and_hosts() -> None:
    pages = {
        ARTICLE_URL: article_file(ARTICLE_URL),
        "https://chinadigitaltimes.net" + LINKED_PATH: article_file(
            "https://chinadigitaltimes.net" + LINKED_PATH
        ),
    }
    image = "https://chinadigitaltimes.net" + LEAD_IMAGE_PATH
    body = (
        f'<p><a href="https://chinadigitaltimes.net{LINKED_PATH}#part">older</a> '
        f'<a href="https://www.reuters.com/x">Reuters</a> <a href="#note">note</a></p>'
        f'<figure><img src="{image}" srcset="{image} 2x"></figure>'
        f'<img src="https://chinadigitaltimes.net/missing.jpg"><blockquote cite="https://x.org/">q</blockquote>'
    )
    result = localise(body, pages[ARTICLE_URL], pages, {image: "media/abc.png"})
    assert 'href="../../10/xinjiang-legalizes-re-education-camps/index.html"' in result
    assert " Reuters " in result and "reuters.com" not in result
    assert 'href="#note"' in result
    assert 'src="../../../../media/abc.png"' in result
    assert "srcset" not in result and "missing.jpg" not in result and "x.org" not in result


def test_host_check_finds_every_kind_of_reference(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        '<img src="//cdn.example/x.png"><a href="https://origin.example/">o</a>'
        '<div style="background:url(https://t.example/p.gif)"></div><a href="../b.html">ok</a>'
    )
    (tmp_path / "s.css").write_text("body { background: url('http://fonts.example/f.woff') }")
    (tmp_path / "feed.xml").write_text(
        "<rss><channel><link>index.html</link><item><link>https://o.example/a</link>"
        '<description>&lt;img src="https://o.example/i.png"&gt;</description></item></channel></rss>'
    )
    found = find_host_references(tmp_path)
    assert len(found) == 6, found


# The export, end to end ---------------------------------------------------------------------


@asynccontextmanager
async def static_server(root: Path) -> AsyncIterator[str]:
    """Python's own plain static file server on loopback; yields its base URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-m", "http.server", "0",
        "--bind", "127.0.0.1", "--directory", str(root),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        port = re.search(r"port (\d+)", line)
        assert port, line
        yield f"http://127.0.0.1:{port[1]}"
    finally:
        process.terminate()
        await process.wait()


async def test_exported_site_reads_in_chromium_from_a_static_server(
    tmp_path: Path, origin: Origin, ca_file: Path, expected: dict[str, Any]
) -> None:
    serve_linked_article(origin)
    config = operator_config(tmp_path, origin, ca_file)
    out = tmp_path / "export"
    report, progress = await export(config, out)
    assert report.ok, report.summary()
    assert (report.pages, report.images) == (3, 1), report.summary()
    assert any("minitrue" in skipped for skipped in report.skipped)
    assert "[" in progress and "3/3" in progress
    assert find_host_references(out) == []
    feed = (out / "feed.xml").read_text()
    assert "Xinjiang" in feed and 'src="media/' in feed.replace("&#34;", '"').replace("&quot;", '"')
    published = {p.relative_to(out).parts[0] for p in out.rglob("*") if p.is_file()}
    assert published == {"index.html", "feed.xml", "articles", "media", "static"}
    async with static_server(out) as base, chromium(javascript=False) as context:
        index = await visit(context, base + "/index.html")
        titles = await index.page.locator("ul.articles a").all_text_contents()
        assert expected["title"] in titles and LINKED_TITLE in titles
        await index.page.click(f"text={expected['title']}")
        await index.page.wait_for_load_state("networkidle")
        text = visible_text(await index.page.content())
        assert_in_order(text, expected["paragraphs_in_order"])
        loaded = await index.page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded == [True]
        await index.page.click(f"a[href$='{LINKED_PATH.strip('/').rsplit('/', 1)[1]}/index.html']")
        await index.page.wait_for_load_state("networkidle")
        assert await index.page.title() == LINKED_TITLE
        await index.page.click("text=Western countries turn up the heat")
        await index.page.wait_for_load_state("networkidle")
        assert await index.page.title() == expected["title"]
        await index.page.click("header.masthead a")
        await index.page.wait_for_load_state("networkidle")
        assert index.page.url == base + "/index.html"
        chinese = await visit(context, base + "/articles" + CHINESE_PATH + "index.html")
        assert "维吾尔" in visible_text(await chinese.page.content())
        hosts = {urlsplit(u).netloc for u in index.requests + chinese.requests}
        assert hosts == {urlsplit(base).netloc}
        assert index.console_errors == [] and chinese.console_errors == []


async def test_export_resumes_and_adds_only_new_articles(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file)
    out = tmp_path / "export"
    first, _ = await export(config, out, depth=0)
    assert (first.pages, first.new_pages) == (2, 2)
    hits = origin.hits.copy()
    serve_linked_article(origin)
    second, _ = await export(config, out, depth=1)
    assert (second.pages, second.new_pages) == (3, 1)
    assert origin.hits[ARTICLE_PATH] == hits[ARTICLE_PATH]  # kept, not fetched again
    page = (out / "articles" / ARTICLE_PATH.strip("/") / "index.html").read_text()
    assert "xinjiang-legalizes-re-education-camps/index.html" in page  # old page, new link
    later = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    third, _ = await export(config, tmp_path / "fresh", depth=1, since=later)
    assert third.pages == 0 and third.ok


async def test_export_command(
    tmp_path: Path, origin: Origin, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    operator_config(tmp_path, origin, ca_file)
    out = tmp_path / "export"
    args = ["export", "--site", "cdt", "--out", str(out), "--depth", "0"]
    code = await asyncio.to_thread(main, [*args, "--config", str(tmp_path / "mirror.toml")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "exported 2 articles (2 new), 1 images" in printed.out
    assert "skipped https://chinadigitaltimes.net/2018/11/minitrue" in printed.out
    assert "2/3 level 0" in printed.err  # the progress, one line per step off a terminal
    unknown = await asyncio.to_thread(main, ["export", "--site", "nope", "--out", str(out)])
    assert unknown == 2


QUOTE = "The move represents unusually broad, coordinated action"  # in a removed blockquote
KEPT_LINK = "lawmakers-urge-sanctions-over-xinjiang-camps/?fbclid=IwAR2xQ9vZ"
HIDDEN_LINK = "spiegel.de"


def operator_rules_config(tmp_path: Path, origin: Origin, ca_file: Path) -> Config:
    """CDT with every kind of rule an operator adds: a downloaded list in the data dir
    that hides the Spiegel link, and the site's own ``remove`` (the blockquotes) and
    ``keep_params`` (``fbclid``, on a link to another CDT article)."""
    config = operator_config(tmp_path, origin, ca_file)
    lists = config.server.data_dir / "filters"
    lists.mkdir(parents=True)
    (lists / "operator.txt").write_text('[Adblock Plus 2.0]\n##a[href*="spiegel.de"]\n')
    site = replace(config.sites[0], remove=("blockquote",), keep_params=("fbclid",))
    return replace(config, sites=(site,))


async def test_exported_article_body_is_the_served_one(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    """The export processes a page with exactly the server's rules.

    "Body equals" is taken at the one point both share: the processed article body
    (``Article.body``, sanitised HTML with absolute origin links) that the server stores
    after fetching it for a reader, and that the export keeps before rendering. Past it
    the two differ by design (the server makes mirror links at render time, the export
    relative file links), so comparing rendered pages would compare link forms, not rules.
    The served page is checked for the rules' effect too, so the stored copy is the one
    the reader saw.
    """
    config = operator_rules_config(tmp_path, origin, ca_file)
    async with serve_mirror(config) as mirror:
        response, html = await mirror.get(mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE))
        assert response.status == 200
        served = (await mirror.app[MIRROR].page(ARTICLE_URL)).stored.article.body
    assert "Western Countries Turn Up the Heat on Xinjiang" in html
    assert QUOTE not in html and HIDDEN_LINK not in html
    out = tmp_path / "export"
    report, _ = await export(config, out, depth=0)
    assert report.ok, report.summary()
    kept_file = state_dir(config, config.sites[0], out) / "articles"
    kept = [ExportedArticle.from_json(p.read_text("utf-8")) for p in kept_file.glob("*.json")]
    exported = next(k.article.body for k in kept if k.article.url == ARTICLE_URL)
    assert QUOTE not in exported and HIDDEN_LINK not in exported and KEPT_LINK in exported
    assert exported == served


async def test_export_writes_the_files_the_mirror_serves(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    origin.routes[LEAD_IMAGE_PATH] = serving(jpeg_with_secrets(photo(900, 506)))
    config = operator_config(tmp_path, origin, ca_file)
    out = tmp_path / "export"
    report, _ = await export(config, out, depth=0)
    assert report.ok, report.summary()
    lead = media_file(f"https://chinadigitaltimes.net{LEAD_IMAGE_PATH}", 900)
    widths = {}
    for width in (360, 720, 900):  # 1080 asked, 900 made: never wider than the picture
        body = (out / lead.replace("-900.", f"-{width}.")).read_bytes()
        made = Image.open(io.BytesIO(body))
        widths[width] = (made.format, made.width, bool(made.getexif()))
        assert all(secret not in body for secret in SECRETS)
    assert widths == {w: ("WEBP", w, False) for w in (360, 720, 900)}
    assert not (out / lead.replace("-900.", "-1080.")).exists()
    page = (out / "articles" / ARTICLE_PATH.strip("/") / "index.html").read_text()
    assert re.search(
        r'srcset="[^"]*-360\.webp 360w, [^"]*-720\.webp 720w, [^"]*-900\.webp 900w"', page
    )
