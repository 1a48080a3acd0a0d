"""Pages from templates, with autoescaping; the only place HTML for readers is made.

One Jinja2 environment per interface language, each with that language's gettext
translations installed, so rendering never swaps global state between requests. What a
reader chose (language, low-bandwidth mode) travels in the query string, never in a
cookie: ``Reader.link`` carries it on to every page the templates link to.
"""

from __future__ import annotations

import contextvars
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from urllib.parse import urlencode, urlsplit

import jinja2
import lxml.html

from mirror.article import Article, Served
from mirror.errors import MirrorError, SiteRefused
from mirror.render.i18n import LANGUAGES, Language, choose, long_date, translations
from mirror.settings import ReaderConfig, Site

WORDS_PER_MINUTE = 230
CJK_CHARS_PER_MINUTE = 400
DIRECTED_BLOCKS = ("p", "blockquote", "li", "h2", "h3", "h4", "h5", "h6", "figcaption", "dd", "td")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


PICTURE_MODES = ("full", "light", "none")


@dataclass(frozen=True)
class Reader:
    """What one reader asked for: interface language and picture mode.

    ``pictures`` is ``full``, ``light`` (smaller files, lower quality, animations still) or
    ``none`` (each picture a link, loaded only when asked: the low-bandwidth mode).
    ``explicit_language`` and ``explicit_pictures`` say whether the choice came from the
    URL; only then is it carried on in links (otherwise the browser's own settings and the
    mirror's default apply).
    """

    language: Language
    pictures: str = "full"
    path: str = "/"
    explicit_language: bool = False
    explicit_pictures: bool = False
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls, path: str, query: Mapping[str, str], accept_language: str, pictures_default: str
    ) -> Reader:
        language, explicit = choose(query.get("hl"), accept_language)
        chosen = chosen_pictures(query)
        pictures = chosen or pictures_default
        kept = {k: query[k] for k in ("page",) if k in query and query[k].isdigit()}
        return cls(language, pictures, path, explicit, chosen is not None, kept)

    @property
    def lite(self) -> bool:
        """Whether pictures are shown only on request."""
        return self.pictures == "none"

    def link(self, path: str, **params: str | int) -> str:
        """``path`` with this reader's explicit choices (and ``params``) in its query."""
        query: dict[str, str | int] = {}
        if self.explicit_language:
            query["hl"] = self.language.tag
        if self.explicit_pictures:
            query["pics"] = self.pictures
        query.update(params)
        return path + ("?" + urlencode(query) if query else "")

    def with_language(self, tag: str) -> str:
        """This page in another interface language."""
        chosen = replace(self, language=LANGUAGES[tag], explicit_language=True)
        return chosen.link(self.path, **self.params)

    def with_pictures(self, mode: str) -> str:
        """This page with pictures in ``mode`` (one of ``PICTURE_MODES``)."""
        return replace(self, pictures=mode, explicit_pictures=True).link(self.path, **self.params)


def chosen_pictures(query: Mapping[str, str]) -> str | None:
    """The picture mode a query names: ``pics=``, or the older ``lite=1`` (none) and
    ``lite=0`` (full); None when it names none."""
    mode = query.get("pics")
    if mode in PICTURE_MODES:
        return mode
    return {"1": "none", "0": "full"}.get(query.get("lite", ""))


@dataclass(frozen=True)
class Entry:
    """An article in a list (home, site index): title, mirror link, date and summary."""

    title: str
    href: str
    published: datetime.datetime | None = None
    summary: str = ""


@dataclass(frozen=True)
class RemovedEntry:
    """An article its site removed, in the site's list of them: when, and since when kept."""

    title: str
    href: str
    removed: datetime.datetime
    saved: datetime.datetime


@dataclass(frozen=True)
class SiteListing:
    """A site on the home page with its latest entries (``failed``: its feeds were down)."""

    site: Site
    entries: tuple[Entry, ...]
    failed: bool = False


@dataclass(frozen=True)
class SearchBox:
    """The search form of a page, shown only while search is enabled: where it sends, the
    longest query it takes, and what it is filled with."""

    action: str
    limit: int
    query: str = ""
    removed_only: bool = False


# The alternate addresses of this mirror, set per request by the server's middleware;
# templates rendered outside a request (tests, ``mirror extract``) show none.
ALTERNATES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "alternates", default=()
)


def alternate_addresses() -> tuple[str, ...]:
    """The template global behind the "if this address is blocked, try" line."""
    return ALTERNATES.get()


@cache
def environment(tag: str = "en") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mirror.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(tag), newstyle=True)  # type: ignore[attr-defined]
    env.globals["languages"] = LANGUAGES
    env.globals["alternate_addresses"] = alternate_addresses
    env.filters["date"] = lambda value: long_date(value, LANGUAGES[tag])
    return env


def render_page(reader: Reader, template: str, **context: object) -> str:
    """Any template, for this reader's language, with ``reader`` in its context."""
    page = environment(reader.language.tag).get_template(template)
    return page.render(reader=reader, **context)


def render_home(reader: Reader, listings: list[SiteListing], box: SearchBox | None = None) -> str:
    return render_page(reader, "home.html", listings=listings, box=box)


def render_site(
    reader: Reader,
    site: Site,
    entries: list[Entry],
    page: int,
    pages: int,
    failed: bool,
    box: SearchBox | None = None,
) -> str:
    return render_page(
        reader,
        "site.html",
        site=site,
        entries=entries,
        page=page,
        pages=pages,
        failed=failed,
        box=box,
    )


