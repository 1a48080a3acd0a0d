"""Does fetching and decoding 181 real pages at once ever block the event loop over 50 ms?

    .venv/bin/python bench/loop_lag.py [--limit-ms 50]

The 181 benchmark pages (``bench/data.py`` says where) are served gzip-compressed and with
no charset in the header (so decoding does its whole WHATWG sniffing) by an origin in another
process, each under its own host name (181 ``connect_to`` pins to one loopback port), and
fetched all at once by one ``Fetcher`` and decoded as the pipeline decodes
(``decode_html`` in a worker thread). A ticker measures how late the loop wakes it every
5 ms, in wall-clock time and in the loop thread's CPU time (on a shared machine the first
also counts time the process was not scheduled). The baseline, in the same run, is the
ticker on an idle loop. Exit status 1 if the loop was busy for more than the limit between
two ticks.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import statistics
import sys
import time
from dataclasses import replace
from multiprocessing.queues import Queue
from pathlib import Path

from aiohttp import web
from data import bench_data

from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.fetch.decode import decode_html
from mirror.settings import ConnectPin, load_config

TICK = 0.005


def pages() -> list[Path]:
    return sorted((bench_data() / "pages").glob("*.html"))


def serve_pages(ports: Queue[int]) -> None:
    """The origin process: every page at /<name>, gzip-compressed once up front."""
    bodies = {p.name: gzip.compress(p.read_bytes()) for p in pages()}

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            body=bodies[request.match_info["name"]],
            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
        )

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/{name}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        ports.put(site._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(run())


class LagMeter:
    """Wakes every ``TICK`` seconds and records how late each wake-up was.

    Two measures: the wall-clock lag, which on a shared machine also counts the time the
    process was not scheduled at all, and the loop thread's CPU time between wake-ups, which
    counts only work the loop did (the time it was blocked by our code).
    """

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.busy: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - started - TICK)
            self.busy.append(time.thread_time() - cpu)

    def __enter__(self) -> LagMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def report(self, label: str) -> tuple[float, float]:
        wall, cpu = max(self.lags) * 1000, max(self.busy) * 1000
        print(
            f"{label:24} max wall-clock lag {wall:6.1f} ms, max loop CPU between ticks "
            f"{cpu:5.1f} ms, median lag {statistics.median(self.lags) * 1000:5.1f} ms "
            f"({len(self.lags)} ticks)"
        )
        return wall, cpu


async def fetch_and_decode(fetcher: Fetcher, url: str) -> int:
    fetched = await fetcher.fetch(url, PAGE_TYPES)
    text = await asyncio.to_thread(decode_html, fetched.body, fetched.charset)
    return len(text)


async def run(port: int, limit_ms: float) -> int:
    names = [p.name for p in pages()]
    hosts = [f"p{i}.bench.test" for i in range(len(names))]
    fetch = replace(
        load_config(None, environ={}).fetch,
        connect_to=tuple(ConnectPin(host, 80, "127.0.0.1", port) for host in hosts),
        max_bytes=16 * 1024 * 1024,
    )
    with LagMeter() as idle:
        await asyncio.sleep(1.0)
    async with Fetcher(fetch) as fetcher:
        started = time.perf_counter()
        with LagMeter() as busy:
            sizes = await asyncio.gather(
                *(
                    fetch_and_decode(fetcher, f"http://{h}/{n}")
                    for h, n in zip(hosts, names, strict=True)
                )
            )
        seconds = time.perf_counter() - started
    print(f"pages: {len(sizes)} fetched and decoded in {seconds:.2f} s")
    idle_wall, _ = idle.report("idle loop (baseline)")
    busy_wall, busy_cpu = busy.report("fetching + decoding")
    print(
        f"ratio: max wall-clock lag {busy_wall / idle_wall:.1f}x the idle loop's; "
        f"max loop CPU between ticks {busy_cpu:.1f} ms against a limit of {limit_ms:g} ms"
    )
    return 0 if busy_cpu <= limit_ms else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit-ms", type=float, default=50.0)
    limit_ms = parser.parse_args().limit_ms
    context = multiprocessing.get_context("spawn")
    ports: Queue[int] = context.Queue()
    origin = context.Process(target=serve_pages, args=(ports,), daemon=True)
    origin.start()
    try:
        status = asyncio.run(run(ports.get(timeout=60), limit_ms))
    finally:
        origin.terminate()
        origin.join()
    sys.exit(status)


if __name__ == "__main__":
    main()
