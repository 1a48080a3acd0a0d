from __future__ import annotations

from mirror.article import Article
from mirror.cache import StoredPage
from mirror.errors import TooLarge
from mirror.pipeline import Served
from mirror.render import render_article, render_error, render_home
from mirror.settings import Site


def test_metadata_is_escaped_body_is_not() -> None:
    article = Article(url="https://a.example/<x>", title="<script>alert(1)</script>", body="")
    html = render_article(Served(StoredPage(article, fetched_at=0.0)), "<p>body</p>")
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<p>body</p>" in html
    assert "1970-01-01 00:00 UTC" in html


def test_stale_copy_is_announced() -> None:
    article = Article(url="https://a.example/", title="t", body="")
    html = render_article(Served(StoredPage(article, fetched_at=0.0), stale=True), "")
    assert "Saved copy from 1970-01-01" in html


def test_full_page_fallback_is_announced() -> None:
    article = Article(url="https://a.example/", title="t", body="", full_page=True)
    html = render_article(Served(StoredPage(article, fetched_at=0.0)), "")
    assert "could not find the article on this page" in html
    plain = Article(url="https://a.example/", title="t", body="")
    assert "could not find" not in render_article(Served(StoredPage(plain, fetched_at=0.0)), "")


def test_error_page_names_the_problem() -> None:
    html = render_error(TooLarge("The page is over the limit of 10 bytes."))
    assert "too large" in html and "10 bytes" in html


def test_home_lists_sites() -> None:
    html = render_home((Site(name="cdt", origin="https://chinadigitaltimes.net", title="CDT"),))
    assert "CDT" in html and "chinadigitaltimes.net" in html
