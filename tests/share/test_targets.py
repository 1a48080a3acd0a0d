"""Publish targets: a directory replaced file by file, and an S3 client that names no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.errors import ConfigError
from mirror.settings import PublishTarget
from mirror.settings.tables import publish_url
from mirror.share.targets import DirectoryTarget, Headers, PublishError, S3Target, open_target
from tests.support.s3 import CREDENTIALS

HTML = Headers("text/html; charset=utf-8", "public, max-age=60")


async def test_directory_target_writes_reads_and_deletes(tmp_path: Path) -> None:
    target = open_target(PublishTarget(url=(tmp_path / "copy").as_uri()))
    assert isinstance(target, DirectoryTarget) and not target.serves_encodings
    await target.put("cdt/index.html", b"<p>one</p>", HTML)
    await target.put("cdt/index.html", b"<p>two</p>", HTML)
    assert await target.read("cdt/index.html") == b"<p>two</p>"
    assert [p.name for p in (tmp_path / "copy" / "cdt").iterdir()] == ["index.html"]
    await target.delete("cdt/index.html")
    assert await target.read("cdt/index.html") is None


async def test_directory_target_refuses_keys_that_leave_it(tmp_path: Path) -> None:
    target = DirectoryTarget(tmp_path / "copy")
    with pytest.raises(PublishError):
        await target.put("../outside.html", b"x", HTML)
    assert not (tmp_path / "outside.html").exists()


def test_s3_target_shows_its_url_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    target = open_target(PublishTarget(url="s3://bucket/prefix", endpoint="http://127.0.0.1:9"))
    assert isinstance(target, S3Target) and target.serves_encodings
    assert repr(target) == "S3Target('s3://bucket/prefix')"


def test_target_urls_are_s3_or_absolute_directories() -> None:
    assert publish_url("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert publish_url("file:///srv/copy") == "file:///srv/copy"
    for wrong in ("https://bucket.example/", "file://relative/path", "s3:///no-bucket"):
        with pytest.raises(ConfigError):
            publish_url(wrong)
