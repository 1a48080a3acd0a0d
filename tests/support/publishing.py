"""What a publish needs first: articles the mirror holds. A publish reads the store, never
the origin, so a test has the mirror read the articles it expects in the copy, as a reader
opening them through the mirror would."""

from __future__ import annotations

from mirror.settings import Config
from mirror.share.download import image_urls
from tests.conftest import open_mirror


async def hold(config: Config, *urls: str) -> None:
    """The mirror of ``config`` reads and stores ``urls``, and the pictures they show."""
    async with open_mirror(config) as mirror:
        for url in urls:
            served = await mirror.page(url)
            for image in image_urls(served.stored.article.body):
                await mirror.image(image)
        await mirror.settled()
