from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from mirror.article import Article, LeadImage
from mirror.cache import PageCache, Sealer, StoredPage

URL = "https://chinadigitaltimes.net/2018/11/secret-article/"
SECRET = b"k" * 32


def page(body: str = "<p>The secret paragraph about camps.</p>") -> StoredPage:
    article = Article(
        url=URL,
        title="A title",
        body=body,
        lead_image=LeadImage(src="https://chinadigitaltimes.net/i.jpg", srcset="", alt="a"),
    )
    return StoredPage(article=article, fetched_at=1000.0, etag='"e"', last_modified=None)


async def test_round_trip_and_miss(tmp_path: Path) -> None:
    async with PageCache(tmp_path / "c.sqlite3", SECRET) as cache:
        assert await cache.get(URL) is None
        await cache.put(URL, page())
        assert await cache.get(URL) == page()
        await cache.put(URL, page("<p>newer</p>"))
        stored = await cache.get(URL)
        assert stored is not None and stored.article.body == "<p>newer</p>"


async def test_nothing_readable_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    async with PageCache(path, SECRET) as cache:
        await cache.put(URL, page())
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for needle in (b"secret paragraph", b"chinadigitaltimes", b"secret-article", b"A title"):
        assert needle not in raw


async def test_survives_reopen(tmp_path: Path) -> None:
    async with PageCache(tmp_path / "c.sqlite3", SECRET) as cache:
        await cache.put(URL, page())
    async with PageCache(tmp_path / "c.sqlite3", SECRET) as cache:
        assert await cache.get(URL) == page()


def test_rows_cannot_be_swapped() -> None:
    sealer = Sealer(SECRET)
    sealed = sealer.seal(sealer.row_key("a"), b"data")
    assert sealer.open(sealer.row_key("a"), sealed) == b"data"
    with pytest.raises(InvalidTag):
        sealer.open(sealer.row_key("b"), sealed)


def test_row_key_depends_on_secret() -> None:
    assert Sealer(SECRET).row_key(URL) != Sealer(b"x" * 32).row_key(URL)
