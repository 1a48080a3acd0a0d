"""The ``mirror`` command as operators run it: real subprocesses."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import lxml.html

from mirror.keys import load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.settings import Config
from tests.conftest import ARTICLE_URL, CDT
from tests.text_checks import assert_in_order, fold

ENV = {**os.environ, "PYTHONWARNINGS": "error"}


def run_mirror(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mirror", *args],
        input=stdin,
        capture_output=True,
        check=False,
        env=ENV,
        timeout=60,
    )


def test_extract_prints_the_article_body(expected: dict[str, Any]) -> None:
    result = run_mirror("extract", "--url", ARTICLE_URL, stdin=(CDT / "article.html").read_bytes())
    assert result.returncode == 0, result.stderr
    page = lxml.html.document_fromstring(result.stdout.decode("utf-8"))
    text = fold(page.text_content())
    assert_in_order(text, expected["paragraphs_in_order"])
    for junk in expected["must_not_contain_text"]:
        assert junk not in text
    assert page.findtext(".//title") == expected["title"]
    assert b"<script" not in result.stdout


async def test_extract_matches_the_served_body(config: Config, expected: dict[str, Any]) -> None:
    from mirror.pipeline import process_page

    result = run_mirror("extract", "--url", ARTICLE_URL, stdin=(CDT / "article.html").read_bytes())
    served_body = process_page((CDT / "article.html").read_bytes(), "utf-8", ARTICLE_URL).body
    assert served_body in result.stdout.decode("utf-8")


def test_extract_gb18030_from_stdin() -> None:
    url = "https://chinadigitaltimes.net/chinese/2018/11/xinjiang-families/"
    result = run_mirror(
        "extract", "--url", url, stdin=(CDT / "article-zh-gb18030.html").read_bytes()
    )
    assert result.returncode == 0
    out = result.stdout.decode("utf-8")
    assert "维吾尔" in out and "بىز ئۆز تىلىمىزدا" in out


def test_link_prints_a_reader_url(tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text('[server]\npublic_url = "https://mirror.example.org/"\n')
    result = run_mirror("link", ARTICLE_URL, "--config", str(toml))
    assert result.returncode == 0, result.stderr
    url = result.stdout.decode().strip()
    assert url.startswith("https://mirror.example.org/m/")
    links = LinkBuilder(load_token_ring(tmp_path / "data"))
    assert links.open(url.rsplit("/", 1)[1], Kind.PAGE) == ARTICLE_URL


def test_bad_config_exits_with_a_message(tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text("[server]\nlisten = 1\n")
    result = run_mirror("serve", "--config", str(toml))
    assert result.returncode == 2
    assert b"server.listen" in result.stderr


async def test_serve_answers_over_https_and_prints_fingerprint(tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text('[server]\nlisten = "127.0.0.1:0"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror",
        "serve",
        "--config",
        str(toml),
        stdout=asyncio.subprocess.PIPE,
        env=ENV,
    )
    try:
        assert process.stdout is not None
        url_line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        print_line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        url = re.search(r"https://\S+", url_line)
        digest = re.search(r"fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})", print_line)
        assert url and digest, (url_line, print_line)
        pinned = aiohttp.Fingerprint(bytes.fromhex(digest[1].replace(":", "")))
        connector = aiohttp.TCPConnector(ssl=pinned)
        async with aiohttp.ClientSession(connector=connector) as client, client.get(url[0]) as got:
            assert got.status == 200
            assert "Strict-Transport-Security" in got.headers
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert (tmp_path / "data" / "tls-cert.pem").exists()


def test_extract_explains_which_rule_chose_the_body() -> None:
    result = run_mirror(
        "extract", "--url", ARTICLE_URL, "--explain", stdin=(CDT / "article.html").read_bytes()
    )
    assert result.returncode == 0, result.stderr
    assert b"site rule chinadigitaltimes.net: body //article//div" in result.stderr
    assert b'name="mirror-extracted-by" content="site rule' in result.stdout


def test_extract_says_when_it_serves_the_full_page() -> None:
    page = b"<html><body><div><a href='/a'>Home</a> Opening hours: 9 to 5.</div></body></html>"
    result = run_mirror("extract", "--url", "https://shop.example/hours", "--explain", stdin=page)
    assert result.returncode == 0, result.stderr
    assert b"full page" in result.stderr
    assert b'class="full-page"' in result.stdout
    assert b"Opening hours: 9 to 5." in result.stdout
