"""Real headless Chromium (Debian's ``chromium``) driven by Playwright, for browser tests.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` through
``executable_path``. The flags keep Chromium from reaching for Google's services, so the
only traffic is what the page under test causes; every request is recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    async_playwright,
)

from tests.support.tiers import refuse_in_fast_tier

CHROMIUM = Path("/usr/bin/chromium")
WaitUntil = Literal["commit", "domcontentloaded", "load", "networkidle"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


@asynccontextmanager
async def launch() -> AsyncIterator[Browser]:
    """One headless Chromium, for tests that open many contexts (launching costs ~1 s)."""
    refuse_in_fast_tier("browser", "Chromium")
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make system-deps`")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def new_context(
    browser: Browser,
    javascript: bool = True,
    width: int = 1280,
    dark: bool = False,
    offline: bool = False,
    scale: float = 1,
) -> AsyncIterator[BrowserContext]:
    """A fresh context; the mirror's self-signed certificate is accepted. ``scale`` is the
    device pixel ratio (a phone's is 2 or 3)."""
    context = await browser.new_context(
        java_script_enabled=javascript,
        ignore_https_errors=True,
        viewport={"width": width, "height": 900},
        color_scheme="dark" if dark else "light",
        offline=offline,
        device_scale_factor=scale,
    )
    try:
        yield context
    finally:
        await context.close()


@asynccontextmanager
async def chromium(
    javascript: bool = True, width: int = 1280, dark: bool = False
) -> AsyncIterator[BrowserContext]:
    """A fresh browser with one context, for tests that need just one."""
    async with launch() as browser, new_context(browser, javascript, width, dark) as context:
        yield context


@dataclass
class Visit:
    """What a page did while loading: every request URL and every console error."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


async def visit(context: BrowserContext, url: str, wait_until: WaitUntil = "networkidle") -> Visit:
    """Open ``url`` and wait (by default until the network is idle), recording what the page
    asked for."""
    page = await context.new_page()
    record = Visit(page=page)

    def on_request(request: Request) -> None:
        record.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            record.console_errors.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    await page.goto(url, wait_until=wait_until)
    return record
