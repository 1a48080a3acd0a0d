"""Full-text search on 100,000 articles: query latency, index size, indexing rate, and
``LIKE`` over the same text as the baseline, in one run.

    .venv/bin/python bench/search.py [--articles 100000] [--queries 200] [--like-queries 40]

The articles are made from the benchmark pages (``bench/data.py`` says where): the 181
pages' reference texts (English) and the Chinese pages of the second development set
(mozilla/readability's gmw, pixnet — in Traditional characters —, qq, youth) with the
project's CDT Chinese article; every other article is Chinese. Each article is a title and
paragraphs drawn from its language's pages (a seeded random draw, about 3 KB of UTF-8),
so no two are alike but the words are real.

Indexing goes through ``SearchIndex.put_many`` in batches (the path ``mirror search
reindex`` takes), timed from the first batch to the last commit. The index size is the
database file (after a checkpoint) against the UTF-8 bytes of the titles and texts.
Queries are one to three words drawn from random articles (English words of four letters
or more, two-character Chinese words), timed through ``SearchIndex.search`` (ranking and
snippets included); the baseline runs the first ``--like-queries`` of them as ``LIKE
'%word%'`` over the same table's text, newest first, 20 rows. Targets: p99 < 50 ms,
size <= 1.5x the text, >= 500 articles/s. Exit status 1 if one is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from data import bench_data, bench_readability
from repo_root import ROOT

from mirror.search.entry import plain_text
from mirror.search.index import Entry, SearchIndex

CHINESE_PAGES = ("gmw", "pixnet", "qq", "youth")
CDT_CHINESE = ROOT / "tests" / "fixtures" / "cdt" / "article-zh-gb18030.html"
ARTICLE_BYTES = 3000
BATCH = 500
HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
WORD = re.compile(r"[A-Za-z]{4,}")


def english_pages() -> list[tuple[str, list[str]]]:
    truth = json.loads((bench_data() / "ground-truth.json").read_text("utf-8"))
    pages = []
    for value in truth.values():
        paragraphs = [p.strip() for p in value["articleBody"].split("\n") if p.strip()]
        if paragraphs:
            pages.append((paragraphs[0][:80], paragraphs))
    return pages


def chinese_pages() -> list[tuple[str, list[str]]]:
    sources = [bench_readability() / "pages" / name / "expected.html" for name in CHINESE_PAGES]
    texts = [p.read_text("utf-8") for p in sources]
    texts.append(CDT_CHINESE.read_bytes().decode("gb18030"))
    pages = []
    for html in texts:
        text = plain_text(html.split("<body", 1)[-1])
        paragraphs = [p for p in re.split("(?<=[\u3002\uff01\uff1f])", text) if HAN.search(p)]
        pages.append((paragraphs[0][:30], paragraphs))
    return pages


def articles(count: int) -> list[Entry]:
    """``count`` articles, half English and half Chinese, drawn with a fixed seed."""
    draw = random.Random(24)
    languages = [english_pages(), chinese_pages()]
    pools = [[p for _, paragraphs in pages for p in paragraphs] for pages in languages]
    made = []
    for number in range(count):
        pages, pool = languages[number % 2], pools[number % 2]
        title, _ = pages[draw.randrange(len(pages))]
        body: list[str] = []
        while sum(len(p.encode("utf-8")) for p in body) < ARTICLE_BYTES:
            body.append(pool[draw.randrange(len(pool))])
        url = f"https://bench.example/{number}"
        saved_at = 1_700_000_000.0 + number
        site = f"site{number % 7}"
        made.append(Entry(url, site, title, " ".join(body), saved_at, "origin", False))
    return made


def queries(made: list[Entry], count: int) -> list[str]:
    """One to three words from random articles, in their language."""
    draw = random.Random(42)
    asked: list[str] = []
    while len(asked) < count:
        text = made[draw.randrange(len(made))].text
        words = HAN.findall(text) if HAN.search(text) else WORD.findall(text)
        if not words:
            continue
        picked = []
        for _ in range(draw.randint(1, 3)):
            word = words[draw.randrange(len(words))]
            if HAN.fullmatch(word):
                start = draw.randrange(len(word) - 1)
                word = word[start : start + 2]
            picked.append(word)
        asked.append(" ".join(picked))
    return asked


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def index_all(index: SearchIndex, made: list[Entry]) -> float:
    """Seconds to index ``made`` in batches."""
    start = time.perf_counter()
    for first in range(0, len(made), BATCH):
        index.put_many(made[first : first + BATCH])
    return time.perf_counter() - start


def timed_searches(index: SearchIndex, asked: list[str]) -> tuple[list[float], int]:
    seconds, found = [], 0
    for query in asked:
        start = time.perf_counter()
        hits = index.search(query)
        seconds.append(time.perf_counter() - start)
        found += bool(hits)
    return seconds, found


def timed_likes(path: Path, made: list[Entry], asked: list[str]) -> list[float]:
    """The baseline: every word as ``LIKE '%word%'`` over the text (a table of it as it
    is: the index keeps it compressed), newest first."""
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE articles (url TEXT, title TEXT, text TEXT, saved_at REAL)")
    rows = ((e.url, e.title, e.text, e.saved_at) for e in made)
    db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?)", rows)
    db.commit()
    seconds = []
    for query in asked:
        words = query.split()
        where = " AND ".join("(title LIKE ? OR text LIKE ?)" for _ in words)
        params = [f"%{w}%" for w in words for _ in (0, 1)]
        start = time.perf_counter()
        db.execute(
            f"SELECT url, title FROM articles WHERE {where} ORDER BY saved_at DESC LIMIT 20",
            params,
        ).fetchall()
        seconds.append(time.perf_counter() - start)
    db.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--like-queries", type=int, default=40)
    args = parser.parse_args()
    made = articles(args.articles)
    text_bytes = sum(len(e.title.encode("utf-8")) + len(e.text.encode("utf-8")) for e in made)
    asked = queries(made, args.queries)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "search.sqlite3"
        index = SearchIndex(path)
        index_seconds = index_all(index, made)
        index.optimize()
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
        seconds, found = timed_searches(index, asked)
        likes = timed_likes(Path(directory) / "plain.sqlite3", made, asked[: args.like_queries])
        index.close()
    rate = len(made) / index_seconds
    p99 = percentile(seconds, 0.99)
    like_fts = seconds[: args.like_queries]
    print(f"{len(made):,} articles, {text_bytes / 1e6:.1f} MB of text (half English, half Chinese)")
    print(f"indexing: {index_seconds:.1f} s, {rate:.0f} articles/s")
    print(f"index size: {size / 1e6:.1f} MB, {size / text_bytes:.2f}x the text")
    print(
        f"FTS5, {len(asked)} queries ({found} with results): p50 "
        f"{statistics.median(seconds) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {max(seconds) * 1000:.1f} ms"
    )
    print(
        f"LIKE baseline, first {len(likes)} queries: p50 {statistics.median(likes) * 1000:.0f} ms,"
        f" p99 {percentile(likes, 0.99) * 1000:.0f} ms; FTS5 on the same: p50 "
        f"{statistics.median(like_fts) * 1000:.1f} ms "
        f"({statistics.median(likes) / statistics.median(like_fts):.0f}x faster)"
    )
    met = p99 < 0.05 and size <= 1.5 * text_bytes and rate >= 500
    print("targets (p99 < 50 ms, size <= 1.5x, >= 500 articles/s):", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
