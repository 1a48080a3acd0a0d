"""The onion service: Onion-Location on clearnet, plain HTTP and onion links over the onion.

The mirror runs as ``mirror serve`` runs it, one application behind two listeners: HTTPS,
and the plain-HTTP onion listener, asked as Tor asks it (loopback, ``Host`` the onion name).
Every page's links are parsed (``href``, ``src``, ``action``, ``poster``, ``srcset``) and
must stay on the onion: relative, or absolute on the onion name; the one exception is a
link marked as leaving the mirror (to the origin or another site), never to a clearnet
address of the mirror.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest
from lxml.html import HtmlElement

from mirror.addresses import manifest
from mirror.links import Kind
from mirror.settings import Config
from mirror.web.server import CONFIG, LINKS
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin, RunningMirror
from tests.support.operator_fixtures import ONION, OnionListener, operator_config, serve_with_onion
from tests.support.servers import free_port

TITLE = "Western Countries Turn Up the Heat on Xinjiang"
CLEARNET = ("mirror.example.org", "m2.example.net", "127.0.0.1")
URL_ATTRIBUTES = ("href", "src", "action", "poster", "formaction")
ONION_URL = f"http://{ONION}"


Both = tuple[RunningMirror, OnionListener]


@pytest.fixture
async def onion_mirror(tmp_path: Path, origin: Origin, ca_file: Path) -> AsyncIterator[Both]:
    """The mirror with a public URL, an alternate and an onion service, on both listeners."""
    async with serve_with_onion(onion_config(tmp_path, origin, ca_file)) as both:
        yield both


def onion_config(tmp_path: Path, origin: Origin, ca_file: Path, extra: str = "") -> Config:
    return operator_config(
        tmp_path,
        origin,
        ca_file,
        f'public_url = "https://mirror.example.org"\nonion_listen = "127.0.0.1:{free_port()}"\n'
        f'[publisher]\nonion = "{ONION}"\nalternates = ["https://m2.example.net"]\n{extra}',
    )


def page_urls(html: str) -> list[tuple[HtmlElement, str]]:
    """Every URL a page makes its reader's browser follow or fetch, with its element."""
    found = []
    for element in lxml.html.document_fromstring(html).iter():
        if not isinstance(element.tag, str):
            continue
        values = (element.get(attribute) for attribute in URL_ATTRIBUTES)
        found += [(element, value) for value in values if value is not None]
        for candidate in (element.get("srcset") or "").split(","):
            if candidate.strip():
                found.append((element, candidate.split()[0]))
    return found


def assert_stays_on_onion(html: str, marked: bool = True) -> int:
    """Every link relative or on the onion name, or one leaving the mirror (marked as such on
    a page, ``marked``), never for a clearnet address of it; returns how many there were."""
    urls = page_urls(html)
    for element, url in urls:
        parts = urlsplit(url)
        if not parts.scheme and not parts.netloc:
            continue
        if parts.scheme == "http" and parts.hostname == ONION:
            continue
        if parts.scheme == "data" and element.get("src") == url:
            continue  # an image inside the page itself
        assert element.tag == "a", url
        assert not marked or "external" in element.get("class", "").split(), url
        assert parts.hostname not in CLEARNET, url
    for address in CLEARNET:
        assert address not in html, address
    return len(urls)


async def test_clearnet_answers_carry_onion_location(onion_mirror: Both) -> None:
    clearnet, onion = onion_mirror
    token_path = clearnet.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    for path in ("/", f"{token_path}?lite=1", f"{token_path}?lite=1", "/nowhere?x=%20"):
        # the article twice: rendered, then answered from memory at the front door
        response, html = await clearnet.get(path)
        assert response.headers["Onion-Location"] == ONION_URL + path, path
        assert "Strict-Transport-Security" in response.headers
    notice = lxml.html.document_fromstring(html).find_class("alternates")[0]
    assert [a.get("href") for a in notice.iter("a")] == [
        "https://m2.example.net/",
        f"{ONION_URL}/",
    ]
    # A clearnet request naming the onion is still a clearnet one: the listener decides.
    named, _ = await clearnet.get("/", headers={"Host": ONION})
    assert named.headers["Onion-Location"] == f"{ONION_URL}/"
    assert "Strict-Transport-Security" in named.headers
    over, _ = await onion.get("/")
    assert "Onion-Location" not in over.headers


