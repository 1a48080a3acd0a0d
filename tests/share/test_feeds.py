from __future__ import annotations

import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from mirror.links import Kind
from mirror.share.feeds import FeedError, FeedLinks, read_items, republish
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CHINESE_PATH
from tests.feed_fixtures import ATOM_FEED, MIRROR_BASE, link_builder
from tests.paths import CDT

CDT_FEED = (CDT / "feed.xml").read_bytes()
TRACKERS = ("stats.wp.com", "google-analytics", "utm_", "<script", "onclick")


def feed_links() -> FeedLinks:
    mirrored = {"chinadigitaltimes.net", "news.example"}
    return FeedLinks(MIRROR_BASE, link_builder(), lambda url: urlsplit(url).hostname in mirrored)


def test_rss_items_are_read_with_clean_links() -> None:
    items = read_items(CDT_FEED)
    assert items[0].title == "Western Countries Turn Up the Heat on Xinjiang"
    assert items[0].link == ARTICLE_URL
    assert items[0].published == datetime.datetime(2018, 11, 16, 18, 42, 11, tzinfo=datetime.UTC)
    assert items[1].title == "新疆：维吾尔家庭的呼声"
    assert "b.gif" not in items[0].summary and items[0].summary.startswith("Xinjiang")


def test_atom_items_are_read() -> None:
    items = read_items(ATOM_FEED)
    assert [i.title for i in items] == ["Second story", "First story"]
    assert items[0].link == "https://news.example/2024/05/second"
    assert items[1].published == datetime.datetime(2024, 5, 1, 8, tzinfo=datetime.UTC)
    assert items[1].summary == "Short summary"


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<html><body>hello</body></html>",
        b'<?xml version="1.0"?><feed><entry/></feed>',
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    ],
)
def test_what_is_not_a_feed_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        read_items(body)
    with pytest.raises(FeedError):
        republish(body, feed_links(), MIRROR_BASE + "/s/x/", MIRROR_BASE + "/s/x/feed")


def test_external_entities_are_never_read() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
        b'<rss version="2.0"><channel><item><title>&e;</title><link>https://a.example/</link>'
        b"</item></channel></rss>"
    )
    hostname = Path("/etc/hostname").read_text().strip()
    items = read_items(body)
    assert hostname not in items[0].title


def parsed(body: bytes) -> feedparser.FeedParserDict:
    out, _ = republish(body, feed_links(), MIRROR_BASE + "/s/cdt/", MIRROR_BASE + "/s/cdt/feed")
    result = feedparser.parse(out)
    assert not result.bozo, result.get("bozo_exception")
    return result


def assert_clean(result: feedparser.FeedParserDict) -> None:
    assert result.entries
    for entry in result.entries:
        assert urlsplit(entry.link).netloc == "mirror.example", entry.link
        assert urlsplit(entry.link).path.startswith("/m/")
        for content in [*entry.get("content", []), {"value": entry.get("summary", "")}]:
            for mark in TRACKERS:
                assert mark not in content["value"], (mark, content["value"])


def test_rss_republished_through_the_mirror() -> None:
    result = parsed(CDT_FEED)
    assert result.version == "rss20"
    assert_clean(result)
    assert result.feed.link == MIRROR_BASE + "/s/cdt/"
    first = result.entries[0]
    assert link_builder().open(first.link.rsplit("/", 1)[1], Kind.PAGE) == ARTICLE_URL
    assert first.title == "Western Countries Turn Up the Heat on Xinjiang"
    assert "re-education camps" in first.summary
    assert result.entries[1].title == "新疆：维吾尔家庭的呼声"


def test_links_the_mirror_cannot_serve_are_left_alone() -> None:
    elsewhere = CDT_FEED.replace(
        b"https://chinadigitaltimes.net/2018/11/minitrue", b"https://x.example/m"
    )
    entries = parsed(elsewhere).entries
    assert entries[2].link == "https://x.example/m-do-not-hype-trade-talks/"
    assert urlsplit(entries[0].link).netloc == "mirror.example"


def test_atom_republished_through_the_mirror() -> None:
    result = parsed(ATOM_FEED)
    assert result.version == "atom10"
    assert_clean(result)
    html = result.entries[0].content[0]["value"]
    assert "alert(1)" not in html
    assert 'href="https://mirror.example/m/' in html
    assert 'src="https://mirror.example/r/' in html
    assert 'alt="photo"' in html
    out, kind = republish(ATOM_FEED, feed_links(), MIRROR_BASE + "/s/x/", MIRROR_BASE + "/s/x/feed")
    assert kind == "application/atom+xml"
    for origin_only in (b"comments.example", b"cdn.example", b"news.example/atom.xml"):
        assert origin_only not in out


def test_feed_items_rss_atom_and_hostile_xml() -> None:
    items = read_items((CDT / "feed.xml").read_bytes())
    assert [urlsplit(i.link).path for i in items] == [
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
    assert [(i.link, i.title) for i in read_items(atom)] == [("https://example.org/a", "A")]
    entity = (
        b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item>'
        b"<title>&x;</title><link>https://example.org/b</link></item></channel></rss>"
    )
    assert [i.title for i in read_items(entity)] == ["&x;"]  # never expanded, never fetched
    with pytest.raises(FeedError):
        read_items(b"<not xml")
