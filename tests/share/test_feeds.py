from __future__ import annotations

import datetime
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest

from mirror.links import Kind
from mirror.share.feeds import (
    FeedError,
    FeedLinks,
    KeptFeed,
    KeptItem,
    kept_feed,
    read_items,
    republish,
)
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, CHINESE_PATH
from tests.support.feed_fixtures import ATOM_FEED, MIRROR_BASE, link_builder
from tests.support.paths import CDT, FIXTURES

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


FEEDS = FIXTURES / "feeds"
NEWS = {"news.example"}


def news_links() -> FeedLinks:
    return FeedLinks(MIRROR_BASE, link_builder(), lambda url: urlsplit(url).hostname in NEWS)


def republished(name: str) -> tuple[feedparser.FeedParserDict, bytes]:
    out, _ = republish((FEEDS / name).read_bytes(), news_links(), MIRROR_BASE + "/s/n/", "/f")
    result = feedparser.parse(out)
    assert not result.bozo, result.get("bozo_exception")
    return result, out


def opened(url: str, kind: Kind = Kind.PAGE) -> str:
    """The origin URL behind a mirror URL, which must be one."""
    assert url.startswith(f"{MIRROR_BASE}/{kind.value}/"), url
    return link_builder().open(url.rsplit("/", 1)[1], kind)


def entry_html(entry: feedparser.FeedParserDict) -> lxml.html.HtmlElement:
    """An entry's summary and content, in one tree."""
    constructs = [*entry.get("content", []), entry.get("summary_detail", {})]
    html = " ".join(c.get("value", "") for c in constructs)
    return lxml.html.fragment_fromstring(html, create_parent="div")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC)


def test_rss1_rdf_items_are_read() -> None:
    items = read_items((FEEDS / "rss1.rdf").read_bytes())
    assert [(i.title, i.link, i.published) for i in items] == [
        ("Harbour reopens", "https://news.example/2024/06/harbour?id=7", utc(2024, 6, 3, 5, 30)),
        ("River levels fall", "https://news.example/2024/06/river", utc(2024, 6, 2, 18)),
    ]
    assert items[0].summary == "Ships return to the harbour."


def test_rss1_rdf_is_republished_as_clean_rss2() -> None:
    result, out = republished("rss1.rdf")
    assert result.version == "rss20"
    first = result.entries[0]
    assert opened(first.link) == "https://news.example/2024/06/harbour?id=7"
    assert opened(first.id) == "https://news.example/2024/06/harbour"
    html = entry_html(first)
    assert html.xpath("string(.//b)") == "return"
    assert [opened(href) for href in html.xpath(".//a/@href")] == [
        "https://news.example/2024/06/river"
    ]
    for mark in (b"track()", b"steal()", b"stats.wp.com", b"news.example/"):
        assert mark not in out, mark


def test_atom_html_and_xhtml_content_resolve_against_xml_base() -> None:
    items = read_items((FEEDS / "atom-base.xml").read_bytes())
    assert [(i.title, i.link, i.published) for i in items] == [
        ("Talks resume & stall", "https://news.example/2024/06/talks", utc(2024, 6, 4, 13, 15)),
        ("Quiet border", "https://news.example/world/border", utc(2024, 6, 3, 10)),
    ]
    assert [i.summary for i in items] == ["Negotiators met again.", "See the map"]
    result, out = republished("atom-base.xml")
    assert result.version == "atom10"
    talks, border = (entry_html(e) for e in result.entries)
    assert {opened(href) for href in talks.xpath(".//a/@href")} == {
        "https://news.example/2024/06/day-two"
    }
    [image] = talks.xpath(".//img/@src")
    assert opened(image, Kind.IMAGE) == "https://news.example/2024/06/img/table.jpg"
    assert [opened(href) for href in border.xpath(".//a/@href")] == [
        "https://news.example/maps/north.html"
    ]
    assert result.entries[0].title == "Talks resume & stall"
    for mark in (b"alert(", b"onmouseover", b"google-analytics", b"<iframe", b"cdn.example"):
        assert mark not in out, mark


def test_broken_xml_still_gives_its_items() -> None:
    items = read_items((FEEDS / "broken.xml").read_bytes())
    assert [(i.title, i.link, i.published) for i in items] == [
        ("Fish & chips prices rise", "https://news.example/2024/06/fish", utc(2024, 6, 3, 7, 30)),
        ("Second item survives", "https://news.example/2024/06/second", utc(2024, 6, 2, 7, 30)),
    ]
    assert items[0].summary == "Prices rose again.Cod is dearer"
    result, out = republished("broken.xml")
    assert result.feed.title == "Tom & Jerry's News"
    assert "<b>dearer</b>" in result.entries[0].summary
    for mark in (b"track()", b"stats.wp.com", b"utm_"):
        assert mark not in out, mark


