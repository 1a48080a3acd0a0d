"""Metrics, health probes and the access log: useful to operators, useless to a censor."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mirror import counters
from mirror.errors import OriginStatus
from mirror.links import Kind
from mirror.reading import read_page
from mirror.settings import Config
from mirror.store.sqlite import SqliteStore
from mirror.web.server import LINKS, MIRROR
from tests.conftest import (
    ARTICLE_PATH,
    ARTICLE_URL,
    CHINESE_URL,
    LEAD_IMAGE_PATH,
    ORIGIN_HOST,
    Origin,
    RunningMirror,
    serve_mirror,
)
from tests.support.configs import config_toml
from tests.support.removal_fixtures import always_ask, remove_at_origin

READER_ADDRESS = "127.0.0.23"
READER_AGENT = "ReaderBrowser/7.7 (reader-agent-marker)"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for candidate in family.samples:
            if candidate.name == name and all(
                candidate.labels.get(k) == v for k, v in labels.items()
            ):
                return float(candidate.value)
    return 0.0


async def scrape(mirror: RunningMirror) -> str:
    response, text = await mirror.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return text


def test_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="EVENTS"):
        counters.count("a url like https://example.org/")


def test_origin_fetch_errors_are_counted_by_kind() -> None:
    before = counters.ORIGIN_FETCH_ERRORS.value("OriginStatus")
    with pytest.raises(OriginStatus), counters.origin_fetch():
        raise OriginStatus(404)
    after = counters.ORIGIN_FETCH_ERRORS.value("OriginStatus")
    assert after == before + 1


async def test_requests_cache_fetches_and_stripping_are_counted(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    before = await scrape(running_mirror)
    path = running_mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    for _ in range(2):
        response, _ = await running_mirror.get(path)
        assert response.status == 200
    missing, _ = await running_mirror.get(
        running_mirror.app[LINKS].path(ARTICLE_URL + "x", Kind.PAGE)
    )
    assert missing.status == 404
    await running_mirror.app[MIRROR].settled()  # the lead picture, made behind the reader's back
    after = await scrape(running_mirror)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("mirror_requests_total", route="/m/{token}", status="200") == 2
    assert grew("mirror_requests_total", route="/m/{token}", status="404") == 1
    assert grew("mirror_cache_lookups_total", result="miss") == 1
    assert grew("mirror_cache_lookups_total", result="hit") == 1
    assert grew("mirror_origin_fetch_seconds_count") == 3  # the page, the missing one, the picture
    assert grew("mirror_origin_fetch_errors_total", kind="NotAtOrigin") == 1
    assert grew("mirror_stripped_bytes_total") > 0  # the CDT body loses tracking parameters


def test_stripped_elements_are_counted() -> None:
    text = " ".join(["Reporters documented the detentions across the region."] * 8)
    junk = '<iframe src="https://googleads.g.doubleclick.net/pagead/ads?slot=1"></iframe>'
    html = (
        f"<html><body><article><h1>T</h1><p>{text}</p><p>{text}</p>{junk}</article></body></html>"
    )
    elements, stripped = (
        counters.STRIPPED_ELEMENTS.value(),
        counters.STRIPPED_BYTES.value(),
    )
    article = read_page(html.encode(), "utf-8", "https://example.org/a")
    assert "doubleclick" not in article.body
    assert counters.STRIPPED_ELEMENTS.value() == elements + 1
    # Bytes are counted on the extracted body only; the ad went before extraction.
    assert counters.STRIPPED_BYTES.value() == stripped


async def test_unmatched_paths_share_one_label(running_mirror: RunningMirror) -> None:
    await running_mirror.get("/no/such/secret-path")
    text = await scrape(running_mirror)
    assert "secret-path" not in text
    assert sample(text, "mirror_requests_total", route="unmatched", status="404") >= 1


async def test_readyz_reports_each_check(running_mirror: RunningMirror) -> None:
    response, text = await running_mirror.get("/readyz")
    assert (response.status, text) == (200, "cache ok\ntoken_key ok\n")


async def test_readyz_fails_when_the_store_is_gone(running_mirror: RunningMirror) -> None:
    from mirror.web.server import MIRROR

    store = running_mirror.app[MIRROR]._cache.store
    assert isinstance(store, SqliteStore)
    await store._run(store._conn.close)  # the database goes away under a running mirror
    response, text = await running_mirror.get("/readyz")
    assert response.status == 503
    assert "cache failing" in text


def privacy_config(tmp_path: Path, origin: Origin, ca_file: Path) -> Path:
    path = tmp_path / "mirror.toml"
    server = "plain_http = true\naccess_log = true"
    path.write_text(config_toml([origin.pin], ca_file, server=server, with_feed=False))
    return path


async def reader_traffic(base: str) -> tuple[list[str], str, str]:
    """A reader's visit from a distinctive loopback address: pages, an image, errors.

    Returns the status lines, the scraped metrics and the article's token path.
    """
    connector = aiohttp.TCPConnector(local_addr=(READER_ADDRESS, 0))
    headers = {"User-Agent": READER_AGENT, "Referer": ARTICLE_URL}
    seen = []
    async with aiohttp.ClientSession(connector=connector, headers=headers) as client:
        async with client.post(
            base + "/open", data={"url": ARTICLE_URL}, allow_redirects=False
        ) as r:
            token_path = r.headers["Location"]
        async with client.get(base + token_path) as response:
            image = re.search(r'src="(/r/[^"]+)"', await response.text())
        assert image is not None
        for path in (
            token_path,
            image[1],
            "/s/cdt" + ARTICLE_PATH,
            "/s/cdt/chinese/2018/11/xinjiang-families/",
            token_path[:-2] + "zz",
            "/s/cdt/no/such/article/",
            "/readyz",
        ):
            async with client.get(base + path) as response:
                seen.append(f"{path} {response.status}")
        async with client.post(base + "/open", data={"url": "https://example.org/x"}) as refused:
            seen.append(f"/open {refused.status}")
        seen.append(await malformed_request(base, token_path))
        async with client.get(base + "/metrics") as scraped:
            return seen, await scraped.text(), token_path


async def malformed_request(base: str, token_path: str) -> str:
    """A request aiohttp itself refuses (a header without a colon): it logs those."""
    host, port = base.rsplit("/", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(READER_ADDRESS, 0))
    writer.write(
        f"GET {token_path} HTTP/1.1\r\nHost: {host}\r\nBroken {ARTICLE_URL}\r\n\r\n".encode()
    )
    status = (await reader.readline()).decode().split(" ")[1]
    writer.close()
    await writer.wait_closed()
    return f"malformed {status}"


async def test_no_reader_address_or_url_in_logs_or_metrics(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    config = privacy_config(tmp_path, origin, ca_file)
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mirror", "serve", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    base = re.search(r"http://\S+", first)
    assert base, first
    try:
        seen, scraped, token_path = await reader_traffic(base[0].rstrip("/"))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert [line.rsplit(" ", 1)[1] for line in seen] == ["200"] * 4 + [
        "404",
        "404",
        "200",
        "403",
        "400",
    ]
    assert origin.hits[LEAD_IMAGE_PATH] == 1
    logs = first + out.decode() + err.decode()
    for line in ("GET /m/{token} 200", "GET /r/{token}/{variant} 200", "GET /s/{site}/{path} 404",
                 "error handling a request: aiohttp.http_exceptions.BadHttpMessage"):  # fmt: skip
        assert line in logs, logs
    assert logs.count("GET /m/{token} 200") == 2  # rendered, then answered at the front door
    assert logs.count("error handling a request") == 1  # logging the refusal did not fail too
    assert re.search(r"BadHttpMessage\n  File \"[^\"]+\", line \d+, in \w+", logs), logs
    everything = logs + scraped
    token = token_path.rsplit("/", 1)[1]
    secrets = [READER_ADDRESS, READER_AGENT, "reader-agent-marker", ARTICLE_URL, ARTICLE_PATH]
    secrets += [CHINESE_URL, "xinjiang", ORIGIN_HOST, "example.org", token]
    for secret in secrets:
        assert secret not in everything, secret


def test_fast_counters_and_histograms_read_as_prometheus_ones() -> None:
    registry = CollectorRegistry()
    counter = counters.FastCounter("demo_requests", "Demo.", ("route", "status"))
    histogram = counters.FastHistogram("demo_seconds", "Demo.", ("route",))
    registry.register(counter)
    registry.register(histogram)
    for seconds in (0.001, 0.005, 0.3, 20.0):
        counter.inc("/a", "200")
        histogram.observe("/a", seconds=seconds)
    text = generate_latest(registry).decode()
    assert sample(text, "demo_requests_total", route="/a", status="200") == 4
    assert sample(text, "demo_seconds_bucket", route="/a", le="0.005") == 2  # le: at most
    assert sample(text, "demo_seconds_bucket", route="/a", le="0.5") == 3
    assert sample(text, "demo_seconds_bucket", route="/a", le="+Inf") == 4
    assert sample(text, "demo_seconds_count", route="/a") == 4
    assert sample(text, "demo_seconds_sum", route="/a") == pytest.approx(20.306)


async def test_removals_are_counted_by_how_the_origin_said_so(
    config: Config, origin: Origin
) -> None:
    async with serve_mirror(always_ask(config)) as mirror:
        path = mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
        await mirror.get(path)
        before = await scrape(mirror)
        remove_at_origin(origin, ARTICLE_PATH, "410")
        for _ in range(3):  # the first read sees the removal; the others read the kept copy
            response, _ = await mirror.get(path)
            assert response.status == 200
        after = await scrape(mirror)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("mirror_removals_total", reason="410") == 1
    assert grew("mirror_removals_total", reason="404") == 0
    assert grew("mirror_cache_lookups_total", result="removed") == 3


def test_an_unknown_removal_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="removal reason"):
        counters.count_removal("https://example.org/")


async def test_metrics_show_each_publish_target(
    tmp_path: Path, origin: Origin, ca_file: Path
) -> None:
    from mirror.share.publish import run_publish
    from tests.support.operator_fixtures import operator_config

    copy = (tmp_path / "copy").as_uri()
    config = operator_config(tmp_path, origin, ca_file, site=f'[[publish]]\nurl = "{copy}"')
    await run_publish(config)
    async with serve_mirror(config) as mirror:
        _, text = await mirror.get("/metrics")
    samples = {
        (s.name, s.labels.get("target")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("mirror_publish")
    }
    assert samples[("mirror_publishes", copy)] == 1
    assert samples[("mirror_publish_failures", copy)] == 0
    assert samples[("mirror_publish_uploaded_objects", copy)] > 5
    assert abs(samples[("mirror_publish_last_success_seconds", copy)] - time.time()) < 120
