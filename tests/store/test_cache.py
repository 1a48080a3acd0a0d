"""One suite, run against each store (real SQLite, real redis-server)."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.exceptions import InvalidTag

from mirror.article import Article, LeadImage, PictureInfo, StoredPage
from mirror.store.cache import ORIGIN, PageCache, Sealer, StoredImage, StoredResponse
from tests.conftest import tiny_png
from tests.support.cache_fixtures import StoreUnderTest

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


async def test_a_pictures_files_are_entries_that_purge_forgets(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    plain, small = StoredImage("image/webp", b"W" * 9, 5.0), StoredImage("image/jpeg", b"J", 5.0)
    await cache.put_image(URL, plain)
    await cache.put_image(URL, small, "360.light.jpeg")
    await cache.put_image(URL, StoredImage("image/jpeg", b"ORIGIN", 5.0), ORIGIN)
    info = PictureInfo(720, 480, {"1080.webp": 9, "360.light.jpeg": 1}, 5.0)
    await cache.put_picture_info(URL, info)
    assert await cache.get_image(URL) == plain
    assert await cache.get_image(URL, "360.light.jpeg") == small
    assert await cache.get_image(URL, "720.webp") is None
    assert await cache.get_picture_info(URL) == info
    assert await cache.purge(URL) == 4
    assert await cache.get_image(URL, ORIGIN) is None and await cache.get_picture_info(URL) is None


async def test_the_origin_response_is_an_entry_of_its_own(store_under_test: StoreUnderTest) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Link", "<https://x.example/>"))
    body = "<html>A RESPONSE ABOUT CAMPS\n\u00e9\x00</html>".encode()
    response = StoredResponse(URL + "?final", 200, "OK", headers, body, 7.5)
    await cache.put_page(URL, page())
    assert await cache.get_response(URL) is None
    await cache.put_response(URL, response)
    assert await cache.get_response(URL) == response
    assert await cache.get_page(URL) == page()
    raw = store_under_test.at_rest()
    for needle in (b"RESPONSE ABOUT CAMPS", b"x.example", b"text/html"):
        assert needle not in raw
    assert await cache.purge(URL) == 2
    assert await cache.get_response(URL) is None


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


async def test_a_claim_is_granted_once_per_window_to_every_instance(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, b"k" * 32)
    assert await cache.claim("nonce-1", 60)
    assert not await cache.claim("nonce-1", 60)
    async with store_under_test.another() as other:
        assert not await PageCache(other, b"k" * 32).claim("nonce-1", 60)
        assert await PageCache(other, b"k" * 32).claim("nonce-2", 60)
    assert await cache.claim("short", 1)
    await store_under_test.pass_time(1.1)
    assert await cache.claim("short", 1), "an expired claim may be made again"
    assert b"nonce-1" not in store_under_test.at_rest()


def removed(url: str = URL, at: float = 2000.0) -> StoredPage:
    kept = page()
    return StoredPage(
        article=Article(url=url, title=f"Kept {url}", body=kept.article.body),
        fetched_at=kept.fetched_at,
        removed_at=at,
    )


async def test_removed_pages_are_listed_per_site_newest_first(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    older, newer = URL + "older/", URL + "newer/"
    await cache.put_page(older, removed(older, 2000.0))
    await cache.put_page(newer, removed(newer, 3000.0))
    for url in (older, newer, older):  # listing twice changes nothing
        await cache.list_removed("cdt", url)
    await cache.list_removed("other", newer)
    assert await cache.removed_pages("cdt") == [
        (newer, removed(newer, 3000.0)),
        (older, removed(older, 2000.0)),
    ]
    assert [url for url, _ in await cache.removed_pages("other")] == [newer]
    assert await cache.removed_pages("nosuch") == []
    await cache.unlist_removed("cdt", newer)
    assert [url for url, _ in await cache.removed_pages("cdt")] == [older]


async def test_the_index_of_removed_pages_heals_and_purge_forgets(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    live, purged, listed = URL + "live/", URL + "purged/", URL + "listed/"
    await cache.put_page(live, page())  # back at its origin: an ordinary copy
    await cache.list_removed("cdt", live)
    await cache.put_page(purged, removed(purged))
    await cache.list_removed("cdt", purged)
    await cache.put_page(listed, removed(listed))
    await cache.list_removed("cdt", listed)
    await store_under_test.store.delete(Sealer(SECRET).row_key("page", purged))
    assert [url for url, _ in await cache.removed_pages("cdt")] == [listed]
    assert (
        len(await store_under_test.store.index_items(Sealer(SECRET).row_key("removed", "cdt"))) == 1
    )
    assert await cache.purge(listed, "cdt") == 1
    assert await cache.get_page(listed) is None
    assert await store_under_test.store.index_items(Sealer(SECRET).row_key("removed", "cdt")) == []


async def test_removed_pages_are_unreadable_at_rest_and_outlive_prune(
    store_under_test: StoreUnderTest,
) -> None:
    cache = PageCache(store_under_test.store, SECRET)
    await cache.put_page(URL, removed())
    await cache.list_removed("cdt", URL)
    await store_under_test.store.prune()
    assert await cache.removed_pages("cdt") == [(URL, removed())]
    at_rest = store_under_test.at_rest()
    for secret in (b"secret-article", b"camps", b"cdt", b"Kept"):
        assert secret not in at_rest


async def test_stored_pages_are_listed_once_heal_and_stay_sealed(
    store_under_test: StoreUnderTest,
) -> None:
    """The list the publisher (and the search index's rebuild) reads the store by."""
    cache = PageCache(store_under_test.store, SECRET)
    kept, evicted, purged = URL + "kept/", URL + "evicted/", URL + "purged/"
    for url in (kept, evicted, purged, kept):  # stored again: listed once
        await cache.put_page(url, page())
    await store_under_test.store.delete(Sealer(SECRET).row_key("page", evicted))
    await cache.purge(purged)
    assert [(url, p) async for url, p in cache.stored_pages()] == [(kept, page())]
    assert len(await store_under_test.store.index_items(Sealer(SECRET).row_key("pages", ""))) == 1
    for secret in (b"secret-article", b"kept/", b"evicted"):
        assert secret not in store_under_test.at_rest()
