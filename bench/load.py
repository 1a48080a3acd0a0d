"""Cache-hit load: the mirror against two baselines serving the same bytes, in one run.

    .venv/bin/python bench/load.py [--seconds 5] [--rounds 5] [--connections 64]
                                   [--articles 10000]

The CDT article is stored once (fresh), then wrk (Debian's package) drives each server over
plain HTTP on loopback with the same connections and duration:

* nginx, serving the rendered page from a static file (one worker process);
* a bare aiohttp handler on uvloop returning the rendered bytes from memory: the ceiling for
  our stack (and the same handler sending the mirror's response headers too: CSP and the
  rest);
* ``mirror serve`` with ``workers = 1`` on uvloop (the default), the same on asyncio's own
  loop (``server.uvloop = false``, to show what uvloop gives), and ``workers = <cores>``.

Then a fresh mirror process serves 10,000 distinct stored articles once each and its peak
RSS (``VmHWM``) is read. Targets: mirror >= 0.8 of bare aiohttp (the median over rounds of
the mirror against bare aiohttp measured right before it), one uvloop worker >= 0.3 of
nginx (medians, same run), p99 < 50 ms, zero errors, peak RSS <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import repo_root  # noqa: F401  (puts the repository root on the path, for tests.support.servers)
from data import CDT_ARTICLE

from mirror.article import StoredPage
from mirror.keys import load_cache_key, load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.reading import read_page
from mirror.store.cache import PageCache
from mirror.store.sqlite import SqliteStore
from tests.support.servers import free_port, nginx

ARTICLE_URL = (
    "https://chinadigitaltimes.net/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"
)
WRK = "/usr/bin/wrk"
ONE = "mirror, 1 worker"
ASYNCIO = "mirror, 1, asyncio loop"
BARE = "bare aiohttp"

CONFIG = """
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
plain_http = true
workers = {workers}
uvloop = {uvloop}

[cache]
fresh_seconds = 86400

[[sites]]
name = "cdt"
origin = "https://chinadigitaltimes.net"
"""

NGINX_CONFIG = """
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir};
        default_type "text/html; charset=utf-8";
        location = /article {{ try_files /page.html =404; }}
    }}
}}
"""

BARE_AIOHTTP = """
import json, sys
import uvloop
from aiohttp import web

body = open(sys.argv[1], "rb").read()
mirror_headers = json.load(open(sys.argv[2]))

async def plain(request: web.Request) -> web.Response:
    return web.Response(body=body, content_type="text/html", charset="utf-8")

async def with_headers(request: web.Request) -> web.Response:
    return web.Response(body=body, headers=mirror_headers)

app = web.Application()
app.router.add_get("/article", plain)
app.router.add_get("/article-with-headers", with_headers)
loop = uvloop.new_event_loop()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[3]), access_log=None, print=None, loop=loop)
"""


@dataclass(frozen=True)
class Load:
    """What wrk measured against one server."""

    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    timeouts: int
    cpu_us_per_request: float


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children (worker processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for process in [str(pid), *children]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(name: str, url: str, pid: int, seconds: int, connections: int) -> Load:
    """wrk against ``url``; the server's CPU time per request is measured alongside, since
    on a shared machine it is steadier than throughput (neighbours steal wall time)."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(
        [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(name, out, cpu_seconds(pid) - cpu_before)


def parse_wrk(name: str, out: str, cpu: float) -> Load:
    """What wrk printed (``--latency``), with the server's CPU seconds meanwhile."""
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write) (\d+)", out))
    timeouts = sum(int(n) for n in re.findall(r"timeout (\d+)", out))
    return Load(
        name=name,
        requests_per_second=float(re.findall(r"Requests/sec:\s+([\d.]+)", out)[0]),
        p50_ms=_ms(re.findall(r"50%\s+([\d.]+\w+)", out)[0]),
        p99_ms=_ms(re.findall(r"99%\s+([\d.]+\w+)", out)[0]),
        errors=errors,
        timeouts=timeouts,
        cpu_us_per_request=cpu * 1e6 / int(re.findall(r"(\d+) requests in", out)[0]),
    )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def write_config(directory: Path, workers: int, uvloop: bool = True) -> Path:
    path = directory / f"mirror-{workers}-{'uvloop' if uvloop else 'asyncio'}.toml"
    text = CONFIG.format(data=directory / "data", workers=workers, uvloop=str(uvloop).lower())
    path.write_text(text)
    return path


