from __future__ import annotations

from typing import Any

import lxml.html

from mirror.extract import extract_article, text_direction
from tests.conftest import ARTICLE_URL, CDT
from tests.text_checks import assert_in_order, fold


def test_cdt_article_metadata_and_paragraphs(expected: dict[str, Any]) -> None:
    page = lxml.html.document_fromstring((CDT / "article.html").read_text("utf-8"))
    article, body = extract_article(page, ARTICLE_URL)
    assert article.title == expected["title"]
    assert article.published == expected["published"]
    assert article.lang == "en-US"
    assert article.direction == "ltr"
    assert article.lead_image is not None
    assert article.lead_image.src.endswith("xinjiang-camp-1024x576.jpg")
    assert_in_order(fold(body.text_content()), expected["paragraphs_in_order"])


def test_page_is_not_modified() -> None:
    page = lxml.html.document_fromstring((CDT / "article.html").read_text("utf-8"))
    before = lxml.html.tostring(page)
    extract_article(page, ARTICLE_URL)
    assert lxml.html.tostring(page) == before


def test_lead_image_is_put_first_with_srcset() -> None:
    page = lxml.html.document_fromstring((CDT / "article.html").read_text("utf-8"))
    _, body = extract_article(page, ARTICLE_URL)
    first_img = next(body.iter("img"))
    assert first_img.get("src", "").endswith("xinjiang-camp-1024x576.jpg")
    assert "300w" in first_img.get("srcset", "")


def test_direction_from_text_and_declaration() -> None:
    assert text_direction("ئۇيغۇر تىلى") == "rtl"
    assert text_direction("plain English words") == "ltr"
    assert text_direction("English", "RTL") == "rtl"
    assert text_direction("中文中文中文中文中文 ئۇي") == "ltr"
