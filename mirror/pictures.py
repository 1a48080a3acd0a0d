"""The pictures relayed under ``/r/``: fetched once, made again as every variant, stored.

The first reader's browser to ask for any file of a picture has the mirror fetch it (with
the same address checks and limits as pages), prove it raster by its bytes, and make every
variant the ``Offer`` lists in one transform process job (``transform.pictures.made``: one
decode, one scaling per width, one encoding per file). Each file is then stored under the
picture's URL, with a small ``PictureInfo`` (its size, each file's bytes) that the article
page reads when it is rendered, and the origin's file, kept sealed for the WARC export and
never served. A picture refused, or past ``server.transform_timeout``, stores nothing and is
remembered as failed for ``cache.error_seconds``, like a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from mirror.article import PictureInfo
from mirror.counters import origin_fetch
from mirror.errors import FetchError, NotFound, TooComplex
from mirror.fetch.client import IMAGE_TYPES, Fetcher
from mirror.flight import RecentErrors, SingleFlight
from mirror.pool import TransformPool, off_loop
from mirror.settings import Config
from mirror.store.cache import ORIGIN, PageCache, StoredImage
from mirror.transform.images import checked_image
from mirror.transform.pictures import Made, Recipe, made
from mirror.transform.variants import Offer, Variant

FAILURES = (FetchError, TooComplex)
# Pictures whose files are made at once for one page's rendering (``warm``).
WARM_AT_ONCE = 4


class Pictures:
    """Every file of every relayed picture, made once and read from the store after."""

    def __init__(
        self,
        config: Config,
        fetcher: Fetcher,
        cache: PageCache,
        pool: TransformPool | None,
        errors: RecentErrors,
    ) -> None:
        self._config = config
        self._fetcher = fetcher
        self._cache = cache
        self._pool = pool
        self._errors = errors
        self._flight: SingleFlight[dict[str, StoredImage]] = SingleFlight()
        images = config.images
        self.offer = Offer.of(images)
        self._recipe = Recipe.of(images)

    def __len__(self) -> int:
        """How many pictures are being fetched and made."""
        return len(self._flight)

    async def aclose(self) -> None:
        await self._flight.aclose()

    async def file(self, url: str, variant: Variant | None = None) -> StoredImage:
        """The file ``variant`` (the plain one by default) of the picture at ``url``; all
        of them are made when it is not stored fresh. ``NotFound`` for a variant the
        offer does not list."""
        chosen = variant or self.offer.plain
        if not self.offer.allows(chosen):
            raise NotFound
        cached = await self._cache.get_image(url, self._stored_name(chosen))
        if cached is not None and cached.age() < self._config.fresh_seconds(url, image=True):
            return cached
        try:
            return (await self._made(url))[chosen.name]
        except FetchError:
            if cached is None:
                raise
            return cached

    async def small_file(self, url: str) -> StoredImage:
        """The file downloads carry (``Offer.small``)."""
        return await self.file(url, self.offer.small)

    async def info(self, url: str) -> PictureInfo | None:
        """What is known of the picture at ``url`` without fetching it (None: not yet made)."""
        return await self._cache.get_picture_info(url)

    def failed(self, url: str) -> bool:
        """Whether making the picture at ``url`` failed lately (remembered for
        ``cache.error_seconds``): a page need not wait for it to be measured."""
        return self._errors.recent(_failure_key(url)) is not None

    async def warm(self, urls: Iterable[str]) -> None:
        """Make the files of the pictures at ``urls`` that are not made yet, a few at a
        time; failures are remembered as usual, and not raised."""
        gate = asyncio.Semaphore(WARM_AT_ONCE)

        async def one(url: str) -> None:
            async with gate:
                if await self.info(url) is None:
                    with contextlib.suppress(*FAILURES):
                        await self._made(url)

        await asyncio.gather(*(one(url) for url in urls))

    def _stored_name(self, variant: Variant) -> str:
        """The plain file is stored under the picture's own entry (as before variants)."""
        return "" if variant == self.offer.plain else variant.name

    async def _made(self, url: str) -> dict[str, StoredImage]:
        key = _failure_key(url)
        self._errors.check(key)
        try:
            return await self._flight.run(url, lambda: self._fetch(url))
        except FAILURES as error:
            self._errors.remember(key, error)
            raise

    async def _fetch(self, url: str) -> dict[str, StoredImage]:
        with origin_fetch():
            fetched = await self._fetcher.fetch(url, IMAGE_TYPES)
        kind = checked_image(fetched.body, self._config.images.max_bytes)
        variants = self.offer.variants()
        result: Made = await off_loop(self._pool, made, fetched.body, self._recipe, variants)
        now = time.time()
        files = {v.name: StoredImage(v.content_type, result.files[v.name], now) for v in variants}
        for variant in variants:
            await self._cache.put_image(url, files[variant.name], self._stored_name(variant))
        await self._cache.put_image(url, StoredImage(kind, fetched.body, now), ORIGIN)
        sizes = {name: len(file.body) for name, file in files.items()}
        await self._cache.put_picture_info(
            url, PictureInfo(result.width, result.height, sizes, now)
        )
        return files

    async def origin_file(self, url: str) -> StoredImage | None:
        """The origin's own file of a picture the mirror made (for the WARC export only)."""
        return await self._cache.get_image(url, ORIGIN)


def _failure_key(url: str) -> str:
    return f"image {url}"
