"""Articles in several scripts served by the test origin, and configs with search on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from html import escape
from pathlib import Path

from aiohttp import web

from mirror.settings import Config, SearchConfig, load_config
from tests.conftest import Origin
from tests.support.configs import ORIGIN_HOST, config_toml

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# path → (title, a sentence the article repeats, a word only it holds)
ARTICLES = {
    "/2024/05/harbour-strike/": (
        "Dockworkers strike at the harbour",
        "The dockworkers of the harbour walked out on Monday over unpaid wages.",
        "dockworkers",
    ),
    "/2024/05/moscow-journalists/": (
        "Журналисты задержаны",
        "Журналисты независимой газеты задержаны в Москве после публикации расследования.",
        "журналисты",
    ),
    "/2024/05/cairo-press/": (
        "اعتقال الصحفيين",
        "اعتقلت الشرطة الصحفيين في القاهرة بعد نشر التحقيق عن الفساد في المدينة.",
        "الصحفيين",
    ),
}


def searching(config: Config) -> Config:
    """``config`` with the search index on."""
    return replace(config, search=SearchConfig(enabled=True))


def article_html(title: str, sentence: str) -> bytes:
    """A page reader mode keeps as an article: a heading and enough paragraphs of prose."""
    paragraphs = "".join(f"<p>{escape(sentence)} {n}.</p>" for n in range(6))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><article><h1>{escape(title)}</h1>{paragraphs}</article></body></html>"
    ).encode()


def serve_articles(origin: Origin) -> dict[str, str]:
    """Make ``origin`` serve ``ARTICLES``; their URLs by path."""

    def page(body: bytes) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        return handler

    for path, (title, sentence, _) in ARTICLES.items():
        origin.routes[path] = page(article_html(title, sentence))
    return {path: f"https://{ORIGIN_HOST}{path}" for path in ARTICLES}


SEARCH_SECTION = "[search]\nenabled = true\n"


def search_config_file(
    origin: Origin, ca_file: Path, write_config: Callable[[str], Path]
) -> tuple[Path, Config]:
    """A config file with search on, for the commands, and the config it loads to."""
    toml = write_config(config_toml([origin.pin], ca_file, sections=SEARCH_SECTION))
    return toml, load_config(toml, environ={})
