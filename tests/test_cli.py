"""The ``mirror`` command as operators run it: ``serve`` (one process and forked workers)
and ``responder`` as real processes, signals and all; the other commands through ``main``
in this process (``run_mirror``), which is their whole code without a new Python each."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import lxml.html
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from prometheus_client.parser import text_string_to_metric_families

from mirror.article import Article, StoredPage
from mirror.cli import main, run_loop
from mirror.errors import UnreadablePage
from mirror.keys import (
    b64encode,
    load_cache_key,
    load_token_ring,
    parse_public_key,
    public_key_text,
)
from mirror.links import Kind, LinkBuilder
from mirror.settings import Config, load_config
from mirror.share.signature import sign_html
from mirror.store.cache import PageCache, Sealer, StoredImage
from mirror.store.sqlite import SqliteStore
from mirror.web.server import LINKS
from mirror.web.tls import fingerprint
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin, RunningMirror, serve_mirror
from tests.support.mail_fixtures import mail, running_relay, send
from tests.support.operator_fixtures import ONION
from tests.support.paths import CDT
from tests.support.servers import RedisServer, free_port
from tests.support.text_checks import assert_in_order, fold
from tests.support.unreadable import UNRULY_PAGE, break_reader_mode

ENV = {**os.environ, "PYTHONWARNINGS": "error"}


@dataclass(frozen=True)
class Ran:
    """What a command run in this process returned and printed, as a subprocess's would be."""

    returncode: int
    stdout: bytes
    stderr: bytes


RunMirror = Callable[..., Ran]


