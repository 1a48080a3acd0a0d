"""Site feeds: reading RSS and Atom in all their versions, and re-publishing them through the
mirror.

Pure functions, no I/O. Real feeds come as RSS 0.9x, 1.0 (RDF) and 2.0 and as Atom, often
broken (an unescaped ``&``, raw HTML, bytes in another encoding than declared), so
feedparser reads them: it falls back to a forgiving parser where XML gives up. Feed bytes are
origin bytes like any other, so feedparser only ever gets them in a ``BytesIO``: given
``bytes`` or ``str`` it would take them for a file name or a URL and read that. Its XML
parser leaves external entities and DTDs unread, and feedparser keeps only entity
declarations with literal values.

feedparser's HTML sanitiser and relative-URI resolver are off. Item HTML goes through the
same strip → sanitise → rewrite stages as articles, so one sanitiser, nh3, decides what a
reader gets: a second one would make the result depend on two allowlists, and feedparser's
runs on a regex-driven parser that re-serialises markup before ours sees it. Relative URLs
are resolved by our ``absolutize`` against the ``xml:base`` feedparser reports for each piece
of content, the same code that resolves them in articles.

Re-publishing writes a new feed from what was read (RSS 2.0 for any RSS, Atom 1.0 for Atom),
so only what is written here reaches a feed reader: links become mirror links, item HTML is
cleaned, and nothing that could make a reader contact the origin (enclosures, images,
comment feeds) is carried over.
"""

from __future__ import annotations

import calendar
import datetime
import email.utils
import html
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml import etree

from mirror.links import Kind, LinkBuilder
from mirror.render.html import inner_html
from mirror.transform.filters import default_rules
from mirror.transform.rewrite import rewrite_body
from mirror.transform.sanitise import sanitise
from mirror.transform.strip import strip_junk
from mirror.transform.urls import absolutize, clean_url, map_urls

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
SUMMARY_CHARS = 280
# feedparser's names; plain "atom" is a <feed> outside the Atom namespace, which is not Atom.
ATOM_VERSIONS = frozenset({"atom01", "atom02", "atom03", "atom10"})
RSS_TYPE = "application/rss+xml"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Parsed = Mapping[str, Any]  # feedparser's dictionaries: a feed, an entry, a text construct


class FeedError(ValueError):
    """The bytes are not an RSS or Atom feed we can read."""


@dataclass(frozen=True)
class FeedItem:
    """One article announced by a feed; ``link`` is the origin URL, tracking removed."""

    title: str
    link: str
    published: datetime.datetime | None
    summary: str


@dataclass(frozen=True)
class FeedLinks:
    """How re-published feed URLs are made: absolute mirror URLs under ``base``."""

    base: str
    links: LinkBuilder
    is_mirrored: Callable[[str], bool]

    def page(self, url: str) -> str:
        """The mirror URL of an article; links this mirror cannot serve stay as they are."""
        if not self.is_mirrored(url):
            return url
        return self.base + self.links.path(clean_url(url), Kind.PAGE)


def parse(body: bytes, url: str = "") -> Parsed:
    """feedparser's reading of ``body``; ``FeedError`` unless it is RSS or Atom.

    ``url`` is the feed's own address: the base of relative links where ``xml:base`` is not.
    """
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-location": url} if url else {},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception as exc:  # feedparser's own bugs on hostile bytes: one error for callers
        raise FeedError(f"unreadable feed: {type(exc).__name__}") from exc
    version = result.get("version") or ""
    if not (version.startswith("rss") or version in ATOM_VERSIONS):
        reason = result.get("bozo_exception") or f"version {version or 'unknown'}"
        raise FeedError(f"not an RSS or Atom feed: {reason}")
    return result  # type: ignore[no-any-return]


def read_items(body: bytes, url: str = "") -> list[FeedItem]:
    """The items of a feed, in the feed's order; ``url`` is where it came from, if known."""
    return [_item(entry) for entry in parse(body, url)["entries"]]


def _item(entry: Parsed) -> FeedItem:
    return FeedItem(
        title=_words(entry.get("title_detail")),
        link=clean_url(entry.get("link", "")),
        published=_date(entry),
        summary=_plain(sanitise(_html(_summary(entry) or _content(entry)))),
    )


def _summary(entry: Parsed) -> Parsed | None:
    detail: Parsed | None = entry.get("summary_detail")
    return detail


def _content(entry: Parsed) -> Parsed | None:
    contents: list[Parsed] = entry.get("content", [])
    return contents[0] if contents else None


