"""Feed reading: RSS and Atom items, and hostile XML that must not expand or fetch."""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

from mirror.feeds import parse_feed
from tests.conftest import ARTICLE_PATH, CDT, CHINESE_PATH


def test_feed_parsing_rss_atom_and_hostile_xml() -> None:
    rss = (CDT / "feed.xml").read_bytes()
    items = parse_feed(rss)
    assert [urlsplit(i.url).path for i in items] == [
        ARTICLE_PATH,
        CHINESE_PATH,
        "/2018/11/minitrue-do-not-hype-trade-talks/",
    ]
    assert items[0].published == datetime.datetime(2018, 11, 16, 18, 42, 11, tzinfo=datetime.UTC)
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title>'
        b'<link rel="alternate" href="https://example.org/a"/><published>2024-01-02T03:04:05+00:00'
        b"</published></entry></feed>"
    )
    assert [(i.url, i.title) for i in parse_feed(atom)] == [("https://example.org/a", "A")]
    entity = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><item><title>&x;</title><link>https://example.org/b</link></item></rss>'
    assert [i.title for i in parse_feed(entity)] == [""]
    assert parse_feed(b"<not xml") == []