@pytest.fixture
def run_mirror(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunMirror:
    """``mirror ARGS`` with ``stdin`` as its input, run by ``main`` in this process: the
    commands' own code without starting Python for each (``start_serve`` and
    ``tests/test_install.py`` run the program itself)."""

    def run(*args: str, stdin: bytes = b"") -> Ran:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        code = main(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out.encode("utf-8"), captured.err.encode("utf-8"))

    return run


def test_extract_prints_the_article_body(run_mirror: RunMirror, expected: dict[str, Any]) -> None:
    result = run_mirror("extract", "--url", ARTICLE_URL, stdin=(CDT / "article.html").read_bytes())
    assert result.returncode == 0, result.stderr
    page = lxml.html.document_fromstring(result.stdout.decode("utf-8"))
    text = fold(page.text_content())
    assert_in_order(text, expected["paragraphs_in_order"])
    for junk in expected["must_not_contain_text"]:
        assert junk not in text
    assert page.findtext(".//title") == expected["title"]
    assert b"<script" not in result.stdout


def test_extract_matches_the_served_body(run_mirror: RunMirror) -> None:
    from mirror.reading import read_page

    result = run_mirror("extract", "--url", ARTICLE_URL, stdin=(CDT / "article.html").read_bytes())
    served_body = read_page((CDT / "article.html").read_bytes(), "utf-8", ARTICLE_URL).body
    assert served_body in result.stdout.decode("utf-8")


def test_extract_with_a_config_uses_the_sites_rules(run_mirror: RunMirror, tmp_path: Path) -> None:
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


def test_extract_gb18030_from_stdin(run_mirror: RunMirror) -> None:
    url = "https://chinadigitaltimes.net/chinese/2018/11/xinjiang-families/"
    result = run_mirror(
        "extract", "--url", url, stdin=(CDT / "article-zh-gb18030.html").read_bytes()
    )
    assert result.returncode == 0
    out = result.stdout.decode("utf-8")
    assert "维吾尔" in out and "بىز ئۆز تىلىمىزدا" in out


def test_link_prints_a_reader_url(run_mirror: RunMirror, tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text('[server]\npublic_url = "https://mirror.example.org/"\n')
    result = run_mirror("link", ARTICLE_URL, "--config", str(toml))
    assert result.returncode == 0, result.stderr
    url = result.stdout.decode().strip()
    assert url.startswith("https://mirror.example.org/m/")
    links = LinkBuilder(load_token_ring(tmp_path / "data"))
    assert links.open(url.rsplit("/", 1)[1], Kind.PAGE) == ARTICLE_URL


@pytest.mark.parametrize(
    ("command", "toml", "named"),
    [
        ("serve", "[server]\nlisten = 1\n", b"server.listen"),
        ("responder", '[responder]\nlisten = "127.0.0.1:0"\n', b"responder.address"),
    ],
)
def test_bad_config_exits_with_a_message(
    run_mirror: RunMirror, tmp_path: Path, command: str, toml: str, named: bytes
) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text(toml)
    result = run_mirror(command, "--config", str(path))
    assert result.returncode == 2
    assert named in result.stderr


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
                served = await got.text()
    finally:
        await stop_serve(first)
        await stop_serve(second)
    # The same stored article and the same key ring; the header's picture sizes may differ,
    # as the first instance measures the pictures behind the reader's back.
    assert article_text(served) == article_text(original)
    assert set(PICTURE_TOKEN.findall(served)) == set(PICTURE_TOKEN.findall(original)) != set()
    assert "Western Countries Turn Up the Heat on Xinjiang" in original
    assert "Saved copy" not in original
    assert origin.hits[ARTICLE_PATH] == 1


PICTURE_TOKEN = re.compile(r'"/r/([\w-]+)')


def article_text(html: str) -> str:
    return str(lxml.html.document_fromstring(html).xpath('string(//div[@class="body"])'))


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


async def test_cache_stats_purge_and_prune(
    run_mirror: RunMirror, config: Config, tmp_path: Path
) -> None:
    secret = load_cache_key(config.server.data_dir)
    store = SqliteStore(config.server.data_dir / "cache.sqlite3", 1 << 30, 0)
    async with PageCache(store, secret) as cache:
        article = Article(url=ARTICLE_URL, title="t", body="<p>b</p>")
        await cache.put_page(ARTICLE_URL, StoredPage(article, fetched_at=1.0))
        await cache.put_image(ARTICLE_URL, StoredImage("image/png", b"png", 1.0))
    toml = str(tmp_path / "mirror.toml")
    stats = await asyncio.to_thread(run_mirror, "cache", "stats", "--config", toml)
    assert stats.returncode == 0, stats.stderr
    assert b"store: sqlite\nentries: 2\n" in stats.stdout
    purged = await asyncio.to_thread(run_mirror, "cache", "purge", ARTICLE_URL, "--config", toml)
    assert (purged.returncode, purged.stdout) == (0, b"purged 2 entries\n")
    again = await asyncio.to_thread(run_mirror, "cache", "purge", ARTICLE_URL, "--config", toml)
    assert again.returncode == 1
    pruned = await asyncio.to_thread(run_mirror, "cache", "prune", "--config", toml)
    assert (pruned.returncode, pruned.stdout) == (0, b"pruned 0 entries\n")
    emptied = await asyncio.to_thread(run_mirror, "cache", "stats", "--config", toml)
    assert b"entries: 0\n" in emptied.stdout


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


def test_cache_command_reports_an_unreachable_redis(run_mirror: RunMirror, tmp_path: Path) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text(f'[cache]\nstore = "redis"\nredis_url = "redis://127.0.0.1:{free_port()}/0"\n')
    result = run_mirror("cache", "stats", "--config", str(toml))
    assert result.returncode == 2
    assert b"cannot be reached" in result.stderr
    assert b"Traceback" not in result.stderr


def test_extract_explains_which_rule_chose_the_body(run_mirror: RunMirror) -> None:
    result = run_mirror(
        "extract", "--url", ARTICLE_URL, "--explain", stdin=(CDT / "article.html").read_bytes()
    )
    assert result.returncode == 0, result.stderr
    assert b"site rule chinadigitaltimes.net: body //article//div" in result.stderr
    assert b'name="mirror-extracted-by" content="site rule' in result.stdout


def test_extract_says_when_it_serves_the_full_page(run_mirror: RunMirror) -> None:
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


async def test_mirror_push_sends_a_signed_article_to_a_running_mirror(
    run_mirror: RunMirror, config: Config, origin: Origin, tmp_path: Path
) -> None:
    async def run_async(*args: str) -> tuple[int, str]:
        """``mirror ARGS`` off the loop that the mirror and the test origin run on."""
        ran = await asyncio.to_thread(run_mirror, *args)
        return ran.returncode, (ran.stdout + ran.stderr).decode()

    key_file = tmp_path / "publisher.key"
    code, made = await run_async("keys", "publisher", "--out", str(key_file))
    assert code == 0, made
    assert key_file.stat().st_mode & 0o777 == 0o600
    push_keys = re.search(r'push_keys = \["([A-Za-z0-9_-]{43})"\]', made)
    assert push_keys, made
    assert key_file.read_text().strip() not in made
    overwrite = await run_async("keys", "publisher", "--out", str(key_file))
    assert overwrite[0] == 2, "an existing key file is never overwritten"
    toml = tmp_path / "mirror.toml"
    toml.write_text(toml.read_text() + f"{push_keys[0]}\n")
    page = tmp_path / "article.html"
    marker = "Words only the pushed copy has."
    article = (CDT / "article.html").read_text("utf-8")
    page.write_text(article.replace("At the Universal", marker + " At the Universal", 1))
    async with serve_mirror(load_config(toml, environ={})) as mirror:
        digest = fingerprint(config.server.data_dir / "tls-cert.pem")
        pushed = await run_async(
            "push", ARTICLE_URL, str(page), "--key", str(key_file),
            "--mirror", mirror.base, "--fingerprint", digest,
        )  # fmt: skip
        assert pushed[0] == 0, pushed[1]
        assert "201" in pushed[1]
        other_key = tmp_path / "other.key"
        assert (await run_async("keys", "publisher", "--out", str(other_key)))[0] == 0
        refused = await run_async(
            "push", ARTICLE_URL, str(page), "--key", str(other_key),
            "--mirror", mirror.base, "--fingerprint", digest,
        )  # fmt: skip
        assert refused[0] == 1
        assert "403" in refused[1]
        got, text = await mirror.get("/s/cdt" + ARTICLE_PATH)
        assert got.status == 200
        assert marker in text
    assert origin.hits[ARTICLE_PATH] == 0


def test_keys_contributor_prints_the_key_once_and_only_its_hash_for_the_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, printed = run_in_process(capsys, "keys", "contributor", "alice")
    assert code == 0
    key = re.search(r"this key, by a safe channel: (\S+)", printed)
    digest = re.search(r'key_sha256 = "([0-9a-f]{64})"', printed)
    assert key and digest
    assert hashlib.sha256(key[1].encode()).hexdigest() == digest[1]
    assert printed.count(key[1]) == 1
    assert '[[contributors]]\nname = "alice"' in printed


def test_alternates_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "mirror.toml"
    toml.write_text('[publisher]\nalternates = ["https://m2.example.net"]\n')
    config = ["--config", str(toml)]
    added = run_in_process(capsys, "alternates", "add", "https://m3.example.org/", *config)
    assert added == (0, "mirror: https://m3.example.org added\n")
    again = run_in_process(capsys, "alternates", "add", "https://m3.example.org", *config)
    assert again == (0, "mirror: https://m3.example.org is already listed\n")
    listed = run_in_process(capsys, "alternates", "list", *config)
    assert listed == (
        0,
        "https://m2.example.net unchecked shown (config)\nhttps://m3.example.org unchecked shown\n",
    )
    code, printed = run_in_process(
        capsys, "alternates", "remove", "https://m2.example.net", *config
    )
    assert code == 2 and "publisher.alternates" in printed
    bad = run_in_process(capsys, "alternates", "add", "ftp://m4.example.org", *config)
    assert bad[0] == 2 and "not an http(s) URL" in bad[1]
    removed = run_in_process(capsys, "alternates", "remove", "https://m3.example.org", *config)
    assert removed == (0, "mirror: https://m3.example.org removed\n")
    gone = run_in_process(capsys, "alternates", "remove", "https://m3.example.org", *config)
    assert gone == (1, "mirror: https://m3.example.org is not listed\n")


async def test_purge_forgets_a_removed_article_and_its_place_in_the_list(
    run_mirror: RunMirror, config: Config, tmp_path: Path
) -> None:
    secret = load_cache_key(config.server.data_dir)
    path = config.server.data_dir / "cache.sqlite3"
    article = Article(url=ARTICLE_URL, title="t", body="<p>b</p>")
    async with PageCache(SqliteStore(path, 1 << 30, 0), secret) as cache:
        await cache.put_page(ARTICLE_URL, StoredPage(article, fetched_at=1.0, removed_at=2.0))
        await cache.list_removed("cdt", ARTICLE_URL)
        assert len(await cache.removed_pages("cdt")) == 1
    toml = str(tmp_path / "mirror.toml")
    pruned = await asyncio.to_thread(run_mirror, "cache", "prune", "--config", toml)
    assert (pruned.returncode, pruned.stdout) == (0, b"pruned 0 entries\n")
    purged = await asyncio.to_thread(run_mirror, "cache", "purge", ARTICLE_URL, "--config", toml)
    assert (purged.returncode, purged.stdout) == (0, b"purged 1 entries\n")
    async with PageCache(SqliteStore(path, 1 << 30, 0), secret) as cache:
        assert await cache.get_page(ARTICLE_URL) is None
        assert await cache.store.index_items(Sealer(secret).row_key("removed", "cdt")) == []


async def test_the_responder_answers_mail_from_the_command_line(tmp_path: Path) -> None:
    own = "answers@mirror.example.org"
    port = free_port()
    async with running_relay() as relay:
        toml = tmp_path / "mirror.toml"
        toml.write_text(
            f'[server]\npublic_url = "https://mirror.example.org"\n\n'
            f'[responder]\nlisten = "127.0.0.1:{port}"\naddress = "{own}"\n'
            f'relay = "smtp://127.0.0.1:{relay.port}"\n'
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mirror", "responder", "--config", str(toml),
            stdout=asyncio.subprocess.PIPE, env=ENV,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert f"answering mail on 127.0.0.1:{port}".encode() in line
            await send(port, mail("reader@mail.example.net", own), "reader@mail.example.net", own)
            [answer] = relay.mails()
            body = answer.get_body(("plain",))
            assert body is not None and "https://mirror.example.org" in body.get_content()
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_every_worker_serves_the_onion_listener(tmp_path: Path) -> None:
    onion_port = free_port()
    toml = tmp_path / "mirror.toml"
    toml.write_text(
        f'[server]\nlisten = "127.0.0.1:0"\nworkers = 2\nonion_listen = "127.0.0.1:{onion_port}"\n'
        f'[publisher]\nonion = "{ONION}"\n'
    )
    process, _ = await start_serve(toml)
    try:
        onion = f"http://127.0.0.1:{onion_port}"
        # A connection each, so whichever worker the kernel gives one to must answer it.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as client:
            for _ in range(10):
                async with client.get(onion + "/about", headers={"Host": ONION}) as got:
                    assert got.status == 200 and "Strict-Transport-Security" not in got.headers
            async with client.get(onion + "/about") as unnamed:
                assert unnamed.status == 421
    finally:
        await stop_serve(process)


async def test_verify_exits_0_for_an_untouched_download_and_1_for_a_changed_one(
    running_mirror: RunningMirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, published = await running_mirror.get_bytes("/.well-known/mirrors.json")
    key = json.loads(published)["manifest"]["public_key"]
    pem = tmp_path / "mirror.pem"
    pem.write_bytes(
        parse_public_key(key).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    stranger = public_key_text(Ed25519PrivateKey.generate())
    token = running_mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    for extension in ("html", "epub"):
        _, body = await running_mirror.get_bytes(f"/d/{token}.{extension}")
        untouched = tmp_path / f"article.{extension}"
        untouched.write_bytes(body)
        for trusted in (key, str(pem)):
            code, out = run_in_process(capsys, "verify", str(untouched), f"--public-key={trusted}")
            assert code == 0, out
            assert "verified" in out and f"url: {ARTICLE_URL}" in out and "WARNING" not in out
        code, out = run_in_process(capsys, "verify", str(untouched), f"--public-key={stranger}")
        assert (code, "NOT VERIFIED: signed by another key" in out) == (1, True)
        code, out = run_in_process(capsys, "verify", str(untouched))
        assert code == 0 and "WARNING: no --public-key given" in out
    changed = tmp_path / "changed.html"
    html = (tmp_path / "article.html").read_bytes()
    changed.write_bytes(html.replace(b"re-education camps", b"re-education campus", 1))
    code, out = run_in_process(capsys, "verify", str(changed), f"--public-key={key}")
    assert (code, "NOT VERIFIED: the article was changed" in out) == (1, True)
    code, out = run_in_process(capsys, "verify", str(changed))
    assert code == 1


def test_verify_refuses_a_malformed_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.html").write_text("<p>unsigned</p>", "utf-8")
    code, out = run_in_process(capsys, "verify", str(tmp_path / "file.html"), "--public-key=abc")
    assert code == 2 and "not an Ed25519 key" in out
    code, out = run_in_process(capsys, "verify", str(tmp_path / "file.html"))
    assert code == 1 and "NOT VERIFIED: no mirror signature" in out


def test_verify_escapes_what_would_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = Ed25519PrivateKey.generate()
    article = Article(url=ARTICLE_URL, title="Title\x1b[2J\u202etxt.exe", body="<p>x</p>")
    page = "<!doctype html>\n<html><body><p>x</p>\n</body>\n</html>"
    path = tmp_path / "signed.html"
    path.write_bytes(sign_html(page, StoredPage(article=article, fetched_at=0.0), key))
    code, out = run_in_process(capsys, "verify", str(path), f"--public-key={public_key_text(key)}")
    assert code == 0
    assert "title: Title\\u001b[2J\\u202etxt.exe" in out and "\x1b" not in out


async def workers_serving(process: asyncio.subprocess.Process, count: int) -> list[str]:
    """The worker processes of ``process`` once ``count`` of them serve: a worker holds the
    stop signals blocked until its site has started (``mirror.cli._serve_forever``)."""
    listing = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    for _ in range(600):
        children = listing.read_text().split()
        if len(children) == count and all(map(_serving, children)):
            return children
        await asyncio.sleep(0.05)
    raise AssertionError(f"workers not serving: {children}")


def _serving(pid: str) -> bool:
    blocked = re.search(r"^SigBlk:\s*([0-9a-f]+)$", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert blocked, pid
    return not int(blocked[1], 16) & (1 << (signal.SIGTERM - 1))


def workers_toml(tmp_path: Path, base: str) -> Path:
    """``base`` (a config's text) served by two worker processes over plain HTTP."""
    toml = tmp_path / "workers.toml"
    toml.write_text(base.replace("[server]", "[server]\nworkers = 2\nplain_http = true", 1))
    return toml


async def test_two_workers_fetch_a_new_article_once_for_200_readers(
    config: Config, origin: Origin, tmp_path: Path
) -> None:
    article = (CDT / "article.html").read_bytes()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)  # the readers all arrive meanwhile
        return web.Response(body=article, content_type="text/html", charset="utf-8")

    origin.routes[ARTICLE_PATH] = slow
    toml = workers_toml(tmp_path, (tmp_path / "mirror.toml").read_text())
    path = LinkBuilder(load_token_ring(config.server.data_dir)).path(ARTICLE_URL, Kind.PAGE)
    process, url = await start_serve(toml)
    try:
        await workers_serving(process, 2)
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as client:

            async def read(after: float) -> tuple[int, str]:
                await asyncio.sleep(after)  # arrivals spread over the fetch reach both workers
                async with client.get(url + path) as got:
                    return got.status, await got.text()

            answers = await asyncio.gather(*(read(n * 0.002) for n in range(200)))
    finally:
        await stop_serve(process)
    assert {status for status, _ in answers} == {200}
    assert all("Western Countries Turn Up the Heat on Xinjiang" in text for _, text in answers)
    assert origin.hits[ARTICLE_PATH] == 1


def monotone_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a counter or histogram, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.type in ("counter", "histogram")
        for s in family.samples
    }


async def test_metrics_of_two_workers_only_grow_and_count_every_request(tmp_path: Path) -> None:
    toml = workers_toml(tmp_path, '[server]\nlisten = "127.0.0.1:0"\n')
    process, url = await start_serve(toml)
    scrapes: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []
    try:
        await workers_serving(process, 2)
        connector = aiohttp.TCPConnector(limit=0, force_close=True)  # a connection each
        async with aiohttp.ClientSession(connector=connector) as client:

            async def get(path: str) -> str:
                async with client.get(url + path) as got:
                    assert got.status == 200
                    return await got.text()

            for _ in range(20):
                await asyncio.gather(*(get("/healthz") for _ in range(20)))
                scrapes.append(monotone_samples(await get("/metrics")))
    finally:
        await stop_serve(process)
    for before, after in itertools.pairwise(scrapes):
        for sample, value in before.items():
            assert after.get(sample, -1) >= value, sample
    healthz = (("route", "/healthz"), ("status", "200"))
    assert [s[("mirror_requests_total", healthz)] for s in scrapes] == list(range(20, 401, 20))


XHTML = Path(__file__).parent / "fixtures" / "xhtml" / "news-xhtml-strict.html"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(XHTML.read_bytes(), id="declaration"),
        pytest.param(b"\xef\xbb\xbf" + XHTML.read_bytes(), id="bom-before-declaration"),
        pytest.param(
            XHTML.read_bytes().replace(b'encoding="utf-8"', b'encoding="iso-8859-1"'),
            id="declaration-disagrees-with-meta",
        ),
        pytest.param(
            XHTML.read_bytes().replace(b"nine days.", b"nine\x00 days.\x01\x0b\x1f"),
            id="control-characters",
        ),
    ],
)
def test_extract_reads_xhtml_and_control_characters(run_mirror: RunMirror, page: bytes) -> None:
    result = run_mirror("extract", "--url", "https://gazette.test/news/strike", stdin=page)
    assert result.returncode == 0, result.stderr
    text = fold(lxml.html.document_fromstring(result.stdout.decode("utf-8")).text_content())
    assert "ending a stoppage that left container ships" in text
    assert "independent mediator appointed" in text
    assert "xml version" not in text


def test_extract_of_a_page_it_cannot_read_prints_one_line_and_exits_1(
    tmp_path: Path, run_mirror: RunMirror
) -> None:
    """Reader mode forced to raise by a site rule: one line, the error the server shows, and
    no traceback."""
    break_reader_mode(tmp_path / "data")
    toml = tmp_path / "mirror.toml"
    toml.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n\n'
        '[[sites]]\nname = "cdt"\norigin = "https://chinadigitaltimes.net"\n'
    )
    result = run_mirror("extract", "--url", ARTICLE_URL, "--config", str(toml), stdin=UNRULY_PAGE)
    assert result.returncode == 1
    assert result.stdout == b""
    line = f"{UnreadablePage.title}. Reading stopped at its extract stage."
    assert result.stderr.decode() == f"mirror: UnreadablePage: {line}\n"
