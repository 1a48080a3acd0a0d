"""Static export, the collateral-freedom way: a site's articles as plain files.

``mirror export --site NAME --out DIR`` reads the site's feeds, follows internal links to
``export.depth``, runs every page through the same pipeline as the server, with the same
rules (``reading.load_page_rules``: downloaded lists, the data dir's site rules, each
site's ``remove`` and ``keep_params``) in the same transform processes (``mirror.pool``:
a page past ``server.transform_timeout`` is skipped), and writes a self-contained copy: one
``index.html`` per article under ``articles/``, images under ``media/``, the stylesheet, an
index page and an RSS feed. Every
link is relative, so any static host, CDN bucket or IPFS can serve the directory, and a
censor must block the host itself rather than one site on it.

It is resumable and incremental: each processed article is kept as JSON in the data dir
(``exports/<site>-<hash of DIR>/``, so DIR holds only what is published) and never fetched
again, so an interrupted run picks up where it stopped and a later run adds only new
articles (``--since`` skips feed items older than a date).

Pages are re-rendered from the kept articles on every run, so old pages gain links to new
ones. The run ends with a check that no file references any host at all: not the origin,
not a third party.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from mirror.article import Article
from mirror.errors import MirrorError
from mirror.fetch.client import IMAGE_TYPES, PAGE_TYPES, Fetcher
from mirror.pool import TransformPool, off_loop
from mirror.reading import read_in_pool
from mirror.render.html import environment
from mirror.resources import static_bytes, static_names
from mirror.settings import Config, Site
from mirror.share.download import file_name
from mirror.share.runner import export_run
from mirror.transform.images import checked_image
from mirror.transform.pictures import Recipe, made
from mirror.transform.responsive import SIZES
from mirror.transform.urls import clean_url, format_srcset, iter_url_attributes, parse_srcset
from mirror.transform.variants import Offer, Variant

STATE_DIR = "exports"
SAFE_SEGMENT = re.compile(r"[^\w.~-]")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)
# The signed files a publish writes beside an article's page. They name the mirror's own
# address (where to read the article online, where its key is), so the host check skips them.
DOWNLOADS = {"html": "download.html", "epub": "download.epub"}


@dataclass(frozen=True)
class ExportedArticle:
    """One processed article as kept between runs: the article and where it was found."""

    article: Article
    published: str
    fetched: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ExportedArticle:
        raw = json.loads(text)
        return cls(
            article=Article.from_dict(raw["article"]),
            published=raw["published"],
            fetched=raw["fetched"],
        )


@dataclass
class ExportReport:
    pages: int = 0
    new_pages: int = 0
    images: int = 0
    skipped: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        lines = [
            f"mirror: exported {self.pages} articles ({self.new_pages} new), {self.images} images",
            *(f"mirror: skipped {reason}" for reason in self.skipped),
            *(f"mirror: REFERENCES A HOST: {v}" for v in self.violations),
        ]
        return "\n".join(lines)


# Paths -------------------------------------------------------------------------------------


def state_dir(config: Config, site: Site, out: Path) -> Path:
    """Where the run's kept articles live: in the data dir, never in what gets published."""
    where = hashlib.sha256(str(out.resolve()).encode("utf-8")).hexdigest()[:12]
    return config.server.data_dir / STATE_DIR / f"{site.name}-{where}"


def article_file(url: str) -> str:
    """Where the article at ``url`` is written: ``articles/<origin path>/index.html``.

    Segments are reduced to safe characters (no ``..``, no separators); when that changes
    the path, or the URL has a query, a short hash keeps distinct URLs apart.
    """
    parts = urlsplit(url)
    raw = [s for s in parts.path.split("/") if s]
    safe = [SAFE_SEGMENT.sub("_", s)[:80] for s in raw if s not in {".", ".."}]
    if safe != raw or parts.query or not safe:
        safe.append("h" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:10])
    return posixpath.join("articles", *safe, "index.html")


