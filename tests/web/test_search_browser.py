"""Search in real headless Chromium with scripts off: the box on the home page sends the
query (the CSP's ``form-action 'self'`` lets it), the results page reads right to left,
light and dark at 360 px, and opening a result sends no ``Referer``."""

from __future__ import annotations

from playwright.async_api import Request

from mirror.links import Kind
from mirror.settings import Config
from mirror.web.appkeys import LINKS
from tests.conftest import CHINESE_URL, serve_mirror
from tests.support.browser import launch, new_context, visit
from tests.support.search_fixtures import searching
from tests.web.test_pages_browser import SCREENSHOTS, Case, check_page


def is_document(request: Request) -> bool:
    return request.resource_type == "document"


async def test_searching_from_the_home_page_without_scripts(config: Config) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with serve_mirror(searching(config)) as mirror:
        chinese = mirror.app[LINKS].path(CHINESE_URL, Kind.PAGE)
        response, _ = await mirror.get(chinese)
        assert response.status == 200
        async with launch() as browser:
            for dark in (False, True):
                async with new_context(browser, javascript=False, width=360, dark=dark) as context:
                    loaded = await visit(context, mirror.base + "/?hl=fa", "load")
                    page = loaded.page
                    await page.fill("form[role=search] input[name=q]", "維吾爾")
                    await page.press("form[role=search] input[name=q]", "Enter")
                    await page.wait_for_load_state("load")
                    assert "/search?" in page.url and "hl=fa" in page.url
                    case = Case("search-fa", page.url, direction="rtl")
                    await check_page(loaded, mirror, case)
                    marks = await page.locator("p.snippet mark").all_inner_texts()
                    assert marks and set(marks) == {"维吾尔"}
                    scheme = "dark" if dark else "light"
                    await page.screenshot(path=SCREENSHOTS / f"search-fa-{scheme}-360.png")
                    async with page.expect_request(is_document) as opening:
                        await page.click("ol.results li a")
                    opened = await opening.value
                    assert opened.url == mirror.base + chinese + "?hl=fa"
                    assert "referer" not in await opened.all_headers()
