"""End to end: the CDT article through the running mirror, over HTTPS."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from mirror.links import Kind
from mirror.server import LINKS
from tests.browser import chromium, visit
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, LEAD_IMAGE_PATH, Origin, RunningMirror
from tests.text_checks import assert_in_order, visible_text


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
    assert f'src="{image}"' in html
    response, body = await running_mirror.get_bytes(image)
    assert response.status == 200
    assert body.startswith(b"\x89PNG")
    assert response.content_type == "image/png"


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
