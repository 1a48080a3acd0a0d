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
import pytest
from aiohttp import web

from mirror.article import Article, StoredPage
from mirror.cli import main, run_loop
from mirror.keys import b64encode, load_cache_key, load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.settings import Config, load_config
from mirror.store.cache import PageCache, StoredImage
from mirror.store.sqlite import SqliteStore
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin
from tests.paths import CDT
from tests.servers import RedisServer, free_port
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
    from mirror.pipeline import read_page

    result = run_mirror("extract", "--url", ARTICLE_URL, stdin=(CDT / "article.html").read_bytes())
    served_body = read_page((CDT / "article.html").read_bytes(), "utf-8", ARTICLE_URL).body
    assert served_body in result.stdout.decode("utf-8")


def test_extract_with_a_config_uses_the_sites_rules(tmp_path: Path) -> None:
    """``mirror extract --config`` processes with the server's rules (``load_page_rules``):
    the site's ``remove`` drops the quotes, its ``keep_params`` keeps ``fbclid``."""
    toml = tmp_path / "mirror.toml"
    toml.write_text(
        '[[sites]]\nname = "cdt"\norigin = "https://chinadigitaltimes.net"\n'
        'remove = ["blockquote"]\nkeep_params = ["fbclid"]\n'
    )
    article = (CDT / "article.html").read_bytes()
    result = run_mirror("extract", "--url", ARTICLE_URL, "--config", str(toml), stdin=article)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("utf-8")
    assert "<blockquote" not in out and "?fbclid=IwAR2xQ9vZ" in out
    plain = run_mirror("extract", "--url", ARTICLE_URL, stdin=article).stdout.decode("utf-8")
    assert "<blockquote" in plain and "fbclid" not in plain


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