async def store_articles(data_dir: Path, urls: list[str]) -> None:
    """Store the CDT article (fresh) under each URL, as if fetched a moment ago."""
    article = read_page(CDT_ARTICLE.read_bytes(), "utf-8", ARTICLE_URL)
    store = SqliteStore(data_dir / "cache.sqlite3", 1 << 31, 0)
    async with PageCache(store, load_cache_key(data_dir)) as cache:
        for number, url in enumerate(urls):
            title = article.title if url == ARTICLE_URL else f"{article.title} #{number}"
            stored = StoredPage(replace(article, url=url, title=title), fetched_at=time.time())
            await cache.put_page(url, stored)


def start_mirror(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://\S+", line)
    if not found:
        raise RuntimeError(f"mirror did not start: {line}")
    return process, found[0].rstrip("/")


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(30)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.findall(r"VmHWM:\s+(\d+) kB", status)[0]) / 1024


async def read_each(base: str, paths: list[str], concurrency: int = 32) -> int:
    """GET every path once; how many were not 200."""
    queue = list(paths)
    failures = 0

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal failures
        while queue:
            async with client.get(base + queue.pop()) as response:
                await response.read()
                failures += response.status != 200

    async with aiohttp.ClientSession() as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return failures


def throughput(
    directory: Path, seconds: int, connections: int, rounds: int
) -> dict[str, list[Load]]:
    """Every server runs at once (idle ones cost nothing); wrk visits them in turn, ``rounds``
    times, so a noisy neighbour on the machine hits all of them alike. The one-worker mirror
    and bare aiohttp are visited one right after the other, and compared round by round:
    this machine's speed drifts by half within a minute."""
    data_dir = directory / "data"
    asyncio.run(store_articles(data_dir, [ARTICLE_URL]))
    path = LinkBuilder(load_token_ring(data_dir)).path(ARTICLE_URL, Kind.PAGE)
    cores = os.cpu_count() or 1
    with contextlib.ExitStack() as running:
        urls: dict[str, tuple[str, int]] = {}
        mirrors = {ONE: (1, True), ASYNCIO: (1, False), f"mirror, {cores} workers": (cores, True)}
        for name, (workers, uvloop) in mirrors.items():
            mirror, base = start_mirror(write_config(directory, workers, uvloop))
            running.callback(stop, mirror)
            urls[name] = (base + path, mirror.pid)
            wait_for(base + path)
        save_response(urls["mirror, 1 worker"][0], directory)
        urls |= start_baselines(directory, running)
        order = [ONE, BARE, *(name for name in urls if name not in (ONE, BARE))]
        samples: dict[str, list[Load]] = {name: [] for name in order}
        for _ in range(rounds):
            for name in order:
                url, pid = urls[name]
                samples[name].append(wrk(name, url, pid, seconds, connections))
    return samples


def save_response(url: str, directory: Path) -> None:
    """The mirror's rendered bytes and response headers, for the baselines to serve."""
    with urllib.request.urlopen(url) as response:
        (directory / "page.html").write_bytes(response.read())
        skip = {"date", "server", "content-length", "connection"}
        headers = {k: v for k, v in response.headers.items() if k.lower() not in skip}
    (directory / "headers.json").write_text(json.dumps(headers))