def media_file(url: str, width: int) -> str:
    """Where the picture at ``url`` is written at ``width`` pixels (a WebP the mirror made)."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    return f"media/{digest}-{width}.webp"


def chosen_widths(config: Config, picture_width: int) -> list[tuple[Variant, int]]:
    """The files an export writes of a picture ``picture_width`` wide: the full-quality WebP
    at each offered width, up to the first that holds the whole picture (none upscaled)."""
    chosen = []
    for width in Offer.of(config.images).widths_for(False):
        chosen.append((Variant(width), min(width, picture_width)))
        if width >= picture_width:
            break
    return chosen


def relative(target: str, from_file: str) -> str:
    """The href from the page ``from_file`` to ``target`` (both relative to the export root)."""
    return quote(posixpath.relpath(target, posixpath.dirname(from_file) or "."))


# Localising a page -------------------------------------------------------------------------


def localise(body_html: str, page: str, pages: dict[str, str], media: dict[str, str]) -> str:
    """``body_html`` with links to exported pages and images made relative to ``page``
    (``media`` maps a picture's URL to its saved files, as a ``srcset``: widest last).

    Anything else that names a host is removed: links to pages not exported (or on other
    sites) keep their text and lose the link; images that were not saved are dropped.
    Pure: the maps say what exists.
    """
    if not body_html.strip():
        return ""
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    for anchor in list(root.iter("a")):
        _localise_anchor(anchor, page, pages)
    for element in list(root.iter("img", "source")):
        _localise_image(element, page, media)
    for element, attribute in list(iter_url_attributes(root)):
        if urlsplit(element.get(attribute, "")).netloc:
            del element.attrib[attribute]
    return (root.text or "") + "".join(lxml.html.tostring(c, encoding="unicode") for c in root)


def _localise_anchor(anchor: HtmlElement, page: str, pages: dict[str, str]) -> None:
    href = anchor.get("href", "")
    if href.startswith("#") or not href:
        return
    target = pages.get(clean_url(href.split("#", 1)[0]))
    if target is None:
        anchor.drop_tag()
        return
    anchor.attrib.clear()
    anchor.set("href", relative(target, page))


def _localise_image(element: HtmlElement, page: str, media: dict[str, str]) -> None:
    element.attrib.pop("srcset", None)
    saved = media.get(element.get("src", ""))
    if saved is None:
        element.drop_tree()
        return
    files = parse_srcset(saved)
    element.set("src", relative(files[-1][0], page))
    if len(files) > 1:
        element.set("srcset", format_srcset([(relative(f, page), d) for f, d in files]))
        element.set("sizes", SIZES)


def image_urls(body_html: str) -> list[str]:
    if not body_html.strip():
        return []
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    return [src for img in root.iter("img") if (src := img.get("src", "")).startswith("http")]


# The host check ----------------------------------------------------------------------------


def find_host_references(out: Path) -> list[str]:
    """Every URL in the export that names a host (``file: url``); an export must have none."""
    found = []
    for path in sorted(out.rglob("*")):
        if path.suffix not in {".html", ".xml", ".css"} or path.name in DOWNLOADS.values():
            continue
        where = path.relative_to(out).as_posix()
        found += [f"{where}: {url}" for url in _urls_in(path) if _names_host(url)]
    return found


def _names_host(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in {"", "mailto"}


def _urls_in(path: Path) -> Iterator[str]:
    text = path.read_text("utf-8")
    if path.suffix == ".css":
        yield from CSS_URL.findall(text)
        return
    if path.suffix == ".xml":
        root = lxml.etree.fromstring(text.encode("utf-8"))
        yield from (link.text or "" for link in root.iter("link"))
        for description in root.iter("description"):
            yield from _html_urls(description.text or "")
        return
    yield from _html_urls(text)


def _html_urls(text: str) -> Iterator[str]:
    if not text.strip():
        return
    for element in lxml.html.document_fromstring(text).iter():
        if not isinstance(element.tag, str):
            continue
        for name in ("href", "src", "action", "poster", "cite", "data", "formaction"):
            if element.get(name) is not None:
                yield element.get(name, "")
        yield from (u for u, _ in parse_srcset(element.get("srcset", "")))
        yield from CSS_URL.findall(element.get("style", ""))


# The run -----------------------------------------------------------------------------------


class ExportFiles:
    """A site's export in one directory: the articles kept for it (in the data dir), the
    images saved, and the pages written from them; however the articles were found."""

    def __init__(self, config: Config, site: Site, out: Path) -> None:
        self._config = config
        self._site = site
        self._out = out
        self._state = state_dir(config, site, out)
        self._media: dict[str, str] | None = None
        self.report = ExportReport()

    def kept(self, url: str) -> ExportedArticle | None:
        path = self._kept_path(url)
        return ExportedArticle.from_json(path.read_text("utf-8")) if path.exists() else None

    def keep(self, url: str, kept: ExportedArticle) -> None:
        path = self._kept_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kept.to_json(), "utf-8")
        self.report.new_pages += 1

    def save_picture(self, url: str, files: dict[str, tuple[int, bytes]]) -> None:
        """Write the files of the picture at ``url`` (each one's width and bytes by path) and
        note them as its ``srcset``, widest last."""
        index = self._media_index()
        for name, (_, data) in files.items():
            (self._out / name).parent.mkdir(parents=True, exist_ok=True)
            (self._out / name).write_bytes(data)
        index[url] = format_srcset([(name, f"{w}w") for name, (w, _) in files.items()])
        self._state.mkdir(parents=True, exist_ok=True)
        (self._state / "media.json").write_text(json.dumps(index), "utf-8")

    def saved_images(self) -> set[str]:
        return set(self._media_index())

    def _media_index(self) -> dict[str, str]:
        """Saved images by URL, read once a run; one whose files are gone counts as not saved."""
        if self._media is None:
            path = self._state / "media.json"
            index: dict[str, str] = json.loads(path.read_text("utf-8")) if path.exists() else {}
            self._media = {
                url: files
                for url, files in index.items()
                if all((self._out / name).is_file() for name, _ in parse_srcset(files))
            }
        return self._media

    def _kept_path(self, url: str) -> Path:
        return self._state / "articles" / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def kept_articles(self) -> list[ExportedArticle]:
        folder = self._state / "articles"
        kept = [ExportedArticle.from_json(p.read_text("utf-8")) for p in folder.glob("*.json")]
        return sorted(kept, key=lambda k: k.published, reverse=True)

    def write_site(self) -> None:
        """Render every kept article, the index and the feed; copy the stylesheet."""
        kept = self.kept_articles()
        pages = {clean_url(k.article.url): article_file(k.article.url) for k in kept}
        media = self._media_index()
        for item in kept:
            page = pages[clean_url(item.article.url)]
            body = localise(item.article.body, page, pages, media)
            files = self._downloads(page, item.article.title)
            text = self._render("export_article.html", page, item=item, body=body, files=files)
            self._write(page, text)
        entries = [(k, pages[clean_url(k.article.url)]) for k in kept]
        self._write("index.html", self._render("export_index.html", "index.html", entries=entries))
        bodies = [localise(k.article.body, "feed.xml", pages, media) for k in kept]
        feed = self._render("export_feed.xml", "feed.xml", entries=entries, bodies=bodies)
        self._write("feed.xml", feed)
        (self._out / "static").mkdir(parents=True, exist_ok=True)
        for name in static_names():
            (self._out / "static" / name).write_bytes(static_bytes(name))
        self.report.pages = len(kept)
        self.report.images = len(media)

    def _downloads(self, page: str, title: str) -> list[tuple[str, str, str]]:
        """The signed files beside ``page`` (a publish writes them): label, path, and the
        name a browser saves it under (the title's, as the mirror's downloads have)."""
        folder = posixpath.dirname(page)
        found = [(f, posixpath.join(folder, name)) for f, name in DOWNLOADS.items()]
        return [
            (f.upper(), path, file_name(title, f))
            for f, path in found
            if (self._out / path).is_file()
        ]

    def _render(self, template: str, page: str, **values: object) -> str:
        return (
            environment()
            .get_template(template)
            .render(site=self._site, here=page, relative=relative, **values)
        )

    def _write(self, name: str, text: str) -> None:
        path = self._out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


class Exporter(ExportFiles):
    """One export run of one site into one directory, fetching what it has not kept."""

    def __init__(
        self, config: Config, site: Site, out: Path, fetcher: Fetcher, pool: TransformPool
    ) -> None:
        super().__init__(config, site, out)
        self._fetcher = fetcher
        self._pool = pool

    async def visit(self, url: str, published: datetime.datetime | None) -> Article | None:
        """The article at ``url``, kept from an earlier run or fetched and kept now."""
        kept = await self._article(url, published)
        return None if kept is None else kept.article

    async def _article(
        self, url: str, published: datetime.datetime | None
    ) -> ExportedArticle | None:
        kept = self.kept(url)
        if kept is not None:
            return kept
        try:
            fetched = await self._fetcher.fetch(url, PAGE_TYPES)
            article = await read_in_pool(
                self._pool, fetched.body, fetched.charset, fetched.final_url
            )
            await self._save_images(article.body)
        except MirrorError as error:
            self.report.skipped.append(f"{url} ({type(error).__name__})")
            return None
        now = datetime.datetime.now(datetime.UTC)
        stamp = published.isoformat() if published else article.published
        kept = ExportedArticle(article=article, published=stamp, fetched=now.isoformat())
        self.keep(url, kept)
        return kept

    async def _save_images(self, body: str) -> None:
        saved = self.saved_images()
        for url in image_urls(body):
            if url in saved:
                continue
            try:
                self.save_picture(url, await self._picture_files(url))
            except MirrorError:
                continue
            saved.add(url)

    async def _picture_files(self, url: str) -> dict[str, tuple[int, bytes]]:
        """The files the mirror serves of the picture at ``url`` (``chosen_widths``)."""
        image = await self._fetcher.fetch(url, IMAGE_TYPES)
        images = self._config.images
        checked_image(image.body, images.max_bytes)
        variants = tuple(Variant(width) for width in Offer.of(images).widths_for(False))
        result = await off_loop(self._pool, made, image.body, Recipe.of(images), variants)
        return {
            media_file(url, width): (width, result.files[variant.name])
            for variant, width in chosen_widths(self._config, result.width)
        }


async def run_export(
    config: Config,
    site_name: str,
    out: Path,
    depth: int,
    since: datetime.datetime | None = None,
    stream: TextIO | None = None,
) -> ExportReport:
    """Export ``site_name`` into ``out``; the report lists skipped pages and host references."""
    async with export_run(config, site_name, since, stream) as run:
        exporter = Exporter(config, run.site, out, run.fetcher, await run.transform_pool())
        await run.crawl(depth, exporter.visit)
    await asyncio.to_thread(exporter.write_site)  # thousands of pages: off the event loop
    exporter.report.violations = await asyncio.to_thread(find_host_references, out)
    return exporter.report
