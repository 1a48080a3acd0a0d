"""One suite, run against each store (real SQLite, real redis-server)."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.exceptions import InvalidTag

from mirror.article import Article, LeadImage, StoredPage
from mirror.store.cache import PageCache, Sealer, StoredImage
from tests.cache_fixtures import StoreUnderTest
from tests.conftest import tiny_png

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


async def test_round_trip_miss_and_overwrite(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    assert await cache.get_page(URL) is None
    await cache.put_page(URL, page())
    assert await cache.get_page(URL) == page()
    await cache.put_page(URL, page("<p>newer</p>"))
    stored = await cache.get_page(URL)
    assert stored is not None and stored.article.body == "<p>newer</p>"


async def test_pages_and_images_are_separate_entries(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    image = StoredImage("image/png", tiny_png(), 5.0)
    await cache.put_image(URL, image)
    assert await cache.get_page(URL) is None
    await cache.put_page(URL, page())
    assert await cache.get_image(URL) == image
    assert (await store_under_test.store.stats())["entries"] == 2
    assert await cache.purge(URL) == 2
    assert await cache.get_image(URL) is None and await cache.get_page(URL) is None


async def test_nothing_readable_at_rest(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    await cache.put_page(URL, page())
    await cache.put_image(URL, StoredImage("image/png", b"PIXELS-OF-A-CAMP" * 10, 1.0))
    raw = store_under_test.at_rest()
    key = Sealer(SECRET).row_key("page", URL)
    assert key in raw or key.hex().encode() in raw  # the entry really is in what we read
    for needle in (b"secret paragraph", b"chinadigitaltimes", b"secret-article", b"A title"):
        assert needle not in raw
    assert b"PIXELS-OF-A-CAMP" not in raw and b"image/png" not in raw


async def test_another_instance_reads_what_one_stored(store_under_test: StoreUnderTest) -> None:
    await PageCache(store_under_test.store, SECRET).put_page(URL, page())
    async with PageCache(store_under_test.another(), SECRET) as other:
        assert await other.get_page(URL) == page()
    async with PageCache(store_under_test.another(), b"x" * 32) as stranger:
        assert await stranger.get_page(URL) is None


async def test_tampered_entry_is_a_miss(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    key = Sealer(SECRET).row_key("page", URL)
    await store_under_test.store.put(key, Sealer(SECRET).seal(b"another key", page().to_bytes()))
    assert await cache.get_page(URL) is None


async def test_flight_is_shared_by_every_client_of_the_store(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    async with PageCache(store_under_test.another(), SECRET) as other:
        async with cache.flight(URL) as first, other.flight(URL) as second:
            assert first
            assert not second  # another process (SQLite) or instance (Redis) waits
        async with other.flight(URL) as after_release:
            assert after_release


async def test_waiters_get_the_leaders_copy(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)

    leading = asyncio.Event()

    async def lead() -> None:
        async with cache.flight(URL):
            leading.set()
            await asyncio.sleep(0.2)
            await cache.put_page(URL, page("<p>fresh</p>"))

    leader = asyncio.create_task(lead())
    await leading.wait()
    waited = await cache.wait_for_page(URL, newer_than=0.0, timeout=5.0)
    await leader
    assert waited is not None and waited.article.body == "<p>fresh</p>"


async def test_prune_keeps_what_is_in_use(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    await cache.put_page(URL, page())
    await store_under_test.store.prune()
    assert await cache.get_page(URL) == page()


def test_rows_cannot_be_swapped() -> None:
    sealer = Sealer(SECRET)
    sealed = sealer.seal(sealer.row_key("page", "a"), b"data")
    assert sealer.open(sealer.row_key("page", "a"), sealed) == b"data"
    with pytest.raises(InvalidTag):
        sealer.open(sealer.row_key("page", "b"), sealed)
    with pytest.raises(InvalidTag):
        sealer.open(sealer.row_key("image", "a"), sealed)


def test_row_key_depends_on_secret() -> None:
    assert Sealer(SECRET).row_key("page", URL) != Sealer(b"x" * 32).row_key("page", URL)
