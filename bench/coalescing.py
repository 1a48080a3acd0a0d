"""200 concurrent readers ask the mirror for one uncached article: how many origin fetches?

    .venv/bin/python bench/coalescing.py [--readers 200]

A plain-HTTP origin on loopback serves the CDT article with a 200 ms delay (so the readers
overlap, as they do when a link is shared). The mirror runs as it does in production
(``create_app``, its own data dir, reached over HTTP on loopback) and the origin is reached
through a ``connect_to`` pin. The baseline, measured in the same run, is the same number
of fetches without the mirror in front (and without the per-origin connection limit): one
origin fetch per reader. Exit status 1 if the
mirror made more than one origin fetch.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web
from data import CDT_ARTICLE

from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.links import Kind
from mirror.settings import load_config
from mirror.web.server import LINKS, create_app

HOST = "bench-origin.test"
URL = f"http://{HOST}/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"
ORIGIN_DELAY = 0.2


async def start(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    return runner, server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]


async def run(readers: int) -> int:
    hits: Counter[str] = Counter()
    body = CDT_ARTICLE.read_bytes()

    async def article(request: web.Request) -> web.Response:
        hits[request.path] += 1
        await asyncio.sleep(ORIGIN_DELAY)
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    origin = web.Application()
    origin.router.add_get("/{tail:.*}", article)
    origin_runner, origin_port = await start(origin)
    with tempfile.TemporaryDirectory() as data_dir:
        config_file = Path(data_dir) / "mirror.toml"
        config_file.write_text(
            f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{data_dir}"
plain_http = true

[fetch]
connect_to = ["{HOST}:80:127.0.0.1:{origin_port}"]

[[sites]]
name = "bench"
origin = "http://{HOST}"
""",
            "utf-8",
        )
        config = load_config(config_file, environ={})

        unlimited = replace(config.fetch, per_origin_connections=readers)
        async with Fetcher(unlimited) as fetcher:
            started = time.perf_counter()
            await asyncio.gather(*(fetcher.fetch(URL, PAGE_TYPES) for _ in range(readers)))
            baseline_seconds = time.perf_counter() - started
        baseline_fetches = hits.total()
        hits.clear()

        app = create_app(config)
        mirror_runner, mirror_port = await start(app)
        path = app[LINKS].path(URL, Kind.PAGE)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as client:

            async def read() -> int:
                async with client.get(f"http://127.0.0.1:{mirror_port}{path}") as response:
                    await response.read()
                    return response.status

            started = time.perf_counter()
            statuses = Counter(await asyncio.gather(*(read() for _ in range(readers))))
            mirror_seconds = time.perf_counter() - started
        await mirror_runner.cleanup()
    await origin_runner.cleanup()

    mirror_fetches = hits.total()
    print(f"readers: {readers}, responses: {dict(statuses)}")
    print(f"baseline (no mirror):  {baseline_fetches} origin fetches in {baseline_seconds:.2f} s")
    print(f"through the mirror:    {mirror_fetches} origin fetch(es) in {mirror_seconds:.2f} s")
    print(f"ratio: {mirror_fetches / baseline_fetches:.4f} of the baseline's origin fetches")
    return 0 if mirror_fetches == 1 and statuses == Counter({200: readers}) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readers", type=int, default=200)
    sys.exit(asyncio.run(run(parser.parse_args().readers)))


if __name__ == "__main__":
    main()
