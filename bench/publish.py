"""Publishing 10,000 articles to S3, then re-publishing after 1 % of them changed.

    .venv/bin/python bench/publish.py [--articles 10000] [--changed 0.01]

The target is a real S3 API over HTTP on loopback (moto's server, as in the tests), and
the request counts come from its log. The tree has the shape of a static export: one page
per article under ``cdt/articles/``, an image for every tenth, the stylesheet, the index
and the feed. A re-publish re-renders every page, as ``mirror export`` does (same bytes,
new modification times), with ``--changed`` of the articles given new text.

The baseline, in the same run on the same tree, is an ``aws s3 sync``-style full
comparison: list every object of the prefix and upload each file whose size differs or
whose modification time is newer than the object's (the CLI's rule), with the same eight
uploads at once. Exit status 1 if the publisher's re-publish sent more than the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import repo_root  # noqa: F401  (puts the repository root on sys.path)
from data import CDT_ARTICLE

from mirror.settings import PublishTarget
from mirror.share.publish import local_objects, publish_tree
from mirror.share.targets import S3Target
from tests.support.s3 import CREDENTIALS, S3Server, s3_server

BUCKET = "bench-copy"
PREFIX = "mirror"
BASELINE_PREFIX = "sync"


@dataclass
class Round:
    objects: int
    bytes_sent: int
    requests: int
    seconds: float

    def line(self, name: str) -> str:
        return (
            f"{name:<34} {self.objects:>7} objects {self.bytes_sent / 1e6:>8.1f} MB "
            f"{self.requests:>7} requests {self.seconds:>7.1f} s"
        )


def write_tree(root: Path, articles: int, changed: set[int], generation: int) -> None:
    template = CDT_ARTICLE.read_text("utf-8")
    site = root / "cdt"
    for number in range(articles):
        page = site / "articles" / f"{2000 + number % 20}" / f"story-{number}" / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        version = generation if number in changed else 0
        page.write_text(template.replace("<title>", f"<title>{number}.{version} "), "utf-8")
        if number % 10 == 0:
            image = site / "media" / f"{number:08x}.png"
            image.parent.mkdir(exist_ok=True)
            if not image.exists():
                image.write_bytes(os.urandom(20_000))
    listing = "".join(f"<li>{n}</li>" for n in range(articles)) + f"<!-- {generation} -->"
    (site / "index.html").write_text(f"<!doctype html><ul>{listing}</ul>", "utf-8")
    (site / "feed.xml").write_text(f"<rss><channel>{generation}</channel></rss>", "utf-8")
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / "mirror.css").write_text("body { margin: 0 auto; }", "utf-8")


def client(server: S3Server) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")


async def publisher(server: S3Server, tree: Path) -> Round:
    target = S3Target(PublishTarget(url=f"s3://{BUCKET}/{PREFIX}", endpoint=server.url))
    server.requests.clear()
    report = await publish_tree(local_objects(tree, ["cdt"]), target)
    return Round(report.uploaded, report.bytes_sent, len(server.requests), report.seconds)


async def full_comparison(server: S3Server, tree: Path) -> Round:
    """``aws s3 sync``: list everything, upload what differs in size or is newer."""
    s3 = client(server)
    server.requests.clear()
    started = time.monotonic()
    remote: dict[str, tuple[int, float]] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=BASELINE_PREFIX + "/"
    )
    for page in await asyncio.to_thread(list, pages):
        for entry in page.get("Contents", []):
            remote[entry["Key"]] = (entry["Size"], entry["LastModified"].timestamp())
    uploads = []
    for key, path in local_objects(tree, ["cdt"]).items():
        stat = path.stat()
        size, modified = remote.get(f"{BASELINE_PREFIX}/{key}", (-1, 0.0))
        if size != stat.st_size or stat.st_mtime > modified:
            uploads.append((f"{BASELINE_PREFIX}/{key}", path))
    slots = asyncio.Semaphore(8)
    sent = 0

    async def upload(key: str, path: Path) -> None:
        nonlocal sent
        async with slots:
            body = path.read_bytes()
            await asyncio.to_thread(s3.put_object, Bucket=BUCKET, Key=key, Body=body)
            sent += len(body)

    await asyncio.gather(*(upload(k, p) for k, p in uploads))
    return Round(len(uploads), sent, len(server.requests), time.monotonic() - started)


async def main(articles: int, fraction: float) -> int:
    os.environ.update(CREDENTIALS)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    changed = set(range(0, articles, max(1, round(1 / fraction))))
    with tempfile.TemporaryDirectory() as scratch, s3_server() as server:
        logging_off()
        client(server).create_bucket(Bucket=BUCKET)
        ours, theirs = Path(scratch) / "ours", Path(scratch) / "theirs"
        write_tree(ours, articles, set(), 0)
        write_tree(theirs, articles, set(), 0)
        first = await publisher(server, ours)
        sync_first = await full_comparison(server, theirs)
        time.sleep(1.1)  # the re-render is later than the upload, as it is in practice
        write_tree(ours, articles, changed, 1)
        write_tree(theirs, articles, changed, 1)
        again = await publisher(server, ours)
        sync_again = await full_comparison(server, theirs)
    print(f"{articles} articles, {len(changed)} changed ({fraction:.0%})")
    print(first.line("publisher, first publish"))
    print(sync_first.line("full comparison, first publish"))
    print(again.line("publisher, 1 % re-publish"))
    print(sync_again.line("full comparison, 1 % re-publish"))
    print(
        f"re-publish: {sync_again.objects / max(again.objects, 1):.1f}x fewer objects, "
        f"{sync_again.bytes_sent / max(again.bytes_sent, 1):.1f}x fewer bytes, "
        f"{sync_again.seconds / max(again.seconds, 1e-9):.1f}x faster than the baseline"
    )
    return 0 if again.bytes_sent <= sync_again.bytes_sent else 1


def logging_off() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.articles, args.changed)))
