"""The live list of alternate addresses: kept in the data dir, followed without a restart."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import lxml.html
import pytest

from mirror.addresses import alternates, manifest
from mirror.addresses.alternates import AddressBook, State, Status, address_book
from mirror.cli import main
from mirror.errors import ConfigError
from mirror.links import Kind
from mirror.settings import Config
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_URL, Origin, RunningMirror, serve_mirror
from tests.support.operator_fixtures import operator_config

CONFIGURED = """public_url = "https://mirror.example.org"
[publisher]
alternates = ["https://m2.example.net/"]
"""
NEW = "https://m3.example-cdn.net"


def config_for(tmp_path: Path, origin: Origin, ca_file: Path) -> Config:
    return operator_config(tmp_path, origin, ca_file, CONFIGURED)


def run(tmp_path: Path, *args: str) -> int:
    return main(["alternates", *args, "--config", str(tmp_path / "mirror.toml")])


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait for ``check`` to hold: the mirror looks at the files once a second."""
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("never held")


def page_line(html: str) -> list[str]:
    notice = lxml.html.document_fromstring(html).find_class("alternates")
    return [str(a.get("href")) for a in notice[0].iter("a")] if notice else []


async def published(mirror: RunningMirror) -> tuple[str, ...]:
    """The manifest's addresses, verified against the key the mirror publishes."""
    _, page = await mirror.get("/link-to-us")
    key_text = lxml.html.document_fromstring(page).find_class("public-key")[0].text_content()
    _, document = await mirror.get_bytes("/.well-known/mirrors.json")
    return manifest.verify(document, manifest.parse_public_key(key_text)).mirrors


async def test_add_then_remove_on_a_running_mirror(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = config_for(tmp_path, origin, ca_file)
    async with serve_mirror(config) as mirror:
        article = mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
        assert await published(mirror) == ("https://mirror.example.org", "https://m2.example.net")
        _, html = await mirror.get(article)
        _, html = await mirror.get(article)  # now kept in memory, answered at the front door
        assert page_line(html) == ["https://m2.example.net/"]

        assert run(tmp_path, "add", NEW + "/") == 0

        async def listed() -> bool:
            return NEW in await published(mirror)

        await eventually(listed)
        assert await published(mirror) == (
            "https://mirror.example.org",
            "https://m2.example.net",
            NEW,
        )
        for path in (article, "/", "/about"):
            _, html = await mirror.get(path)
            assert page_line(html) == ["https://m2.example.net/", NEW + "/"], path

        assert run(tmp_path, "remove", NEW) == 0

        async def gone() -> bool:
            return NEW not in await published(mirror)

        await eventually(gone)
        _, html = await mirror.get(article)
        assert page_line(html) == ["https://m2.example.net/"]


def test_add_is_idempotent_and_remove_refuses_configured(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = config_for(tmp_path, origin, ca_file)
    assert alternates.add(config, NEW + "/") == (NEW, True)
    assert alternates.add(config, NEW) == (NEW, False)
    assert alternates.add(config, "https://m2.example.net") == ("https://m2.example.net", False)
    with pytest.raises(ConfigError, match=r"publisher\.alternates"):
        alternates.remove(config, "https://m2.example.net/")
    assert alternates.remove(config, "https://nowhere.example") == (
        "https://nowhere.example",
        False,
    )
    assert address_book(config).addresses() == ("https://m2.example.net", NEW)
    for bad in ("javascript:alert(1)", "https://user@x.example", "https://x.example/?a=1", "x"):
        with pytest.raises(ConfigError):
            alternates.add(config, bad)


def test_writes_are_whole_files(tmp_path: Path, origin: Origin, ca_file: Path) -> None:
    config = config_for(tmp_path, origin, ca_file)
    for number in range(5):
        alternates.add(config, f"https://n{number}.example.net")
    data_dir = config.server.data_dir
    listed = json.loads((data_dir / alternates.LIST_FILE).read_text())
    assert len(listed["addresses"]) == 5
    leftovers = [p.name for p in data_dir.iterdir() if p.name.startswith("alternates.json.")]
    assert leftovers == []


def test_dead_and_impostor_addresses_are_not_shown(tmp_path: Path) -> None:
    configured = ("https://a.example", "https://b.example", "https://c.example")
    book = AddressBook(tmp_path, configured)
    assert book.shown() == configured
    alternates.record(
        tmp_path,
        {
            "https://a.example": Status(State.OK, "2026-12-01T00:00:00Z", blocked_in=("CN",)),
            "https://b.example": Status(State.DEAD, "2026-12-01T00:00:00Z", "no answer"),
            "https://c.example": Status(State.IMPOSTOR, "2026-12-01T00:00:00Z", "another key"),
        },
        "2026-12-01T00:00:00Z",
    )
    fresh = AddressBook(tmp_path, configured)
    assert fresh.shown() == ("https://a.example",)  # blocked in one country: still shown
    assert fresh.addresses() == configured
    assert fresh.statuses()["https://b.example"].detail == "no answer"


def test_changes_are_seen_at_most_a_second_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes: list[int] = []
    book = AddressBook(tmp_path, (), on_change=lambda: changes.append(1))
    (tmp_path / alternates.LIST_FILE).write_text('{"addresses": ["https://x.example"]}')
    assert book.shown() == ()  # looked less than a second ago: not yet
    monkeypatch.setattr(alternates, "REREAD_SECONDS", 0.0)
    assert book.shown() == ("https://x.example",)
    assert changes == [1]
    assert book.shown() == ("https://x.example",)
    assert changes == [1]  # unchanged files: no second call


def test_a_damaged_file_keeps_the_last_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alternates, "REREAD_SECONDS", 0.0)
    (tmp_path / alternates.LIST_FILE).write_text('{"addresses": ["https://x.example"]}')
    book = AddressBook(tmp_path, ())
    assert book.shown() == ("https://x.example",)
    (tmp_path / alternates.LIST_FILE).write_text('{"addresses": "https://')
    os.utime(tmp_path / alternates.LIST_FILE, ns=(1, 1))
    assert book.shown() == ("https://x.example",)