def test_bytes_in_another_encoding_than_declared_are_read() -> None:
    [item] = read_items((FEEDS / "cp1252.xml").read_bytes())
    assert item.title == "Cafés réouvrent – enfin"
    assert item.summary == "À Paris."
    assert item.published == utc(2024, 6, 1, 8)


@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><title>Bell\x07</title><item><title>Form\x0cfeed</title>'
        b"<link>https://other.example/a\x01b</link><category>c\x01at</category></item>"
        b"</channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Bell\x07</title><entry>'
        b'<title>Form\x0cfeed</title><link href="https://other.example/a\x01b"/>'
        b'<category term="c\x01at"/></entry></feed>',
    ],
    ids=["rss", "atom"],
)
def test_characters_xml_cannot_hold_are_dropped(body: bytes) -> None:
    assert [i.title for i in read_items(body)] == ["Formfeed"]
    result = feedparser.parse(republish(body, news_links(), MIRROR_BASE, "/f")[0])
    assert not result.bozo, result.get("bozo_exception")
    [entry] = result.entries
    assert (result.feed.title, entry.title) == ("Bell", "Formfeed")
    assert (entry.link, entry.tags[0].term) == ("https://other.example/ab", "cat")


def test_relative_links_resolve_against_the_feed_address() -> None:
    body = b'<rss version="2.0"><channel><item><link>../2024/a</link></item></channel></rss>'
    [item] = read_items(body, "https://news.example/feeds/all.xml")
    assert item.link == "https://news.example/2024/a"


def test_feed_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(CDT_FEED)
    with pytest.raises(FeedError):
        read_items(str(feed).encode())


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers with a DTD that would define the entities, and notes every request."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = b'<!ENTITY leak "FETCHED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are counted, not logged."""


@pytest.fixture
def recorder() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.asked.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# feedparser deletes a DOCTYPE that starts a line; after the XML declaration only the XML
# parser's settings keep its DTD and entities unread.
@pytest.mark.parametrize("padding", [b"", b"\n"], ids=["after-declaration", "own-line"])
def test_feeds_never_fetch_dtds_or_entities(recorder: str, padding: bytes) -> None:
    body = (
        b'<?xml version="1.0"?>' + padding + b"<!DOCTYPE rss SYSTEM "
        b'"' + recorder.encode() + b'/dtd" [<!ENTITY % ext SYSTEM "' + recorder.encode() + b'/pe">'
        b'%ext; <!ENTITY out SYSTEM "' + recorder.encode() + b'/ge">]>'
        b'<rss version="2.0"><channel><title>&out;&leak;</title><item><title>A &out;</title>'
        b"<link>https://news.example/a</link></item></channel></rss>"
    )
    items = read_items(body)
    out, _ = republish(body, news_links(), MIRROR_BASE, "/f")
    assert [i.link for i in items] == ["https://news.example/a"]
    assert "FETCHED" not in items[0].title and b"FETCHED" not in out
    assert Recorder.asked == []


def test_a_feed_of_kept_articles_has_their_notes_and_text_only() -> None:
    removed = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    body = (
        '<p>The <a href="https://chinadigitaltimes.net/x">story</a> & its quote.</p>'
        '<img src="https://chinadigitaltimes.net/i.jpg">'
    )
    items = [
        KeptItem("Newer <gone>", MIRROR_BASE + "/m/b", removed, "Removed on March 1.", body),
        KeptItem("Older", MIRROR_BASE + "/m/a", removed - datetime.timedelta(days=9), "N.", ""),
    ]
    channel = KeptFeed(
        "Removed from CDT",
        MIRROR_BASE + "/s/cdt/removed",
        MIRROR_BASE + "/s/cdt/removed/feed",
        "ru",
    )
    out = kept_feed(channel, items)
    parsed = feedparser.parse(out)
    assert not parsed.bozo and parsed.version == "rss20"
    assert parsed.feed.title == "Removed from CDT" and parsed.feed.language == "ru"
    assert [e.title for e in parsed.entries] == ["Newer <gone>", "Older"]
    assert [e.link for e in parsed.entries] == [MIRROR_BASE + "/m/b", MIRROR_BASE + "/m/a"]
    assert parsed.entries[0].summary == "Removed on March 1. The story & its quote."
    assert parsed.entries[0].published_parsed[:3] == (2026, 3, 1)
    assert b"chinadigitaltimes.net" not in out
