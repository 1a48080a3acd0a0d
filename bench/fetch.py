"""The two fetch clients against one local HTTPS origin: fetches per second and CPU per fetch.

    .venv/bin/python bench/fetch.py [--fetches 1000] [--concurrency 16] [--rounds 3]

The origin (aiohttp over TLS, a certificate from a throwaway trustme CA) runs in a process
of its own and serves the CDT article gzipped, so this process's CPU time
(``time.process_time``, all threads, curl's C code included) is the client's alone: the
``Fetcher`` with the default client (aiohttp) and with the browser-like one (curl_cffi
impersonating Chrome), each checking addresses, capping and inflating as in production.
Rounds alternate between the two so the shared machine weighs on both alike; the baseline
is the default client of the same run, and the result the browser-like client's ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import ssl
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import trustme
from aiohttp import web
from data import CDT_ARTICLE

from mirror.fetch.client import PAGE_TYPES, Fetcher
from mirror.settings import ConnectPin, FetchConfig, load_config

HOST = "bench-origin.test"
URL = f"https://{HOST}/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"
CLIENTS = ("default", "browser")


def serve_origin(cert_dir: str, ready: multiprocessing.Queue[int]) -> None:
    """The origin's process: the article, gzipped once, on a free loopback port."""
    body = gzip.compress(CDT_ARTICLE.read_bytes())

    async def article(request: web.Request) -> web.Response:
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
        return web.Response(body=body, headers=headers)

    async def run() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(f"{cert_dir}/cert.pem")
        app = web.Application()
        app.router.add_get("/{tail:.*}", article)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        assert site._server is not None
        ready.put(site._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(run())


async def one_round(fetch: FetchConfig, fetches: int, concurrency: int) -> tuple[float, float]:
    """Fetches per second and CPU milliseconds per fetch, for one client."""
    async with Fetcher(fetch) as fetcher:
        await fetcher.fetch(URL, PAGE_TYPES)  # connections and TLS warmed, as in service
        left = iter(range(fetches))

        async def worker() -> None:
            for _ in left:
                fetched = await fetcher.fetch(URL, PAGE_TYPES)
                assert fetched.body, "the article, inflated"

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return fetches / wall, cpu * 1000 / fetches


async def run(fetches: int, concurrency: int, rounds: int, fetch: FetchConfig) -> None:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in CLIENTS}
    for _ in range(rounds):
        for name in CLIENTS:
            config = replace(fetch, client=name)
            results[name].append(await one_round(config, fetches, concurrency))
    rates = {name: statistics.median(r for r, _ in runs) for name, runs in results.items()}
    cpus = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    for name in CLIENTS:
        each = ", ".join(f"{r:,.0f}" for r, _ in results[name])
        print(
            f"{name:8} {rates[name]:8,.0f} fetches/s (rounds {each}),"
            f" {cpus[name]:.3f} ms CPU per fetch"
        )
    print(
        f"browser / default: {rates['browser'] / rates['default']:.2f}x fetches/s,"
        f" {cpus['browser'] / cpus['default']:.2f}x CPU per fetch"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fetches", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cert_dir:
        ca = trustme.CA()
        ca.issue_cert(HOST).private_key_and_cert_chain_pem.write_to_path(f"{cert_dir}/cert.pem")
        ca.cert_pem.write_to_path(f"{cert_dir}/ca.pem")
        ready: multiprocessing.Queue[int] = multiprocessing.Queue()
        origin = multiprocessing.Process(target=serve_origin, args=(cert_dir, ready), daemon=True)
        origin.start()
        try:
            port = ready.get(timeout=30)
            fetch = replace(
                load_config(None, environ={}).fetch,
                connect_to=(ConnectPin(HOST, 443, "127.0.0.1", port),),
                ca_file=str(Path(cert_dir) / "ca.pem"),
                per_origin_connections=args.concurrency,
                max_concurrent=args.concurrency,
            )
            asyncio.run(run(args.fetches, args.concurrency, args.rounds, fetch))
        finally:
            origin.terminate()
            origin.join()


if __name__ == "__main__":
    main()