def median(runs: list[Load]) -> Load:
    """The run with the median throughput, carrying the errors and timeouts of all runs."""
    ordered = sorted(runs, key=lambda load: load.requests_per_second)
    middle = ordered[len(ordered) // 2]
    return replace(
        middle,
        errors=sum(load.errors for load in runs),
        timeouts=sum(load.timeouts for load in runs),
    )


def start_baselines(directory: Path, running: contextlib.ExitStack) -> dict[str, tuple[str, int]]:
    """nginx from a static file and bare aiohttp from memory, serving the mirror's bytes."""
    nginx_port, bare_port = free_port(), free_port()
    config = NGINX_CONFIG.format(dir=directory, port=nginx_port)
    static = running.enter_context(nginx(directory, config, nginx_port))
    bare_args = [str(directory / "page.html"), str(directory / "headers.json"), str(bare_port)]
    bare = subprocess.Popen([sys.executable, "-c", BARE_AIOHTTP, *bare_args])
    running.callback(stop, bare)
    url = f"http://127.0.0.1:{bare_port}/article"
    wait_for(url)
    return {
        "nginx, static file": (f"http://127.0.0.1:{nginx_port}/article", static.pid),
        "bare aiohttp": (url, bare.pid),
        "bare aiohttp, + headers": (url + "-with-headers", bare.pid),
    }


def memory(directory: Path, articles: int) -> tuple[float, int]:
    """Peak RSS of one mirror process after serving ``articles`` distinct stored articles."""
    data_dir = directory / "data"
    urls = [f"https://chinadigitaltimes.net/bench/{n}/" for n in range(articles)]
    asyncio.run(store_articles(data_dir, urls))
    links = LinkBuilder(load_token_ring(data_dir))
    mirror, base = start_mirror(write_config(directory, 1))
    try:
        failures = asyncio.run(read_each(base, [links.path(u, Kind.PAGE) for u in urls]))
        return peak_rss_mb(mirror.pid), failures
    finally:
        stop(mirror)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mirror-load-") as temp:
        samples = throughput(Path(temp), args.seconds, args.connections, args.rounds)
    with tempfile.TemporaryDirectory(prefix="mirror-memory-") as temp:
        rss, failures = memory(Path(temp), args.articles)
    report(samples, args, rss, failures)
    return 0


def paired_ratios(samples: dict[str, list[Load]]) -> tuple[float, float]:
    """Median over rounds of the one-worker mirror against bare aiohttp measured just
    before it: by requests per second, and by CPU time per request (bare / mirror)."""
    pairs = list(zip(samples[ONE], samples[BARE], strict=True))
    by_rate = statistics.median(m.requests_per_second / b.requests_per_second for m, b in pairs)
    by_cpu = statistics.median(b.cpu_us_per_request / m.cpu_us_per_request for m, b in pairs)
    return by_rate, by_cpu


def report(
    samples: dict[str, list[Load]], args: argparse.Namespace, rss: float, failures: int
) -> None:
    loads = [median(runs) for runs in samples.values()]
    ceiling = next(load for load in loads if load.name == BARE)
    nginx = next(load for load in loads if load.name.startswith("nginx"))
    one = next(load for load in loads if load.name == ONE)
    by_rate, by_cpu = paired_ratios(samples)
    print(
        f"cache hits on the CDT article, wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"median of {args.rounds} rounds"
    )
    print(
        f"{'server':23} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'>2s':>4}"
        f" {'/ bare':>6}"
        f" {'CPU us/req':>11} {'bare/this':>9}"
    )
    for load in loads:
        print(
            f"{load.name:23} {load.requests_per_second:7.0f} {load.p50_ms:7.2f} "
            f"{load.p99_ms:7.2f} {load.errors:6d} {load.timeouts:4d} "
            f"{load.requests_per_second / ceiling.requests_per_second:6.2f}"
            f" {load.cpu_us_per_request:11.0f}"
            f" {ceiling.cpu_us_per_request / load.cpu_us_per_request:9.2f}"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("(>2s: requests wrk gave up on after 2 s; on a busy machine, not server errors)")
    print(f"bare aiohttp / nginx: {ceiling.requests_per_second / nginx.requests_per_second:.2f}")
    many = next(load for load in loads if load.name.endswith("workers"))
    print(f"{many.name} / 1 worker: {many.requests_per_second / one.requests_per_second:.2f}")
    plain = next(load for load in loads if load.name == ASYNCIO)
    to_nginx = one.requests_per_second / nginx.requests_per_second
    loop_rate = one.requests_per_second / plain.requests_per_second
    loop_cpu = plain.cpu_us_per_request / one.cpu_us_per_request
    print(f"1 worker, uvloop / asyncio: {loop_rate:.2f} (req/s), {loop_cpu:.2f} (CPU per request)")
    print(f"1 worker (uvloop) / nginx: {to_nginx:.2f}")
    rounds = ", ".join(
        f"{m.requests_per_second / b.requests_per_second:.2f}"
        for m, b in zip(samples[ONE], samples[BARE], strict=True)
    )
    print(f"mirror / bare aiohttp, round by round: {rounds}; median {by_rate:.2f}")
    print(f"bare / mirror CPU per request, median of rounds: {by_cpu:.2f}")
    print(f"peak RSS after {args.articles} distinct cached articles: {rss:.0f} MB")
    print(f"  ({failures} of them not served 200)")
    verdicts = {
        "mirror >= 0.8 of bare aiohttp (req/s, paired rounds)": by_rate >= 0.8,
        "mirror >= 0.8 of bare aiohttp (CPU per request, paired rounds)": by_cpu >= 0.8,
        "1 uvloop worker >= 0.3 of nginx (req/s)": to_nginx >= 0.3,
        "p99 < 50 ms": one.p99_ms < 50,
        "zero errors": all(load.errors == 0 for load in loads) and failures == 0,
        "zero timeouts": all(load.timeouts == 0 for load in loads),
        "peak RSS <= 200 MB": rss <= 200,
    }
    for target, met in verdicts.items():
        print(f"{'met ' if met else 'MISSED'} {target}")


if __name__ == "__main__":
    sys.exit(main())
