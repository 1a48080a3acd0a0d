"""Publishing: the CDT export brought up to date on a real S3 API (moto's server over HTTP
on loopback) and on a directory, incrementally, in order, and across a killed publisher."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import posixpath
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import lxml.html
import pytest

from mirror.addresses import manifest
from mirror.cli import main
from mirror.settings import Config
from mirror.share.export import DOWNLOADS
from mirror.share.publish import (
    INDEX_KEY,
    STAGING_DIR,
    PublishStatus,
    headers_for,
    publish_tree,
    run_publish,
)
from mirror.share.signature import verify
from mirror.share.targets import DirectoryTarget, PublishError
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin, open_cache
from tests.support.browser import chromium, visit
from tests.support.operator_fixtures import operator_config
from tests.support.publishing import hold
from tests.support.s3 import CREDENTIALS, S3Server, s3_server
from tests.support.text_checks import assert_in_order, visible_text

BUCKET = "collateral"
PREFIX = "cdt-copy/v1"
ARTICLE_KEY = f"cdt/articles/{ARTICLE_PATH.strip('/')}/index.html"
PUBLIC_READ = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
)
ENTRY_KEYS = {"cdt/index.html", "cdt/feed.xml", INDEX_KEY}
DOWNLOAD_KEYS = {posixpath.join(posixpath.dirname(ARTICLE_KEY), n) for n in DOWNLOADS.values()}


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials from the environment, as boto3's standard chain reads them; no profile."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(aws_environment: None) -> Iterator[S3Server]:
    with s3_server() as server:
        client(server).create_bucket(Bucket=BUCKET)
        yield server


def client(server: S3Server) -> Any:
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")


def s3_config(tmp_path: Path, origin: Origin, ca_file: Path, server: S3Server) -> Config:
    target = f'[[publish]]\nurl = "s3://{BUCKET}/{PREFIX}"\nendpoint = "{server.url}"\n'
    return operator_config(tmp_path, origin, ca_file, site=target)


def published(server: S3Server) -> dict[str, bytes]:
    """Every object under the prefix, decoded, by key relative to the prefix."""
    s3 = client(server)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/").get("Contents", [])
    objects = {}
    for entry in listed:
        answer = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
        body = answer["Body"].read()
        if answer.get("ContentEncoding") == "gzip":
            body = gzip.decompress(body)
        objects[entry["Key"][len(PREFIX) + 1 :]] = body
    return objects


def missing_links(objects: dict[str, bytes]) -> list[str]:
    """Links and images of published pages that point at no published object."""
    missing = []
    for key, body in objects.items():
        if not key.endswith(".html"):
            continue
        root = lxml.html.document_fromstring(body)
        for element in root.iter():
            for name in ("href", "src"):
                url = element.get(name) if isinstance(element.tag, str) else None
                if not url or url.startswith("#") or urlsplit(url).scheme:
                    continue
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(key), unquote(url.split("#")[0]))
                )
                if target not in objects:
                    missing.append(f"{key} -> {url}")
    return missing


def assert_same_as_staged(config: Config, objects: dict[str, bytes]) -> None:
    """Every staged file is published whole, byte for byte."""
    staged = config.server.data_dir / STAGING_DIR
    files = {p.relative_to(staged).as_posix(): p for p in staged.rglob("*") if p.is_file()}
    assert set(objects) == set(files) | {INDEX_KEY}
    for key, path in files.items():
        assert objects[key] == path.read_bytes(), key


async def change_stored_article(config: Config, url: str) -> None:
    """The mirror now holds a new version of ``url`` (a refresh, a push)."""
    async with open_cache(config) as cache:
        stored = await cache.get_page(url)
        assert stored is not None
        body = stored.article.body + "<p>Correction: the law was revised in October.</p>"
        article = replace(stored.article, body=body)
        changed = replace(stored, article=article, fetched_at=time.time())
        await cache.put_page(url, changed)


async def test_republish_uploads_only_the_changed_article_and_the_indexes(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server
) -> None:
    config = s3_config(tmp_path, origin, ca_file, s3)
    await hold(config, ARTICLE_URL)
    [first] = await run_publish(config)
    keys = set(s3.puts(BUCKET))
    assert f"{PREFIX}/{ARTICLE_KEY}" in keys and f"{PREFIX}/{INDEX_KEY}" in keys
    assert len(keys) == first.objects + 1  # every object, then the index
    assert any("/media/" in k for k in keys) and any("/static/" in k for k in keys)
    objects = published(s3)
    assert not missing_links(objects)
    assert_same_as_staged(config, objects)

    s3.requests.clear()
    [unchanged] = await run_publish(config)
    assert s3.puts(BUCKET) == [f"{PREFIX}/{INDEX_KEY}"] and unchanged.uploaded == 1

    await change_stored_article(config, ARTICLE_URL)
    s3.requests.clear()
    [second] = await run_publish(config)
    uploaded = {k.removeprefix(PREFIX + "/") for k in s3.puts(BUCKET)}
    assert ARTICLE_KEY in uploaded and INDEX_KEY in uploaded
    assert uploaded >= DOWNLOAD_KEYS  # the new version's signed files too
    assert uploaded <= {ARTICLE_KEY} | DOWNLOAD_KEYS | ENTRY_KEYS, uploaded - ENTRY_KEYS
    assert second.uploaded == len(uploaded)
    assert b"Correction: the law was revised" in published(s3)[ARTICLE_KEY]


async def test_objects_carry_type_caching_and_encoding(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server
) -> None:
    config = s3_config(tmp_path, origin, ca_file, s3)
    await hold(config, ARTICLE_URL)
    await run_publish(config)
    s3_client = client(s3)
    head = {
        key: s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}")
        for key in (ARTICLE_KEY, "cdt/index.html", "cdt/feed.xml")
    }
    article = head[ARTICLE_KEY]
    assert article["ContentType"] == "text/html; charset=utf-8"
    assert article["ContentEncoding"] == "gzip"
    assert article["CacheControl"] == "public, max-age=300"
    assert head["cdt/index.html"]["CacheControl"] == "public, max-age=60"
    assert head["cdt/feed.xml"]["ContentType"] == "application/xml; charset=utf-8"
    media = next(k for k in published(s3) if k.startswith("cdt/media/"))
    image = s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{media}")
    assert image["CacheControl"] == "public, max-age=31536000, immutable"
    assert image["ContentType"].startswith("image/") and "ContentEncoding" not in image


def test_headers_by_kind_of_object() -> None:
    assert headers_for("cdt/media/ab12.png", compressed=False).cache_control.endswith("immutable")
    assert headers_for("cdt/static/mirror.css", compressed=True).content_encoding == "gzip"
    assert headers_for("cdt/feed.xml", compressed=False).cache_control == "public, max-age=60"


async def test_a_killed_publish_is_completed_by_the_next(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server
) -> None:
    config = s3_config(tmp_path, origin, ca_file, s3)
    await hold(config, ARTICLE_URL)
    s3.put_delay = 0.3
    publisher = subprocess.Popen(
        [sys.executable, "-m", "mirror", "publish", "--config", str(tmp_path / "mirror.toml")],
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts the process slowly
        while time.monotonic() < deadline and publisher.poll() is None:
            if any("/articles/" in k for k in s3.puts(BUCKET)):
                break
            await asyncio.sleep(0.01)
        assert publisher.poll() is None, "the publisher ended before it could be killed"
        publisher.send_signal(signal.SIGKILL)
    finally:
        publisher.wait()
    s3.put_delay = 0.0
    halfway = published(s3)
    assert any("/articles/" in k for k in halfway), "killed before any page was up"
    assert not ENTRY_KEYS & set(halfway)  # killed before the entry pages and the index
    assert not missing_links(halfway)

    [report] = await run_publish(config)
    objects = published(s3)
    assert set(objects) >= ENTRY_KEYS | {ARTICLE_KEY}
    assert report.objects + 1 == len(objects)
    assert not missing_links(objects)
    assert_same_as_staged(config, objects)


async def test_removed_articles_stay_and_prune_deletes_only_what_is_gone(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    out = tmp_path / "site-copy"
    config = operator_config(tmp_path, origin, ca_file, site=f'[[publish]]\nurl = "{out.as_uri()}"')
    await hold(config, ARTICLE_URL)
    await run_publish(config)
    assert (out / ARTICLE_KEY).is_file()

    del origin.routes[ARTICLE_PATH]  # removed at the origin, and from its feed
    origin.routes["/feed/"] = origin.routes.pop("/feed/")
    await run_publish(config, prune=True)
    assert (out / ARTICLE_KEY).is_file()  # the export kept it, so it stays published

    stray = {"old/page.html": tmp_path / "old.html"}
    stray["old/page.html"].write_text("<p>gone</p>")
    target = DirectoryTarget(out)
    staged = config.server.data_dir / STAGING_DIR
    objects = {p.relative_to(staged).as_posix(): p for p in staged.rglob("*") if p.is_file()}
    await publish_tree(objects | stray, target)
    await publish_tree(objects, target)
    assert (out / "old/page.html").is_file()  # no --prune: never deleted
    report = await publish_tree(objects, target, prune=True)
    assert report.deleted == 1 and not (out / "old/page.html").exists()
    assert (out / ARTICLE_KEY).is_file()


async def test_credentials_stay_out_of_errors_status_and_repr(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server
) -> None:
    target = f'[[publish]]\nurl = "s3://no-such-bucket/x"\nendpoint = "{s3.url}"\n'
    config = operator_config(tmp_path, origin, ca_file, site=target)
    with pytest.raises(PublishError) as raised:
        await run_publish(config)
    status = PublishStatus.load(config.server.data_dir)
    shown = [str(raised.value), repr(config), *status.lines()]
    assert "NoSuchBucket" in str(raised.value)
    for secret in (CREDENTIALS["AWS_SECRET_ACCESS_KEY"], CREDENTIALS["AWS_ACCESS_KEY_ID"]):
        assert not any(secret in text for text in shown)
    assert status.targets["s3://no-such-bucket/x"].failures == 1


async def test_published_copy_reads_in_chromium_from_the_bucket_under_a_prefix(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server, expected: dict[str, Any]
) -> None:
    config = s3_config(tmp_path, origin, ca_file, s3)
    await hold(config, ARTICLE_URL)
    await run_publish(config)
    client(s3).put_bucket_policy(Bucket=BUCKET, Policy=PUBLIC_READ)  # as a website bucket is
    base = f"{s3.url}/{BUCKET}/{PREFIX}/cdt"
    async with chromium(javascript=False) as context:
        index = await visit(context, base + "/index.html")
        titles = await index.page.locator("ul.articles a").all_text_contents()
        assert expected["title"] in titles
        await index.page.click(f"text={expected['title']}")
        await index.page.wait_for_load_state("networkidle")
        assert index.page.url == f"{base}/articles{ARTICLE_PATH}index.html"
        assert_in_order(visible_text(await index.page.content()), expected["paragraphs_in_order"])
        loaded = await index.page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded and all(loaded)
        csp = await index.page.locator("meta[http-equiv='Content-Security-Policy']").count()
        assert csp == 1 and await index.page.locator("script").count() == 0
        signed = await index.page.eval_on_selector_all("p.downloads a", "a => a.map(l => l.href)")
        assert len(signed) == len(DOWNLOADS)
        key = manifest.load_signing_key(config.server.data_dir).public_key()
        for link in signed:  # fetched as a click on it would, from the bucket, and verified
            answer = await index.page.request.get(link)
            assert answer.ok and link.startswith(f"{base}/articles/"), link
            assert verify(await answer.body(), key).signed.url == ARTICLE_URL
        await index.page.click("header.masthead a")
        await index.page.wait_for_load_state("networkidle")
        assert index.page.url == base + "/index.html"
        hosts = {urlsplit(u).netloc for u in index.requests}
        assert hosts == {urlsplit(s3.url).netloc}
        assert index.console_errors == []


async def test_publish_command_and_its_status(
    tmp_path: Path, origin: Origin, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site-copy"
    config = operator_config(tmp_path, origin, ca_file, site=f'[[publish]]\nurl = "{out.as_uri()}"')
    await hold(config, ARTICLE_URL)
    config_file = str(tmp_path / "mirror.toml")
    assert await asyncio.to_thread(main, ["publish", "--config", config_file, "--status"]) == 0
    assert f"{out.as_uri()}: never published" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["publish", "--config", config_file]) == 0
    assert f"mirror: published {out.as_uri()}:" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["publish", "--config", config_file, "--status"]) == 0
    status = capsys.readouterr().out
    assert "last success 20" in status and "1 publishes (0 failed)" in status
    assert (out / ARTICLE_KEY).is_file()


async def test_the_published_address_joins_the_alternates_and_checks_ok(
    tmp_path: Path, origin: Origin, ca_file: Path, s3: S3Server
) -> None:
    from mirror.addresses import alternates
    from mirror.addresses.checks import check_all
    from mirror.fetch.client import Fetcher

    address = f"{s3.url}/{BUCKET}/{PREFIX}"
    target = (
        f'[[publish]]\nurl = "s3://{BUCKET}/{PREFIX}"\nendpoint = "{s3.url}"\n'
        f'public_url = "{address}"\n'
    )
    config = operator_config(tmp_path, origin, ca_file, site=target)
    await hold(config, ARTICLE_URL)
    client(s3).put_bucket_policy(Bucket=BUCKET, Policy=PUBLIC_READ)
    await run_publish(config)
    assert address in alternates.read_list(config.server.data_dir)
    objects = published(s3)
    assert b'href="cdt/index.html"' in objects["index.html"]
    assert not missing_links(objects)
    port = int(urlsplit(s3.url).port or 0)
    reach = replace(config.fetch, allow_private_addresses=True, allowed_ports=frozenset({port}))
    loopback = replace(config, fetch=reach)
    async with Fetcher(loopback.fetch) as fetcher:
        statuses = await check_all(loopback, fetcher)
    assert statuses[address].state == alternates.State.OK, statuses[address]

    s3.requests.clear()
    await run_publish(config)  # nothing changed: the manifest is not signed again
    assert s3.puts(BUCKET) == [f"{PREFIX}/{INDEX_KEY}"]