def _html(construct: Parsed | None) -> str:
    """The HTML of a text construct (title, summary, content), whatever its type."""
    if construct is None:
        return ""
    value = _xml(str(construct.get("value", "")))
    return value if construct.get("type") in HTML_TYPES else html.escape(value)


def _words(construct: Parsed | None) -> str:
    """A title or subtitle as plain text: feed readers show them as text, so markup goes."""
    return _text(sanitise(_html(construct)))


def _date(parsed: Parsed) -> datetime.datetime | None:
    """When an item came out: published, else last updated."""
    return _moment(parsed, "published") or _moment(parsed, "updated")


def _moment(parsed: Parsed, name: str) -> datetime.datetime | None:
    """One of feedparser's dates, which it gives as a UTC ``struct_time``."""
    moment = parsed.get(f"{name}_parsed")
    if not moment:
        return None
    return datetime.datetime.fromtimestamp(calendar.timegm(moment), datetime.UTC)


def _text(fragment: str) -> str:
    """The text of an HTML snippet, whitespace collapsed."""
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return " ".join(root.text_content().split())


def _plain(fragment: str) -> str:
    """The text of an HTML snippet, cut to a summary's length."""
    text = _text(fragment)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def clean_item_html(fragment: str, item_url: str, links: FeedLinks) -> str:
    """Item HTML made safe for feed readers: stripped, sanitised, every URL into the mirror.

    Relative URLs in ``fragment`` resolve against ``item_url``.
    """
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    absolutize(root, item_url)
    strip_junk(root, item_url, default_rules())
    cleaned = sanitise(inner_html(root))
    rewritten = rewrite_body(cleaned, links.links, links.is_mirrored)
    if not rewritten.strip():
        return ""
    final = lxml.html.fragment_fromstring(rewritten, create_parent="div")
    map_urls(final, lambda url: url if url.startswith("#") else urljoin(links.base + "/", url))
    return inner_html(final)


def republish(body: bytes, links: FeedLinks, site_url: str, feed_url: str) -> tuple[bytes, str]:
    """The feed as RSS 2.0 or Atom 1.0, pointing only at the mirror, and its content type.

    ``site_url`` and ``feed_url`` are the mirror's site index and this feed's own address.
    """
    parsed = parse(body)
    if str(parsed["version"]).startswith("rss"):
        root, content_type = _rss(parsed, links, site_url, feed_url), RSS_TYPE
    else:
        root, content_type = _atom(parsed, links, site_url, feed_url), "application/atom+xml"
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return out, content_type


@dataclass(frozen=True)
class KeptItem:
    """An article in a feed the mirror writes from its own store (a site's removed
    articles): ``link`` is its absolute mirror URL, ``moment`` when it was removed."""

    title: str
    link: str
    moment: datetime.datetime
    note: str
    body_html: str


@dataclass(frozen=True)
class KeptFeed:
    """What an RSS 2.0 channel of kept articles says about itself; addresses are the mirror's."""

    title: str
    site_url: str
    feed_url: str
    language: str


def kept_feed(channel: KeptFeed, items: list[KeptItem]) -> bytes:
    """RSS 2.0 of articles from the store: each with its note and a plain-text summary of its
    stored (already sanitised) body, so nothing in it points at the origin."""
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM})
    head = etree.SubElement(root, "channel")
    etree.SubElement(head, f"{{{ATOM}}}link", href=channel.feed_url, rel="self", type=RSS_TYPE)
    _add(head, "title", channel.title)
    _add(head, "link", channel.site_url)
    _add(head, "description", channel.title)
    _add(head, "language", channel.language)
    if items:
        _add(head, "lastBuildDate", _rfc822(items[0].moment))
    for kept in items:
        item = etree.SubElement(head, "item")
        _add(item, "title", kept.title)
        _add(item, "link", kept.link)
        _add(item, "guid", kept.link, isPermaLink="true")
        _add(item, "pubDate", _rfc822(kept.moment))
        summary = _plain(kept.body_html)
        _add(item, "description", f"{kept.note} {summary}" if summary else kept.note)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return out


def _add(parent: etree._Element, tag: str, text: str, **attributes: str) -> None:
    """A child element holding ``text``; none when there is no text to hold."""
    if text:
        etree.SubElement(parent, tag, attributes).text = _xml(text)


def _xml(text: str) -> str:
    """``text`` without what XML cannot hold, which a forgiving parse can return."""
    return NOT_XML.sub("", text)


