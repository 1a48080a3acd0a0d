"""The article as the pipeline hands it from stage to stage, stores it and serves it.

Value types shared by the store, the pipeline and rendering live here, below all three.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args


@dataclass(frozen=True)
class LeadImage:
    """The picture that heads the article (absolute URLs, as the origin gave them)."""

    src: str
    srcset: str = ""
    alt: str = ""


@dataclass(frozen=True)
class Article:
    """A reader-mode article. ``body`` is HTML with absolute URLs to the origin.

    Mirror URLs never appear here: they are made at render time, so rotating token keys
    or moving the mirror never invalidates what is stored. ``extracted_by`` says which site
    rule or heuristic chose the body; ``full_page`` is set when extraction kept too little and
    the whole (sanitised) page is served instead, so the reader is told and metrics can count it.
    """

    url: str
    title: str
    body: str
    byline: str = ""
    published: str = ""
    lang: str = ""
    direction: str = "ltr"
    lead_image: LeadImage | None = None
    site_name: str = ""
    extracted_by: str = ""
    full_page: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Article:
        """The article ``dataclasses.asdict`` made, read back (the store's and the export's
        JSON): the lead image, a nested dict there, becomes a ``LeadImage`` again."""
        fields = dict(raw)
        lead = fields.pop("lead_image")
        return cls(**fields, lead_image=LeadImage(**lead) if lead else None)


@dataclass(frozen=True)
class PictureInfo:
    """What an article page needs to know of a picture it offers, once the mirror made its
    files: the size they were made from, and each file's bytes by variant name (so the page
    can say what the pictures will cost, and offers no width wider than the picture)."""

    width: int
    height: int
    sizes: dict[str, int]
    fetched_at: float

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> PictureInfo:
        return cls(**json.loads(data))


Source = Literal["origin", "archive", "publisher", "contributor"]
"""Where a stored copy came from: fetched from the origin, from the Internet Archive's
capture, pushed by the site's publisher, or uploaded by a contributor."""

SOURCES: tuple[Source, ...] = get_args(Source)


@dataclass(frozen=True)
class StoredPage:
    """A processed article and what we know about its fetch.

    ``fetched_at`` is when this copy was saved (or last confirmed by the origin), so it is
    also the last time the article was seen live. ``removed_at`` is when the origin was first
    seen to have removed it (404, 410, or a redirect to its front page); such a copy is kept.
    """

    article: Article
    fetched_at: float
    etag: str | None = None
    last_modified: str | None = None
    source: Source = "origin"
    removed_at: float | None = None

    @property
    def provenance(self) -> str:
        """The copy's standing as a reader and a signature see it: ``removed`` once the
        origin removed the article, else where the copy came from."""
        return "removed" if self.removed_at is not None else self.source

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredPage:
        raw: dict[str, Any] = json.loads(data)
        return cls(
            article=Article.from_dict(raw["article"]),
            fetched_at=raw["fetched_at"],
            etag=raw["etag"],
            last_modified=raw["last_modified"],
            source=_source(raw.get("source", "origin")),
            removed_at=raw.get("removed_at"),
        )


def _source(name: str) -> Source:
    """A stored source name, checked: entries written before sources existed have none."""
    for source in SOURCES:
        if source == name:
            return source
    raise ValueError(f"unknown source {name!r}")


@dataclass
class Served:
    """A stored page and whether it is older than its freshness (served from a saved copy)."""

    stored: StoredPage
    stale: bool = False
