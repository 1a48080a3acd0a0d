"""The index on real SQLite FTS5: Chinese, folding, phrases, purge, hostile queries."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from mirror.search.fold import index_text
from mirror.search.index import PAGE_SIZE, Entry, SearchIndex

CHINESE = "新疆的人权问题引起关注。维吾尔族学者被拘留。"


def entry(url: str, title: str, text: str, saved_at: float = 1.0, removed: bool = False) -> Entry:
    return Entry(url, "site", title, text, saved_at, "removed" if removed else "origin", removed)


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    found = SearchIndex(tmp_path / "search.sqlite3")
    found.put(entry("zh", "报道", CHINESE))
    found.put(entry("en", "Crackdown", "The Café reporters were detained in Urumqi."))
    found.put(entry("ru", "Новости", "Журналисты задержаны в Москве."))
    found.put(entry("ar", "أخبار", "اعتقال الصحفيين في المدينة", removed=True))
    return found


def urls(index: SearchIndex, query: str, **filters: object) -> list[str]:
    hits = index.search(query, **filters)  # type: ignore[arg-type]
    assert hits is not None
    return [hit.entry.url for hit in hits]


@pytest.mark.parametrize("tokenizer", ["unicode61", "trigram"])
def test_fts5_own_tokenizers_miss_short_chinese_queries(tokenizer: str) -> None:
    """The evidence for one character to a token: FTS5's own tokenizers miss 1- and
    2-character Chinese queries (unicode61 makes the run one token; trigram needs 3)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{tokenizer}')")
    db.execute("INSERT INTO t VALUES (?)", (CHINESE,))
    for query in ('"新疆"', '"人"', '"人权"'):
        assert db.execute("SELECT COUNT(*) FROM t WHERE t MATCH ?", (query,)).fetchone()[0] == 0


def test_one_character_per_token_finds_them() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    db.execute("INSERT INTO t VALUES (?)", (index_text(CHINESE),))
    for query in ('"新 疆"', '"人"', '"人 权"'):
        assert db.execute("SELECT COUNT(*) FROM t WHERE t MATCH ?", (query,)).fetchone()[0] == 1


@pytest.mark.parametrize("query", ["新疆", "人", "人权", "維吾爾", "人權"])
def test_chinese_queries_of_one_two_and_traditional_characters(
    index: SearchIndex, query: str
) -> None:
    assert urls(index, query) == ["zh"]


def test_two_characters_apart_are_no_match(index: SearchIndex) -> None:
    assert urls(index, "疆人") == []


@pytest.mark.parametrize(
    ("query", "url"),
    [("cafe", "en"), ("CAFÉ", "en"), ("URUMQI", "en"), ("москве", "ru"), ("الصحفيين", "ar")],
)
def test_latin_cyrillic_arabic_folded(index: SearchIndex, query: str, url: str) -> None:
    assert urls(index, query) == [url]


def test_quotes_make_a_phrase(index: SearchIndex) -> None:
    assert urls(index, '"reporters were"') == ["en"]
    assert urls(index, '"were reporters"') == []
    assert urls(index, "were reporters") == ["en"]


def test_removed_only_and_site_filters(index: SearchIndex) -> None:
    assert urls(index, "الصحفيين", removed_only=True) == ["ar"]
    assert urls(index, "新疆", removed_only=True) == []
    assert urls(index, "新疆", site="other") == []


def test_snippet_marks_the_words(index: SearchIndex) -> None:
    hits = index.search("维吾尔")
    assert hits is not None
    assert ("维吾尔", True) in hits[0].snippet
    assert "".join(text for text, _ in hits[0].snippet) in CHINESE


def test_removed_article_is_gone_and_a_put_replaces(index: SearchIndex) -> None:
    assert index.remove("zh")
    assert urls(index, "新疆") == []
    index.put(entry("en", "Crackdown", "Nothing about coffee now."))
    assert urls(index, "cafe") == []
    assert urls(index, "coffee") == ["en"]
    assert index.count() == 3


def test_ranking_title_first_then_newest(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "i.sqlite3")
    index.put(entry("old", "x", "word here", saved_at=1.0))
    index.put(entry("new", "x", "word here", saved_at=2.0))
    index.put(entry("title", "word", "here", saved_at=0.5))
    assert urls(index, "word") == ["title", "new", "old"]


def test_pages_of_twenty(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "i.sqlite3")
    for number in range(PAGE_SIZE + 5):
        index.put(entry(f"u{number}", "t", "common", saved_at=float(number)))
    assert len(urls(index, "common")) == PAGE_SIZE
    assert len(index.search("common", page=1) or []) == 5


def test_index_survives_reopening(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "i.sqlite3")
    index.put(entry("zh", "t", CHINESE))
    index.close()
    assert urls(SearchIndex(tmp_path / "i.sqlite3"), "人权") == ["zh"]


def hostile_queries() -> list[str]:
    fixed = [
        "NEAR(a b, 2)",
        "a NEAR/3 b",
        "title:x",
        "{title body}:x",
        'body : "x',
        "*",
        "a*",
        "^a",
        '"',
        '""',
        '"""',
        '"a',
        'a"b"c"',
        "AND",
        "OR",
        "NOT",
        "a OR",
        "NOT a",
        "(",
        ")",
        "(a",
        "a)",
        "()",
        "-a",
        "+a",
        "\0",
        "a\0b",
        "x" * 10_000,
        "'; DROP TABLE words; --",
        "1=1 OR",
        "' OR '1'='1",
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        "新疆*",
        "新疆 NEAR 人权",
        "rank:1",
        "bm25()",
        "\\",
        "%",
        "_",
        "\u202e",
        "\ufeff",
    ]
    rng = random.Random(24)
    alphabet = "aé新\"*()^:-+{}, NEAROTD\0'%_;"
    while len(fixed) < 200:
        fixed.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return fixed


def test_two_hundred_hostile_queries_never_raise(index: SearchIndex) -> None:
    queries = hostile_queries()
    assert len(queries) == 200
    for query in queries:
        hits = index.search(query)
        assert hits is None or isinstance(hits, list)


def test_the_newest_matches_are_ranked_and_filters_choose_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common word is ranked among its newest ``CANDIDATES`` matches only; a filter picks
    the candidates, so an old article of the site asked for is still found."""
    monkeypatch.setattr("mirror.search.index.CANDIDATES", 2)
    index = SearchIndex(tmp_path / "search.sqlite3")
    index.put(Entry("old", "other", "t", "harbour", 1.0, "origin", False))
    for number in range(4):
        index.put(entry(f"new{number}", "t", "harbour harbour" if number == 1 else "harbour"))
    assert urls(index, "harbour") == ["new3", "new2"]
    assert urls(index, "harbour", site="other") == ["old"]