async def test_over_onion_the_article_is_plain_http_with_onion_links(
    onion_mirror: Both, origin: Origin
) -> None:
    clearnet, onion = onion_mirror
    token_path = clearnet.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    _, clear_html = await clearnet.get(token_path)  # kept in memory for clearnet readers
    bodies = []
    for path in (token_path, token_path, "/s/cdt" + ARTICLE_PATH):
        response, html = await onion.get(path, allow_redirects=False)
        assert response.status == 200, path
        assert response.url.scheme == "http" and not response.history
        assert "Strict-Transport-Security" not in response.headers
        assert "Onion-Location" not in response.headers
        assert TITLE in html
        share = lxml.html.document_fromstring(html).get_element_by_id("share")
        assert share.get("value") == ONION_URL + token_path
        assert assert_stays_on_onion(html) > 20
        assert "alternates" not in html  # the line's clearnet addresses would leave it
        bodies.append(html)
    assert bodies[0] == bodies[1] == bodies[2] != clear_html
    assert origin.hits[ARTICLE_PATH] == 1  # one stored copy behind every address


async def test_every_onion_page_feed_and_download_stays_on_the_onion(onion_mirror: Both) -> None:
    clearnet, onion = onion_mirror
    token = clearnet.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    pages = ("/", "/about", "/s/cdt/", "/link-to-us", "/nowhere", "/m/tampered")
    for path in pages:
        response, html = await onion.get(path, allow_redirects=False)
        assert response.status in {200, 404}, path
        assert "Strict-Transport-Security" not in response.headers
        assert assert_stays_on_onion(html) > 0, path
    # The saved file is read away from the mirror: its links to the mirror are the onion's.
    response, saved = await onion.get(f"/d/{token}.html")
    assert response.status == 200 and TITLE in saved
    assert assert_stays_on_onion(saved, marked=False) > 0
    assert f"{ONION_URL}/m/{token}" in saved
    _, feed = await onion.get("/s/cdt/feed")
    root = lxml.etree.fromstring(feed.encode("utf-8"))
    links = [e.text or "" for e in root.iter("link")]  # the channel's and each item's
    links += [e.get("href") or "" for e in root.iter() if e.get("href")]  # atom:link self
    assert len(links) == 5 and all(link.startswith(ONION_URL + "/") for link in links), links
    for address in CLEARNET:
        assert address not in feed, address
    async with onion.client.post(
        onion.base + "/open",
        data={"url": ARTICLE_URL},
        headers={"Host": ONION},
        allow_redirects=False,
    ) as opened:
        assert opened.status == 303
        assert opened.headers["Location"] == f"/m/{token}"


async def test_manifest_names_the_onion_alike_on_both(onion_mirror: Both) -> None:
    clearnet, onion = onion_mirror
    _, signed = await clearnet.get_bytes("/.well-known/mirrors.json")
    async with onion.client.get(
        onion.base + "/.well-known/mirrors.json", headers={"Host": ONION}
    ) as response:
        assert await response.read() == signed
    key = manifest.load_signing_key(clearnet.app[CONFIG].server.data_dir).public_key()
    assert manifest.verify(signed, key).mirrors == (
        "https://mirror.example.org",
        "https://m2.example.net",
        ONION_URL,
    )


async def test_onion_listener_answers_only_the_onion_name(onion_mirror: Both) -> None:
    clearnet, onion = onion_mirror
    token_path = clearnet.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    kept, _ = await onion.get(token_path)
    assert kept.status == 200
    for host in (f"{ONION}:80", ONION.upper()):
        response, _ = await onion.get(token_path, host=host)
        assert response.status == 200, host
    for host in ("mirror.example.org", "127.0.0.1", f"{ONION}:8080", "evil." + ONION):
        for path in ("/", token_path):  # the kept article is not handed out either
            response, body = await onion.get(path, host=host)
            assert response.status == 421, (host, path)
            assert TITLE not in body and not re.search(r"/m/\w", body)
    metrics, _ = await onion.get("/metrics")
    assert metrics.status == 404  # the operator's, asked of the clearnet listener
    scraped, _ = await clearnet.get("/metrics")
    assert scraped.status == 200