async def start_serve(toml: Path) -> tuple[asyncio.subprocess.Process, str]:
    """``mirror serve`` as a real process; returns it and the URL it announced."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mirror", "serve", "--config", str(toml),
        stdout=asyncio.subprocess.PIPE, env=ENV,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    url = re.search(r"https?://\S+", line)
    assert url, line
    return process, url[0].rstrip("/")


async def stop_serve(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_two_instances_share_one_redis_and_key_ring(
    config: Config, origin: Origin, redis_server: RedisServer, tmp_path: Path
) -> None:
    toml = tmp_path / "shared.toml"
    toml.write_text(
        (tmp_path / "mirror.toml").read_text().replace(
            "[server]", f'[cache]\nstore = "redis"\nredis_url = "{redis_server.url}"\n\n[server]'
            '\nplain_http = true\npublic_url = "https://mirror.example.org"'
        )
    )  # fmt: skip
    path = LinkBuilder(load_token_ring(config.server.data_dir)).path(ARTICLE_URL, Kind.PAGE)
    first, first_url = await start_serve(toml)
    second, second_url = await start_serve(toml)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(first_url + path) as got:
                assert got.status == 200
                original = await got.text()
            origin.routes.clear()  # the origin is gone: every path is now a 404
            origin.routes.update({ARTICLE_PATH: _gone})
            async with client.get(second_url + path) as got:
                assert got.status == 200
                assert await got.text() == original
    finally:
        await stop_serve(first)
        await stop_serve(second)
    assert "Western Countries Turn Up the Heat on Xinjiang" in original
    assert "Saved copy" not in original
    assert origin.hits[ARTICLE_PATH] == 1


async def _gone(request: web.Request) -> web.Response:
    raise web.HTTPServiceUnavailable


async def test_workers_share_the_socket_and_stop_together(tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text('[server]\nlisten = "127.0.0.1:0"\nplain_http = true\nworkers = 2\n')
    process, url = await start_serve(toml)
    try:
        listing = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        for _ in range(100):
            children = listing.read_text().split()
            if len(children) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(children) == 2
        async with aiohttp.ClientSession() as client:
            for _ in range(10):
                async with client.get(url + "/healthz") as got:
                    assert got.status == 200
    finally:
        await stop_serve(process)
    assert not any(Path(f"/proc/{child}").exists() for child in children)


async def test_cache_stats_purge_and_prune(config: Config, tmp_path: Path) -> None:
    secret = load_cache_key(config.server.data_dir)
    store = SqliteStore(config.server.data_dir / "cache.sqlite3", 1 << 30, 0)
    async with PageCache(store, secret) as cache:
        article = Article(url=ARTICLE_URL, title="t", body="<p>b</p>")
        await cache.put_page(ARTICLE_URL, StoredPage(article, fetched_at=1.0))
        await cache.put_image(ARTICLE_URL, StoredImage("image/png", b"png", 1.0))
    toml = str(tmp_path / "mirror.toml")
    stats = run_mirror("cache", "stats", "--config", toml)
    assert stats.returncode == 0, stats.stderr
    assert b"store: sqlite\nentries: 2\n" in stats.stdout
    purged = run_mirror("cache", "purge", ARTICLE_URL, "--config", toml)
    assert (purged.returncode, purged.stdout) == (0, b"purged 2 entries\n")
    again = run_mirror("cache", "purge", ARTICLE_URL, "--config", toml)
    assert again.returncode == 1
    pruned = run_mirror("cache", "prune", "--config", toml)
    assert (pruned.returncode, pruned.stdout) == (0, b"pruned 0 entries\n")
    assert b"entries: 0\n" in run_mirror("cache", "stats", "--config", toml).stdout


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The command's exit code and everything it printed (the quick way, no new Python)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_keys_list_and_rotate_never_print_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = str(tmp_path / "mirror.toml")
    (tmp_path / "mirror.toml").write_text("[server]\n")
    assert run_in_process(capsys, "keys", "init", "--config", toml)[0] == 0
    ring = load_token_ring(tmp_path / "data")
    rotated = run_in_process(capsys, "keys", "rotate", "--config", toml)
    assert rotated[0] == 0
    listed = run_in_process(capsys, "keys", "list", "--config", toml)
    new = load_token_ring(tmp_path / "data")
    assert listed == (0, f"  {ring.current}\n* {new.current}\n")
    for key in new.keys.values():
        assert b64encode(key) not in rotated[1] + listed[1]
    for name in ("token-keys.json", "cache.key", "manifest.key"):
        assert (tmp_path / "data" / name).exists()


def test_rotate_refuses_a_configured_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text(f'[server]\ntoken_key = "{b64encode(bytes(64))}"\n')
    code, printed = run_in_process(capsys, "keys", "rotate", "--config", str(toml))
    assert code == 2
    assert "server.token_key" in printed
    assert b64encode(bytes(64)) not in printed


def test_config_repr_hides_secrets(tmp_path: Path) -> None:
    from mirror.settings import load_config

    toml = tmp_path / "mirror.toml"
    key, access = b64encode(bytes(range(64))), "access-key-0123456789"
    toml.write_text(f'[server]\ntoken_key = "{key}"\naccess_key = "{access}"\n')
    text = repr(load_config(toml, environ={}))
    assert key not in text and access not in text


def test_cache_command_reports_an_unreachable_redis(tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text(f'[cache]\nstore = "redis"\nredis_url = "redis://127.0.0.1:{free_port()}/0"\n')
    result = run_mirror("cache", "stats", "--config", str(toml))
    assert result.returncode == 2
    assert b"cannot be reached" in result.stderr
    assert b"Traceback" not in result.stderr


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


@pytest.mark.parametrize(("enabled", "expected"), [(True, "uvloop.Loop"), (False, "asyncio")])
def test_serve_runs_on_uvloop_unless_turned_off(enabled: bool, expected: str) -> None:
    config = load_config(None, environ={"MIRROR_SERVER_UVLOOP": str(enabled).lower()})
    loops: list[str] = []

    async def note_loop() -> None:
        loop = type(asyncio.get_running_loop())
        loops.append(f"{loop.__module__}.{loop.__name__}")

    run_loop(config, note_loop())
    assert loops[0].startswith(expected)