def _identity(parsed: Parsed, links: FeedLinks, fallback: str = "") -> str:
    """An id for feed readers: the feed's own, else its link, else ``fallback``; an id that is
    an address on a mirrored site becomes the mirror's, like every other origin link."""
    return links.page(str(parsed.get("id") or parsed.get("link") or fallback))


def _cleaned(construct: Parsed | None, link: str, links: FeedLinks) -> str:
    """Cleaned HTML of a summary or content; relative URLs resolve against its ``xml:base``."""
    base = str(construct.get("base") or link) if construct is not None else link
    return clean_item_html(_html(construct), base, links)


def _rfc822(moment: datetime.datetime | None) -> str:
    return email.utils.format_datetime(moment) if moment else ""


def _iso(moment: datetime.datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _rss(parsed: Parsed, links: FeedLinks, site_url: str, feed_url: str) -> etree._Element:
    feed = parsed["feed"]
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM, "content": CONTENT, "dc": DC})
    channel = etree.SubElement(root, "channel")
    etree.SubElement(channel, f"{{{ATOM}}}link", href=feed_url, rel="self", type=RSS_TYPE)
    _add(channel, "title", _words(feed.get("title_detail")) or site_url)
    _add(channel, "link", site_url)
    _add(channel, "description", _words(feed.get("subtitle_detail")))
    _add(channel, "language", str(feed.get("language") or ""))
    _add(channel, "lastBuildDate", _rfc822(_moment(feed, "updated")))
    for entry in parsed["entries"]:
        _rss_item(etree.SubElement(channel, "item"), entry, links)
    return root


def _rss_item(item: etree._Element, entry: Parsed, links: FeedLinks) -> None:
    link = str(entry.get("link", ""))
    page = links.page(link)
    _add(item, "title", _words(entry.get("title_detail")))
    _add(item, "link", page)
    _add(item, "guid", _identity(entry, links), isPermaLink="false")
    _add(item, "pubDate", _rfc822(_date(entry)))
    _add(item, f"{{{DC}}}creator", str(entry.get("author") or ""))
    for tag in entry.get("tags", []):
        _add(item, "category", str(tag.get("term") or ""))
    _add(item, "description", _cleaned(_summary(entry), link, links))
    _add(item, f"{{{CONTENT}}}encoded", _cleaned(_content(entry), link, links))


def _atom(parsed: Parsed, links: FeedLinks, site_url: str, feed_url: str) -> etree._Element:
    feed = parsed["feed"]
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    etree.SubElement(root, f"{{{ATOM}}}link", href=site_url, rel="alternate")
    etree.SubElement(root, f"{{{ATOM}}}link", href=feed_url, rel="self")
    _add(root, f"{{{ATOM}}}id", _identity(feed, links, site_url))
    _add(root, f"{{{ATOM}}}title", _words(feed.get("title_detail")) or site_url)
    _add(root, f"{{{ATOM}}}subtitle", _words(feed.get("subtitle_detail")))
    _add(root, f"{{{ATOM}}}updated", _iso(_moment(feed, "updated") or _moment(feed, "published")))
    for entry in parsed["entries"]:
        _atom_entry(etree.SubElement(root, f"{{{ATOM}}}entry"), entry, links)
    return root


def _atom_entry(element: etree._Element, entry: Parsed, links: FeedLinks) -> None:
    link = str(entry.get("link", ""))
    page = links.page(link)
    _add(element, f"{{{ATOM}}}id", _identity(entry, links))
    _add(element, f"{{{ATOM}}}title", _words(entry.get("title_detail")))
    _add(element, f"{{{ATOM}}}updated", _iso(_moment(entry, "updated") or _date(entry)))
    _add(element, f"{{{ATOM}}}published", _iso(_moment(entry, "published")))
    if entry.get("author"):
        author = etree.SubElement(element, f"{{{ATOM}}}author")
        _add(author, f"{{{ATOM}}}name", str(entry["author"]))
    if page:
        etree.SubElement(element, f"{{{ATOM}}}link", href=_xml(page), rel="alternate")
    for tag in entry.get("tags", []):
        if tag.get("term"):
            etree.SubElement(element, f"{{{ATOM}}}category", term=_xml(str(tag["term"])))
    _add(element, f"{{{ATOM}}}summary", _cleaned(_summary(entry), link, links), type="html")
    _add(element, f"{{{ATOM}}}content", _cleaned(_content(entry), link, links), type="html")
