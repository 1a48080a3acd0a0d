from __future__ import annotations

import re
import string

import pytest
from babel.messages.catalog import Catalog

from mirror.render.i18n import (
    LANGUAGES,
    Language,
    catalog,
    choose,
    error_messages,
    match_tag,
    negotiate,
    source_messages,
    translations,
)

TRANSLATED = [language for tag, language in LANGUAGES.items() if tag != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def untranslated(messages: list[str], translated: Catalog) -> list[str]:
    """Messages the catalog lacks, leaves empty, marks fuzzy, or breaks placeholders of."""
    missing = []
    for message in messages:
        entry = translated.get(message)
        translation = entry.string if entry is not None and not entry.fuzzy else ""
        text = translation if isinstance(translation, str) else ""
        same_placeholders = sorted(PLACEHOLDER.findall(message)) == sorted(
            PLACEHOLDER.findall(text)
        )
        if not text or not same_placeholders:
            missing.append(message)
    return missing


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda lang: lang.tag)
def test_every_interface_string_is_translated(language: Language) -> None:
    assert untranslated(source_messages(), catalog(language)) == []


def test_the_check_catches_a_missing_translation() -> None:
    partial = catalog(LANGUAGES["ru"])
    partial.delete("Read blocked news")
    partial["Skip to content"].string = ""
    partial["Page %(page)s of %(pages)s"].string = "Страница"
    assert set(untranslated(source_messages(), partial)) == {
        "Skip to content",
        "Read blocked news",
        "Page %(page)s of %(pages)s",
    }


def test_sources_include_templates_and_errors() -> None:
    messages = source_messages()
    assert "Skip to content" in messages
    assert "Page not found" in messages
    assert set(error_messages()) <= set(messages)
    assert all(isinstance(m, str) and m for m in messages)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("zh-TW,zh;q=0.9", "zh-Hant"),
        ("zh-Hant-HK", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh", "zh-Hans"),
        ("ug-CN, zh;q=0.5", "ug"),
        ("fa-IR,fa;q=0.9,en-US;q=0.8", "fa"),
        ("ru-RU,ru;q=0.9", "ru"),
        ("de-DE,de;q=0.9", "en"),
        ("de,ru;q=0.5,fa;q=0.7", "fa"),
        ("fa;q=0, ru", "ru"),
        ("*", "en"),
        ("en;q=bogus, ru;q=0.1", "ru"),
    ],
)
def test_accept_language(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def test_explicit_choice_wins_and_unknown_falls_back() -> None:
    assert choose("ug", "ru") == (LANGUAGES["ug"], True)
    assert choose("xx", "ru") == (LANGUAGES["ru"], False)
    assert choose(None, "") == (LANGUAGES["en"], False)
    assert match_tag("EN-gb") == "en"


def test_right_to_left_languages() -> None:
    assert {t for t, lang in LANGUAGES.items() if lang.direction == "rtl"} == {"ug", "fa"}


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda lang: lang.tag)
def test_catalogs_compile_and_translate(language: Language) -> None:
    compiled = translations(language.tag)
    translated = compiled.gettext("Page not found")
    assert translated != "Page not found"
    assert set(translated) - set(string.printable)
