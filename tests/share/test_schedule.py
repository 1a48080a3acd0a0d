"""``mirror serve``'s publisher: due targets only, one process at a time, kept current."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.settings import Config
from mirror.share import schedule
from mirror.share.export import article_file
from mirror.share.publish import PublishStatus
from mirror.share.schedule import due_targets, periodic_publish, publish_due, publish_lock
from mirror.signedpush import public_key_text, sign
from mirror.web.appkeys import AFTER_COPIES
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CHINESE_URL, Origin, serve_mirror
from tests.support.operator_fixtures import operator_config
from tests.support.paths import CDT
from tests.support.publishing import hold

ARTICLE_KEY = f"cdt/articles/{ARTICLE_PATH.strip('/')}/index.html"
CONTRIBUTOR = b"contributor-key-of-alice-0123456789"


def two_targets(tmp_path: Path) -> str:
    scheduled, by_hand = (tmp_path / "scheduled").as_uri(), (tmp_path / "by-hand").as_uri()
    return (
        f'[[publish]]\nurl = "{scheduled}"\nevery_seconds = 3600\n[[publish]]\nurl = "{by_hand}"\n'
    )


async def test_only_due_targets_are_published_once_per_interval(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, site=two_targets(tmp_path))
    await hold(config, ARTICLE_URL)
    assert [t.url for t in due_targets(config, time.time())] == [config.publish[0].url]
    with publish_lock(config.server.data_dir) as ours:
        assert ours
        assert await publish_due(config) == 0  # another process holds the lock
    assert not (tmp_path / "scheduled").exists()
    assert await publish_due(config) == 1
    assert (tmp_path / "scheduled" / ARTICLE_KEY).is_file()
    assert not (tmp_path / "by-hand").exists()
    assert await publish_due(config) == 0  # tried a moment ago: not due for an hour
    assert due_targets(config, time.time() + 3600) == [config.publish[0]]
    status = PublishStatus.load(config.server.data_dir).targets[config.publish[0].url]
    assert status.publishes == 1 and status.last_success


async def test_serve_publishes_in_the_background(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = operator_config(tmp_path, origin, ca_file, site=two_targets(tmp_path))
    async with periodic_publish(config, look_seconds=0.05):
        for _ in range(600):
            if (tmp_path / "scheduled" / "cdt" / "index.html").is_file():
                break
            await asyncio.sleep(0.05)
    assert (tmp_path / "scheduled" / "cdt" / "index.html").is_file()


async def test_nothing_runs_without_a_scheduled_target(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    by_hand = (tmp_path / "by-hand").as_uri()
    config = operator_config(tmp_path, origin, ca_file, site=f'[[publish]]\nurl = "{by_hand}"')
    async with periodic_publish(config, look_seconds=0.01):
        await asyncio.sleep(0.2)
    assert not (tmp_path / "by-hand").exists() and origin.hits["/feed/"] == 0


async def test_pushes_and_captures_are_published_soon_once_for_a_burst(
    tmp_path: Path, origin: Origin, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the running mirror: two pushes in a row, one publish, the copy current long
    before the target's hour is up; then a contributor's capture, one more."""
    monkeypatch.setattr(schedule, "AFTER_COPY_SECONDS", 2.0)  # both pushes land in it
    key = Ed25519PrivateKey.generate()
    copy = tmp_path / "copy"
    site = (
        f'push_keys = ["{public_key_text(key)}"]\n'
        f'[[publish]]\nurl = "{copy.as_uri()}"\nevery_seconds = 3600\n'
        f'[[contributors]]\nname = "alice"\nkey_sha256 = "{sha256(CONTRIBUTOR).hexdigest()}"\n'
    )
    config = operator_config(tmp_path, origin, ca_file, site=site)
    async with serve_mirror(config) as running:
        await until(lambda: publishes(config) == 1)  # the schedule's first, at start
        assert not (copy / ARTICLE_KEY).exists()
        page = (CDT / "article.html").read_text("utf-8")
        for marker in ("First push.", "Second push."):
            pushed = sign(key, ARTICLE_URL, page.replace("<p>", f"<p>{marker} ", 1).encode())
            async with running.client.post(running.base + "/api/push", data=pushed.to_json()) as r:
                assert r.status == 201
        await until(lambda: "Second push." in text_of(copy / ARTICLE_KEY))
        await until(lambda: publishes(config) == 2)  # the status is saved after the copy
        assert running.app[AFTER_COPIES].publishes == 1

        form = aiohttp.FormData({"url": CHINESE_URL, "key": CONTRIBUTOR.decode()})
        captured = page.replace("<p>", "<p>Captured. ", 1).encode()
        form.add_field("html", captured, filename="page.html", content_type="text/html")
        async with running.client.post(running.base + "/api/capture", data=form) as r:
            assert r.status == 201
        await until(lambda: "Captured." in text_of(copy / "cdt" / article_file(CHINESE_URL)))
        await until(lambda: publishes(config) == 3)
        assert running.app[AFTER_COPIES].publishes == 2
    assert origin.hits[ARTICLE_PATH] == 0


def publishes(config: Config) -> int:
    status = PublishStatus.load(config.server.data_dir).targets
    return next(iter(status.values())).publishes if status else 0


def text_of(path: Path) -> str:
    return path.read_text("utf-8") if path.is_file() else ""


async def until(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)
