"""Feeds for tests: the CDT RSS fixture, and Atom and long RSS feeds made here."""

from __future__ import annotations

import datetime

from mirror.keys import KeyRing
from mirror.links import LinkBuilder

MIRROR_BASE = "https://mirror.example"
ATOM_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title>Example News</title>
  <id>urn:example:feed</id>
  <updated>2024-05-02T10:00:00Z</updated>
  <link rel="alternate" href="https://news.example/"/>
  <link rel="self" href="https://news.example/atom.xml"/>
  <entry>
    <title>Second story</title>
    <id>urn:example:2</id>
    <link rel="alternate" href="https://news.example/2024/05/second?utm_campaign=x"/>
    <link rel="replies" href="https://comments.example/2"/>
    <updated>2024-05-02T10:00:00Z</updated>
    <media:thumbnail url="https://cdn.example/thumb.jpg"/>
    <content type="html">&lt;p onclick="x()"&gt;Body with
      &lt;a href="/2024/05/first"&gt;a link&lt;/a&gt;
      &lt;img src="https://www.google-analytics.com/collect?v=1"&gt;
      &lt;script&gt;alert(1)&lt;/script&gt;
      &lt;img src="/photo.jpg" alt="photo"&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>First story</title>
    <id>urn:example:1</id>
    <link href="https://news.example/2024/05/first"/>
    <published>2024-05-01T08:00:00+00:00</published>
    <updated>2024-05-01T09:00:00Z</updated>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Short <b>summary</b></p></div></summary>
  </entry>
</feed>
"""


def long_rss(count: int) -> bytes:
    """An RSS 2.0 feed of ``count`` items on the CDT host, newest first."""
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    items = []
    for number in range(count):
        date = (start - datetime.timedelta(days=number)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            f"<item><title>Story {number}</title>"
            f"<link>https://chinadigitaltimes.net/story/{number}/</link>"
            f"<pubDate>{date}</pubDate><description>Summary {number}</description></item>"
        )
    channel = "".join(items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Long</title>'
        f"<link>https://chinadigitaltimes.net</link>{channel}</channel></rss>"
    ).encode()


def link_builder() -> LinkBuilder:
    return LinkBuilder(KeyRing.of([bytes(range(64))]))
