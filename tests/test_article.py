"""The article's JSON form, as the store and the export keep it, reads back as it was."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from mirror.article import Article, LeadImage, StoredPage

LEAD = LeadImage(src="https://chinadigitaltimes.net/i.jpg", srcset="i2.jpg 2x", alt="camp")


@pytest.mark.parametrize("lead", [LEAD, None])
def test_article_from_its_dict_is_the_same_article(lead: LeadImage | None) -> None:
    article = Article(
        url="https://chinadigitaltimes.net/a/", title="T", body="<p>b</p>", lead_image=lead
    )
    read = Article.from_dict(json.loads(json.dumps(asdict(article))))
    assert read == article
    assert read.lead_image is None or isinstance(read.lead_image, LeadImage)


def test_stored_page_round_trips_through_bytes() -> None:
    article = Article(url="https://chinadigitaltimes.net/a/", title="T", body="", lead_image=LEAD)
    stored = StoredPage(article, fetched_at=1.5, etag='"x"', last_modified=None)
    assert StoredPage.from_bytes(stored.to_bytes()) == stored


def test_stored_page_keeps_its_source_and_removal_through_bytes() -> None:
    article = Article(url="https://chinadigitaltimes.net/a/", title="T", body="")
    stored = StoredPage(article, fetched_at=1.5, source="archive", removed_at=9.0)
    read = StoredPage.from_bytes(stored.to_bytes())
    assert (read.source, read.removed_at, read.provenance) == ("archive", 9.0, "removed")


def test_an_entry_saved_before_sources_existed_reads_as_from_the_origin() -> None:
    article = Article(url="https://chinadigitaltimes.net/a/", title="T", body="")
    raw = json.loads(StoredPage(article, fetched_at=1.5).to_bytes())
    del raw["source"], raw["removed_at"]
    read = StoredPage.from_bytes(json.dumps(raw).encode())
    assert (read.source, read.removed_at, read.provenance) == ("origin", None, "origin")


def test_an_unknown_source_is_refused() -> None:
    article = Article(url="https://chinadigitaltimes.net/a/", title="T", body="")
    raw = json.loads(StoredPage(article, fetched_at=1.5).to_bytes())
    raw["source"] = "rumour"
    with pytest.raises(ValueError, match="rumour"):
        StoredPage.from_bytes(json.dumps(raw).encode())
