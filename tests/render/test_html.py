from __future__ import annotations

import pytest
from markupsafe import escape

from mirror import errors
from mirror.article import Article, Served, StoredPage
from mirror.render.html import (
    ArticleView,
    Reader,
    SiteListing,
    present_body,
    reading_minutes,
    render_about,
    render_article,
    render_error,
    render_home,
)
from mirror.render.i18n import LANGUAGES
from mirror.settings import ReaderConfig, Site

CDT = Site(name="cdt", origin="https://chinadigitaltimes.net", title="CDT")
ERRORS = [
    value
    for value in vars(errors).values()
    if isinstance(value, type) and issubclass(value, errors.MirrorError)
]


def reader(tag: str = "en", lite: bool = False) -> Reader:
    return Reader(LANGUAGES[tag], "none" if lite else "full")


def article_html(article: Article, stale: bool = False, tag: str = "en") -> str:
    served = Served(StoredPage(article, fetched_at=0.0), stale=stale)
    return render_article(reader(tag), served, article.body, ArticleView(share_url="https://m/x"))


def test_metadata_is_escaped_body_is_not() -> None:
    article = Article(
        url="https://a.example/<x>", title="<script>alert(1)</script>", body="<p>b</p>"
    )
    html = article_html(article)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert '<p dir="auto">b</p>' in html
    assert "January 1, 1970" in html


def test_stale_copy_is_announced_in_the_readers_language() -> None:
    article = Article(url="https://a.example/", title="t", body="")
    assert "Saved copy from January 1, 1970" in article_html(article, stale=True)
    assert "Сохранённая копия от 1 января 1970" in article_html(article, stale=True, tag="ru")
    assert "Saved copy" not in article_html(article)


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("tag", list(LANGUAGES))
def test_every_error_has_a_page_in_every_language(
    error: type[errors.MirrorError], tag: str
) -> None:
    shown = error.__new__(error)
    errors.MirrorError.__init__(shown, "detail for the curious")
    html = render_error(reader(tag), shown, shown.status, "Example Site")
    assert f'<html lang="{tag}" dir="{LANGUAGES[tag].direction}">' in html
    words = {"site": "Example Site"}
    title, hint = (str(escape(text % words)) for text in (error.title, error.hint))
    if tag == "en":
        assert title in html and hint in html
    else:
        assert title not in html and hint not in html
    assert ("Example Site" in html) == ("%(site)s" in error.title + error.hint)
    assert "detail for the curious" in html
    assert str(shown.status) in html
    assert 'href="/"' in html and 'href="/about"' in html


def test_full_page_fallback_is_announced() -> None:
    view = ArticleView(share_url="https://m/x")
    article = Article(url="https://a.example/", title="t", body="", full_page=True)
    html = render_article(reader(), Served(StoredPage(article, fetched_at=0.0)), "", view)
    assert "could not find the article on this page" in html
    plain = Article(url="https://a.example/", title="t", body="")
    served = Served(StoredPage(plain, fetched_at=0.0))
    assert "could not find" not in render_article(reader(), served, "", view)


def test_home_lists_sites_and_failures() -> None:
    html = render_home(reader(), [SiteListing(CDT, (), failed=True)])
    assert "CDT" in html and "chinadigitaltimes.net" in html
    assert "could not be loaded" in html


def test_about_names_the_operator() -> None:
    settings = ReaderConfig(operator="Friends of the Press", contact="mirror@example.org")
    html = render_about(reader(), settings, (CDT,))
    assert "Friends of the Press" in html and "mirror@example.org" in html
    assert "has not given a name" not in html


def test_reader_links_carry_only_explicit_choices() -> None:
    implicit = Reader.from_request("/s/cdt/", {"page": "2"}, "ru", "none")
    assert implicit.language.tag == "ru" and implicit.lite
    assert implicit.link("/") == "/"
    assert implicit.with_language("fa") == "/s/cdt/?hl=fa&page=2"
    assert implicit.with_pictures("full") == "/s/cdt/?pics=full&page=2"
    explicit = Reader.from_request("/", {"hl": "ug", "lite": "1"}, "ru", "full")
    assert explicit.link("/m/t") == "/m/t?hl=ug&pics=none"
    light = Reader.from_request("/", {"pics": "light", "lite": "1"}, "", "full")
    assert light.pictures == "light" and light.link("/") == "/?pics=light"
    ignored = Reader.from_request("/", {"hl": "xx", "lite": "2", "pics": "x"}, "", "full")
    assert ignored.link("/") == "/" and not ignored.lite


def test_reading_time_counts_words_and_cjk_characters() -> None:
    assert reading_minutes("") == 1
    assert reading_minutes("<p>" + "word " * 2300 + "</p>") == 10
    assert reading_minutes("<p>" + "字" * 4000 + "</p>") == 10


def test_present_body_marks_directions_and_hides_images_on_request() -> None:
    body = (
        '<p>text</p><blockquote dir="rtl"><p dir="rtl">متن</p></blockquote>'
        '<figure><img src="/r/abc" alt="A photo"><figcaption>c</figcaption></figure>'
        '<picture><source srcset="/r/def 2x"><img src="/r/ghi"></picture>'
    )
    shown = present_body(body, lite=False)
    assert '<p dir="auto">text</p>' in shown and '<blockquote dir="rtl">' in shown
    assert '<img src="/r/abc"' in shown
    lite = present_body(body, lite=True, image_label="Show image")
    assert "<img" not in lite and "<source" not in lite
    assert '<a href="/r/abc" class="image-request">A photo</a>' in lite
    assert '<a href="/r/ghi" class="image-request">Show image</a>' in lite


def removed_html(tag: str = "en", site: Site | None = CDT) -> str:
    article = Article(url="https://a.example/story", title="t", body="<p>b</p>")
    kept = StoredPage(article, fetched_at=0.0, removed_at=40 * 86400.0)
    view = ArticleView(share_url="https://m/x", site=site)
    return render_article(reader(tag), Served(kept), article.body, view)


def test_a_removed_copy_says_when_it_was_removed_and_when_it_was_saved() -> None:
    assert (
        "Removed from CDT on February 10, 1970 — this copy was saved on January 1, 1970."
        in removed_html()
    )
    russian = removed_html("ru")
    assert "Удалено с сайта CDT 10 февраля 1970" in russian
    assert "сохранена 1 января 1970" in russian
    assert "Removed from a.example on" in removed_html(site=None)  # open mode: the host
    for tag in LANGUAGES:
        html = removed_html(tag)
        assert 'class="removed"' in html and 'class="stale"' not in html
        if tag != "en":
            assert "Removed from" not in html, tag


def test_a_removed_site_name_is_escaped() -> None:
    html = removed_html(site=Site(name="x", origin="https://a.example", title="<b>X</b>"))
    assert "<b>X</b>" not in html and "&lt;b&gt;X&lt;/b&gt;" in html