def render_removed(
    reader: Reader,
    site: Site,
    entries: list[RemovedEntry],
    page: int,
    pages: int,
    box: SearchBox | None = None,
) -> str:
    return render_page(
        reader, "removed.html", site=site, entries=entries, page=page, pages=pages, box=box
    )


def removal_note(
    language: Language, site_name: str, removed: datetime.datetime, saved: datetime.datetime
) -> str:
    """What an article its origin removed is labelled with, on its page and in feeds."""
    note = translations(language.tag).gettext(
        "Removed from %(site)s on %(removed)s — this copy was saved on %(saved)s."
    )
    return note % {
        "site": site_name,
        "removed": long_date(removed.date(), language),
        "saved": long_date(saved.date(), language),
    }


def render_about(reader: Reader, settings: ReaderConfig, sites: tuple[Site, ...]) -> str:
    return render_page(reader, "about.html", settings=settings, sites=sites)


@dataclass(frozen=True)
class ArticleView:
    """What the article page shows besides the body: where it came from, how to share it."""

    share_url: str
    site: Site | None = None
    download_path: str = ""
    share_action: str = ""
    pictures_note: str = ""


def render_article(reader: Reader, served: Served, body_html: str, view: ArticleView) -> str:
    """``body_html`` is the rewritten, sanitised body; everything else is escaped."""
    article = served.stored.article
    fetched = datetime.datetime.fromtimestamp(served.stored.fetched_at, datetime.UTC)
    removal = ""
    if served.stored.removed_at is not None:
        removed = datetime.datetime.fromtimestamp(served.stored.removed_at, datetime.UTC)
        site_name = view.site.display_name if view.site else article.site_name
        removal = removal_note(reader.language, site_name or host_of(article.url), removed, fetched)
    label = translations(reader.language.tag).gettext("Show image")
    body = present_body(body_html, reader.lite, label)
    return render_page(
        reader,
        "article.html",
        article=article,
        body=body,
        stale=served.stale,
        source=served.stored.source,
        fetched=fetched,
        removal=removal,
        published=published_date(article),
        minutes=reading_minutes(body_html),
        view=view,
    )


def render_share(reader: Reader, share_url: str, article_path: str) -> str:
    """The page that hands out one fresh link to an article (``article_path`` is its page)."""
    return render_page(reader, "share.html", share_url=share_url, article_path=article_path)


def render_error(
    reader: Reader, error: MirrorError, status: int, site: str = "", archive: str = ""
) -> str:
    """The error page; ``site`` is the name an error's words may give as ``%(site)s``. A
    site's refusal offers the contribute form and the ``archive``'s captures of the page."""
    gettext = translations(reader.language.tag).gettext
    words = {"site": site}
    return render_page(
        reader,
        "error.html",
        title=gettext(error.title) % words,
        hint=gettext(error.hint) % words,
        detail=error.detail,
        status=status,
        captures=f"{archive}/*/{error.url}" if isinstance(error, SiteRefused) and archive else "",
        refused=isinstance(error, SiteRefused),
    )


def host_of(url: str) -> str:
    """The host name an address names, for a site the mirror has no title for (open mode)."""
    return urlsplit(url).hostname or ""


def published_date(article: Article) -> datetime.date | None:
    """The article's date when the page gave one we can read (ISO 8601), else ``None``."""
    try:
        return datetime.date.fromisoformat(article.published[:10])
    except ValueError:
        return None


def reading_minutes(body_html: str) -> int:
    """Minutes to read a body: words for alphabetic scripts, characters for CJK."""
    if not body_html.strip():
        return 1
    text = lxml.html.fragment_fromstring(body_html, create_parent="div").text_content()
    cjk = len(_CJK.findall(text))
    words = len(_CJK.sub(" ", text).split())
    return max(1, round(words / WORDS_PER_MINUTE + cjk / CJK_CHARS_PER_MINUTE))


def present_body(body_html: str, lite: bool, image_label: str = "") -> str:
    """The body as this reader sees it, from one parse.

    Blocks without a declared direction get ``dir="auto"``, so a Persian or Uyghur quote in
    a Chinese or English article is laid out right to left even when the origin forgot to
    say so. In low-bandwidth mode each image becomes a link to it, loaded only when asked,
    named by its alt text or else by ``image_label``.
    """
    if not body_html.strip():
        return body_html
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    for block in root.iter(*DIRECTED_BLOCKS):
        if not block.get("dir"):
            block.set("dir", "auto")
    if lite:
        _images_on_request(root, image_label)
    return inner_html(root)


def inner_html(root: lxml.html.HtmlElement) -> str:
    """The markup inside ``root`` (a wrapper made by ``fragment_fromstring``)."""
    return (root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root
    )


def _images_on_request(root: lxml.html.HtmlElement, label: str) -> None:
    for source in list(root.iter("source")):
        source.drop_tag()  # libxml2's HTML parser may nest the next element inside it
    for image in list(root.iter("img")):
        src = image.get("src")
        parent = image.getparent()
        if not src or parent is None:
            image.drop_tree()
            continue
        link = lxml.html.Element("a", href=src)
        link.set("class", "image-request")
        link.text = image.get("alt") or label
        link.tail = image.tail
        parent.replace(image, link)
