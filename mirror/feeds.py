"""Reading a site's RSS 2.0 or Atom feed: which articles it lists, and when.

Feeds come from origins, so they are hostile XML: parsed without entity expansion, without
network access, and with lxml's size limits. A feed that does not parse lists nothing.
"""

from __future__ import annotations

import datetime
import email.utils
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/xml", "text/xml"}
)
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class FeedItem:
    url: str
    title: str
    published: datetime.datetime | None


def parse_feed(data: bytes) -> list[FeedItem]:
    """Items of an RSS 2.0 or Atom feed; hostile XML is parsed without entities or network."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError:
        return []
    items = [_rss_item(i) for i in root.iter("item")]
    items += [_atom_entry(e) for e in root.iter(f"{ATOM}entry")]
    return [i for i in items if urlsplit(i.url).scheme in {"http", "https"}]


def _rss_item(item: lxml.etree._Element) -> FeedItem:
    published = None
    with_date = item.findtext("pubDate")
    if with_date:
        try:
            published = email.utils.parsedate_to_datetime(with_date.strip())
        except (TypeError, ValueError):
            published = None
    url = (item.findtext("link") or "").strip()
    return FeedItem(url=url, title=(item.findtext("title") or "").strip(), published=published)


def _atom_entry(entry: lxml.etree._Element) -> FeedItem:
    links = [
        link.get("href", "")
        for link in entry.iter(f"{ATOM}link")
        if link.get("rel", "alternate") == "alternate"
    ]
    stamp = entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated") or ""
    try:
        published = datetime.datetime.fromisoformat(stamp.strip()) if stamp else None
    except ValueError:
        published = None
    title = (entry.findtext(f"{ATOM}title") or "").strip()
    return FeedItem(url=links[0] if links else "", title=title, published=published)
