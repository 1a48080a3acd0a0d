"""Site feeds: reading RSS 2.0 and Atom 1.0, and re-publishing them through the mirror.

Pure functions, no I/O. Feed XML is origin bytes like any other, so it is parsed with
entities, DTDs and the network off. Re-publishing keeps the feed's own format but only an
allowlist of elements: links become mirror links, item HTML goes through the same
strip → sanitise → rewrite stages as articles, and everything else that could make a feed
reader contact the origin (enclosures, images, comment feeds) is dropped.
"""

from __future__ import annotations

import datetime
import email.utils
import html
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

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

RSS_CHANNEL_KEEP = frozenset({"title", "link", "description", "language", "lastBuildDate"})
RSS_ITEM_KEEP = frozenset(
    {"title", "link", "guid", "pubDate", "description", "category", f"{{{CONTENT}}}encoded"}
) | {f"{{{DC}}}creator", f"{{{DC}}}date"}
ATOM_FEED_KEEP = frozenset({"id", "title", "subtitle", "updated", "author", "link", "entry"})
ATOM_ENTRY_KEEP = frozenset(
    {"id", "title", "updated", "published", "author", "link", "summary", "content", "category"}
)


class FeedError(ValueError):
    """The bytes are not an RSS 2.0 or Atom 1.0 feed we can read."""


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


def parse(body: bytes) -> etree._Element:
    """The feed's root element; ``FeedError`` for anything else."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(str(exc)) from exc
    if root.tag not in {"rss", f"{{{ATOM}}}feed"}:
        raise FeedError(f"not RSS 2.0 or Atom 1.0: <{root.tag!s}>")
    return root


def read_items(body: bytes) -> list[FeedItem]:
    """The items of a feed, in the feed's order."""
    root = parse(body)
    if root.tag == "rss":
        return [_rss_item(item) for item in root.iterfind("channel/item")]
    return [_atom_item(entry) for entry in root.iterfind(f"{{{ATOM}}}entry")]


def _rss_item(item: etree._Element) -> FeedItem:
    link = _text(item.find("link")) or _text(item.find("guid"))
    date = _text(item.find("pubDate"))
    published = None
    if date:
        try:
            published = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            published = None
    return FeedItem(
        title=_text(item.find("title")),
        link=clean_url(link),
        published=published,
        summary=_plain(_text(item.find("description"))),
    )


def _atom_item(entry: etree._Element) -> FeedItem:
    date = _text(entry.find(f"{{{ATOM}}}published")) or _text(entry.find(f"{{{ATOM}}}updated"))
    published = None
    if date:
        try:
            published = datetime.datetime.fromisoformat(date)
        except ValueError:
            published = None
    summary = entry.find(f"{{{ATOM}}}summary")
    if summary is None:
        summary = entry.find(f"{{{ATOM}}}content")
    return FeedItem(
        title=_text(entry.find(f"{{{ATOM}}}title")),
        link=clean_url(_atom_link(entry)),
        published=published,
        summary=_plain(_atom_html(summary)) if summary is not None else "",
    )


def _atom_link(entry: etree._Element) -> str:
    for link in entry.iterfind(f"{{{ATOM}}}link"):
        if link.get("rel", "alternate") == "alternate":
            return link.get("href", "")
    return ""


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _plain(fragment: str) -> str:
    """The text of an HTML snippet, cut to a summary's length."""
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    text = " ".join(root.text_content().split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def _atom_html(element: etree._Element) -> str:
    """The HTML inside an Atom text construct, whatever its ``type``."""
    kind = element.get("type", "text")
    if kind == "xhtml":
        return "".join(etree.tostring(child, encoding="unicode") for child in element)
    text = _text(element)
    return text if kind == "html" else html.escape(text)


def clean_item_html(fragment: str, item_url: str, links: FeedLinks) -> str:
    """Item HTML made safe for feed readers: stripped, sanitised, every URL into the mirror."""
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
    """The feed in its own format, pointing only at the mirror, and its content type.

    ``site_url`` and ``feed_url`` are the mirror's site index and this feed's own address.
    """
    root = parse(body)
    if root.tag == "rss":
        _republish_rss(root, links, site_url, feed_url)
        content_type = "application/rss+xml"
    else:
        _republish_atom(root, links, site_url, feed_url)
        content_type = "application/atom+xml"
    etree.cleanup_namespaces(root)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return out, content_type


def _keep_only(parent: etree._Element, keep: frozenset[str]) -> None:
    for child in list(parent):
        if not isinstance(child.tag, str) or child.tag not in keep:
            parent.remove(child)


def _republish_rss(root: etree._Element, links: FeedLinks, site_url: str, feed_url: str) -> None:
    channel = root.find("channel")
    if channel is None:
        raise FeedError("RSS without a channel")
    for child in list(root):
        if child is not channel:
            root.remove(child)
    _keep_only(channel, RSS_CHANNEL_KEEP | {"item"})
    for link in channel.iterfind("link"):
        link.text = site_url
    self_link = etree.SubElement(channel, f"{{{ATOM}}}link", nsmap={"atom": ATOM})
    self_link.attrib.update({"href": feed_url, "rel": "self", "type": "application/rss+xml"})
    channel.insert(0, self_link)
    for item in channel.iterfind("item"):
        _republish_rss_item(item, links)


def _republish_rss_item(item: etree._Element, links: FeedLinks) -> None:
    _keep_only(item, RSS_ITEM_KEEP)
    origin = _text(item.find("link")) or _text(item.find("guid"))
    for link in item.iterfind("link"):
        link.text = links.page(_text(link))
    for guid in item.iterfind("guid"):
        if guid.get("isPermaLink", "true") == "true":
            guid.text = links.page(_text(guid))
    for name in ("description", f"{{{CONTENT}}}encoded"):
        for element in item.iterfind(name):
            element.text = clean_item_html(_text(element), origin, links)


def _republish_atom(root: etree._Element, links: FeedLinks, site_url: str, feed_url: str) -> None:
    _keep_only(root, frozenset(f"{{{ATOM}}}{name}" for name in ATOM_FEED_KEEP))
    for link in root.findall(f"{{{ATOM}}}link"):
        root.remove(link)
    alternate = etree.Element(f"{{{ATOM}}}link", href=site_url, rel="alternate")
    own = etree.Element(f"{{{ATOM}}}link", href=feed_url, rel="self")
    root.insert(0, own)
    root.insert(0, alternate)
    for entry in root.iterfind(f"{{{ATOM}}}entry"):
        _republish_atom_entry(entry, links)


def _republish_atom_entry(entry: etree._Element, links: FeedLinks) -> None:
    _keep_only(entry, frozenset(f"{{{ATOM}}}{name}" for name in ATOM_ENTRY_KEEP))
    origin = _atom_link(entry)
    for link in entry.findall(f"{{{ATOM}}}link"):
        if link.get("rel", "alternate") == "alternate":
            link.attrib.clear()
            link.attrib.update({"rel": "alternate", "href": links.page(origin)})
        else:
            entry.remove(link)
    for name in ("summary", "content"):
        for element in entry.iterfind(f"{{{ATOM}}}{name}"):
            cleaned = clean_item_html(_atom_html(element), origin, links)
            for child in list(element):
                element.remove(child)
            element.attrib.clear()
            element.set("type", "html")
            element.text = cleaned
