"""The CDT article on a throttled phone link, in real Chromium: what its pictures cost.

A 360 px wide phone (device pixel ratio 3) on the link a filter throttles, emulated through
DevTools (``Network.emulateNetworkConditions``: 400 kbit/s each way, 400 ms round trip),
opens the article in the light and the full picture mode with an empty cache. Counted: the
bytes on the wire for every request (``Network.loadingFinished``'s ``encodedDataLength``:
headers and compressed bodies), that the text was painted before any picture had arrived
(first contentful paint before the first picture's ``responseEnd``), and that no request
left the mirror.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mirror.links import Kind
from mirror.web.server import LINKS
from tests.conftest import ARTICLE_URL, LEAD_IMAGE_PATH, Origin, RunningMirror
from tests.support.browser import launch, new_context
from tests.support.pictures import jpeg_with_secrets, photo, pictures_made, serving

KBIT = 1000 / 8  # bytes per second in one kbit/s
THROTTLED = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * KBIT,
    "uploadThroughput": 400 * KBIT,
}
TARGETS = {"light": 80 * 1024, "full": 150 * 1024}
TIMINGS = """() => ({
  paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
  pictures: performance.getEntriesByType("resource")
    .filter((r) => new URL(r.name).pathname.startsWith("/r/"))
    .map((r) => r.responseEnd),
  text: document.querySelector(".body p")?.textContent.length ?? 0,
})"""


@dataclass
class Transfer:
    """What one page load put on the wire, by request."""

    urls: dict[str, str] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)

    def sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def finished(self, event: dict[str, Any]) -> None:
        self.bytes[event["requestId"]] = int(event["encodedDataLength"])


async def throttled_load(mirror: RunningMirror, path: str) -> tuple[Transfer, dict[str, Any]]:
    async with launch() as browser, new_context(browser, width=360, scale=3) as context:
        page = await context.new_page()
        devtools = await context.new_cdp_session(page)
        transfer = Transfer()
        devtools.on("Network.requestWillBeSent", transfer.sent)
        devtools.on("Network.loadingFinished", transfer.finished)
        await devtools.send("Network.enable")
        await devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
        await devtools.send("Network.emulateNetworkConditions", THROTTLED)
        await page.goto(mirror.base + path, wait_until="networkidle", timeout=60_000)
        timings: dict[str, Any] = await page.evaluate(TIMINGS)
        return transfer, timings


async def test_the_article_on_a_throttled_phone_link(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    # Noisy (the costliest kind of photograph to encode), saved as a camera would.
    origin_file = jpeg_with_secrets(photo(1024, 576), quality=90)
    origin.routes[LEAD_IMAGE_PATH] = serving(origin_file)
    path = running_mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    await pictures_made(running_mirror, path)
    mirror_host = urlsplit(running_mirror.base).netloc
    measured = {}
    for mode, target in TARGETS.items():
        transfer, timings = await throttled_load(running_mirror, f"{path}?pics={mode}")
        hosts = {urlsplit(url).netloc for url in transfer.urls.values()}
        assert hosts == {mirror_host}, (mode, hosts)  # 0 requests off the mirror
        total = sum(transfer.bytes.values())
        pictures = sum(
            size for rid, size in transfer.bytes.items() if "/r/" in transfer.urls.get(rid, "")
        )
        assert timings["pictures"], (mode, "no picture was loaded")
        assert timings["text"] > 0 and timings["paint"] is not None
        assert timings["paint"] < min(timings["pictures"]), (mode, timings)
        measured[mode] = {
            "total_bytes": total,
            "picture_bytes": pictures,
            "requests": len(transfer.urls),
            "first_paint_ms": round(timings["paint"]),
            "first_picture_end_ms": round(min(timings["pictures"])),
        }
        assert total <= target, (mode, measured[mode])
    measured["origin_picture_bytes"] = {"lead": len(origin_file)}
    print("throttled:", json.dumps(measured))  # the numbers for bench/RESULTS.md (pytest -s)
    assert measured["light"]["total_bytes"] < measured["full"]["total_bytes"]
