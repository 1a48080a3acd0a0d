"""Publisher integration: articles by path, "link to us", the signed manifest, alternates."""

from __future__ import annotations

from pathlib import Path

import lxml.html

from mirror.addresses import manifest
from mirror.links import Kind
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin, serve_mirror
from tests.support.operator_fixtures import operator_config

TITLE = "Western Countries Turn Up the Heat on Xinjiang"
PUBLISHED = 'public_url = "https://mirror.example.org"\n[publisher]\n'
ALTERNATES = PUBLISHED + 'alternates = ["https://m2.example.net/", "http://abcdefghijklmnop.onion"]'


async def test_article_by_origin_path_is_the_token_article(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    async with serve_mirror(operator_config(tmp_path, origin, ca_file)) as mirror:
        by_path, html = await mirror.get("/s/cdt" + ARTICLE_PATH)
        by_token, same = await mirror.get(mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE))
        assert (by_path.status, by_token.status) == (200, 200)
        assert TITLE in html and html == same
        assert origin.hits[ARTICLE_PATH] == 1  # one stored copy behind both addresses
        unknown, _ = await mirror.get("/s/nosuchsite" + ARTICLE_PATH)
        assert unknown.status == 404


async def test_path_cannot_leave_the_site(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    async with serve_mirror(operator_config(tmp_path, origin, ca_file)) as mirror:
        for path in (
            "/s/cdt/%2F%2Fwww.chinadigitaltimes.net/",
            "/s/cdt/@www.chinadigitaltimes.net/",
        ):
            response, _ = await mirror.get(path)
            assert response.status == 404  # the origin's own 404, never another host's page
        # both reached the origin as paths on its own host (www. would have asked for "/")
        assert sum(origin.hits.values()) == 2
        assert all("www.chinadigitaltimes.net" in path for path in origin.hits), origin.hits


async def test_link_to_us_page_and_badge(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    config = operator_config(tmp_path, origin, ca_file, PUBLISHED)
    async with serve_mirror(config) as mirror:
        response, html = await mirror.get("/link-to-us")
        assert response.status == 200
        text = lxml.html.document_fromstring(html).text_content()
        assert '<a href="https://mirror.example.org/">' in text
        assert "https://mirror.example.org/s/cdt/2024/01/an-article/" in text
        public_key = manifest.public_key_text(manifest.load_signing_key(config.server.data_dir))
        assert public_key in text
        badge, svg = await mirror.get("/badge.svg")
        assert badge.content_type == "image/svg+xml" and svg.startswith("<svg")


async def test_manifest_lists_addresses_and_verifies(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, ALTERNATES)
    async with serve_mirror(config) as mirror:
        response, body = await mirror.get_bytes("/.well-known/mirrors.json")
    assert response.content_type == "application/json"
    key = manifest.load_signing_key(config.server.data_dir).public_key()
    assert manifest.verify(body, key).mirrors == (
        "https://mirror.example.org",
        "https://m2.example.net",
        "http://abcdefghijklmnop.onion",
    )


async def test_every_page_names_the_alternates(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, ALTERNATES)
    async with serve_mirror(config) as mirror:
        for path in ("/", "/s/cdt" + ARTICLE_PATH, "/link-to-us", "/m/tampered", "/nowhere"):
            _, html = await mirror.get(path)
            notice = lxml.html.document_fromstring(html).find_class("alternates")
            assert notice, path
            assert "If this address is blocked, try:" in notice[0].text_content()
            hrefs = [a.get("href") for a in notice[0].iter("a")]
            assert hrefs == ["https://m2.example.net/", "http://abcdefghijklmnop.onion/"]


async def test_no_alternates_no_notice(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    async with serve_mirror(operator_config(tmp_path, origin, ca_file)) as mirror:
        _, html = await mirror.get("/")
    assert "If this address is blocked" not in html
