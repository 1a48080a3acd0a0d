"""XSS: 200+ attack payloads in origin pages, mirrored, loaded in real Chromium.

Two ways in. Through the running mirror, as a reader gets it (the CSP forbids scripts, so
this alone could hide a bad sanitiser); and the transforms' output served *without* any
CSP, with JavaScript on, so that only the markup itself stands between the payload and the
reader. In both, ``alert``/``confirm``/``prompt`` are hooked before any page script runs,
and the DOM must hold no ``on*`` attribute, no script and no script-capable URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Dialog, Page

from mirror.fetch.decode import decode_html
from mirror.keys import KeyRing
from mirror.links import Kind, LinkBuilder
from mirror.transform.filters import default_rules
from mirror.transform.page import clean_body, prepare_page
from mirror.transform.rewrite import rewrite_body
from mirror.web.server import LINKS
from tests.conftest import Origin, RunningMirror, start_site
from tests.support.browser import chromium
from tests.support.xss_payloads import PAYLOADS

BATCHES = 4
PAGE_URL = "https://chinadigitaltimes.net/xss/{n}/"
HOOK = """
window.__fired = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__fired.push(name + ":" + String(args[0])); };
}
"""
DOM_CHECK = """() => {
  const bad = [];
  const elements = [...document.querySelectorAll("*")];
  for (const e of elements) {
    for (const a of e.getAttributeNames()) {
      const value = (e.getAttribute(a) || "").replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (a.toLowerCase().startsWith("on")) bad.push(e.tagName + " " + a);
      if (/^(javascript|vbscript):/.test(value)) bad.push(e.tagName + " " + a + "=" + value);
      const raster = /^data:image\\/(png|jpeg|gif|webp|avif|bmp);/.test(value);
      if (value.startsWith("data:") && !(e.tagName === "IMG" && a === "src" && raster)) {
        bad.push(e.tagName + " " + a);
      }
      // The one form of the page around the article: the mirror's own "new link to share".
      const ours = a === "action" && e.matches("aside form.share-new") && !e.closest("article");
      if (["srcdoc", "formaction", "action", "style", "xlink:href"].includes(a) && !ours) {
        bad.push(a);
      }
    }
  }
  const forbidden = "script,iframe,frame,frameset,object,embed,applet,base,meta,form,button,"
    + "input,textarea,select,svg,math,style,link,template,noscript,portal,set,animate";
  // The mirrored article's body; the page around it has the mirror's own share field.
  const body = document.querySelector("article .body") || document.body;
  for (const e of body.querySelectorAll(forbidden)) bad.push("element " + e.tagName);
  return bad;
}"""


def batches() -> list[list[str]]:
    return [PAYLOADS[i::BATCHES] for i in range(BATCHES)]


def origin_page(n: int, payloads: list[str]) -> bytes:
    """An article whose paragraphs each carry one payload, so reader mode keeps them."""
    paragraphs = "".join(
        f"<p>Paragraph {i} of the report, long enough to read as article text. {payload} "
        f"The report goes on after the attack, with more words in the same sentence.</p>"
        for i, payload in enumerate(payloads)
    )
    return (
        f"<!doctype html><html lang=en><head><title>Report {n}</title></head><body>"
        f"<article><h1>Report {n}</h1>{paragraphs}</article></body></html>"
    ).encode()


def whole_page_output(n: int, payloads: list[str]) -> str:
    """Every transform but extraction, on the whole body (nothing is left to the extractor)."""
    url = PAGE_URL.format(n=n)
    rules = default_rules()
    page, base = prepare_page(decode_html(origin_page(n, payloads), "utf-8"), url, rules)
    body = page.find("body")
    assert body is not None
    links = LinkBuilder(KeyRing.of([bytes(64)]))
    return rewrite_body(clean_body(body, url, base, rules), links, lambda u: "xss" in u)


async def load_and_check(context: BrowserContext, url: str) -> tuple[list[str], list[str], int]:
    """What fired, what the DOM holds that it must not, and how many paragraphs it kept."""
    page: Page = await context.new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(url, wait_until="networkidle")
    await page.mouse.move(200, 200)
    await page.keyboard.press("Tab")
    await page.wait_for_timeout(300)
    fired: list[str] = await page.evaluate("window.__fired || []")
    bad: list[str] = await page.evaluate(DOM_CHECK)
    text = await page.inner_text("body")
    await page.close()
    return dialogs + fired, bad, text.count("The report goes on after the attack")


@pytest.fixture
async def bare_server() -> AsyncIterator[str]:
    """Serves the transforms' output with no CSP and no other protective header."""
    pages = {
        f"/{n}": f"<!doctype html><html><head><title>x</title></head><body>"
        f"{whole_page_output(n, batch)}</body></html>"
        for n, batch in enumerate(batches())
    }

    async def serve(request: web.Request) -> web.Response:
        if request.path in pages:
            return web.Response(text=pages[request.path], content_type="text/html")
        raise web.HTTPNotFound

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner, port = await start_site(app)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def test_there_are_enough_payloads() -> None:
    assert len(PAYLOADS) >= 200
    assert sum(len(b) for b in batches()) == len(PAYLOADS)


async def test_nothing_fires_without_csp(bare_server: str) -> None:
    async with chromium(javascript=True) as context:
        await context.add_init_script(HOOK)
        for n, batch in enumerate(batches()):
            fired, bad, kept = await load_and_check(context, f"{bare_server}/{n}")
            assert fired == [], fired
            assert bad == [], bad
            # Raw-text payloads (<textarea>, <xmp>, <plaintext>...) swallow the words after them.
            assert kept >= len(batch) // 2


async def test_nothing_fires_through_the_mirror(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    for n, batch in enumerate(batches()):
        body = origin_page(n, batch)

        async def serve(request: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="text/html")

        origin.routes[f"/xss/{n}/"] = serve
    links = running_mirror.app[LINKS]
    async with chromium(javascript=True) as context:
        await context.add_init_script(HOOK)
        for n, batch in enumerate(batches()):
            url = running_mirror.base + links.path(PAGE_URL.format(n=n), Kind.PAGE)
            fired, bad, kept = await load_and_check(context, url)
            assert fired == [], fired
            assert bad == [], bad
            assert kept >= len(batch) // 2, "reader mode dropped the payloads' paragraphs"
