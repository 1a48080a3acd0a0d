"""Interface languages: choosing one per request, and the gettext catalogs behind them.

The reader's language comes from an explicit ``?hl=`` parameter (a link, so it works
without JavaScript and without cookies) or else from ``Accept-Language``. Catalogs are
gettext ``.po`` files under ``mirror/render/locale``, read through ``importlib.resources``
(the wheel carries them); Babel compiles them in memory the first time a language is used,
so a fresh clone needs no build step and no ``.mo`` file can go stale. English is the source
language and needs no catalog.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations
from jinja2.ext import babel_extract

# The source tree, for ``make catalogs`` only (a developer's command that writes catalogs);
# the running mirror reads catalogs through ``catalog`` and templates through Jinja's loader.
SOURCE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = SOURCE_DIR / "locale"
TEMPLATE_DIR = SOURCE_DIR / "templates"
GETTEXT_FUNCTIONS = ("_", "gettext")
DEFAULT = "en"


@dataclass(frozen=True)
class Language:
    """An interface language: its tag (``hl`` value and ``<html lang>``), name and direction."""

    tag: str
    name: str
    direction: str = "ltr"

    @property
    def catalog_dir(self) -> str:
        """Babel's spelling of the tag (``zh_Hans``), as the catalog directory is named."""
        return self.tag.replace("-", "_")


LANGUAGES: dict[str, Language] = {
    language.tag: language
    for language in (
        Language("en", "English"),
        Language("zh-Hans", "简体中文"),
        Language("zh-Hant", "繁體中文"),
        Language("ug", "ئۇيغۇرچە", "rtl"),
        Language("fa", "فارسی", "rtl"),
        Language("ru", "Русский"),
    )
}
# Chinese tags that name a region rather than a script, mapped to the script they use.
TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([^,;\s]*))?")


def match_tag(tag: str) -> str | None:
    """The interface language for one language tag, e.g. ``zh-TW`` → ``zh-Hant``."""
    parts = tag.lower().split("-")
    if parts[0] == "zh":
        rest = set(parts[1:])
        return "zh-Hant" if "hant" in rest or rest & TRADITIONAL_REGIONS else "zh-Hans"
    for known in LANGUAGES:
        if known.lower() == parts[0]:
            return known
    return None


def negotiate(accept_language: str) -> str:
    """The best interface language for an ``Accept-Language`` header (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[:32]):
        found = _RANGE.match(item)
        if found is None:
            continue
        try:
            quality = float(found[2]) if found[2] else 1.0
        except ValueError:
            continue
        language = match_tag(found[1])
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT


def choose(explicit: str | None, accept_language: str) -> tuple[Language, bool]:
    """The request's language, and whether the reader chose it explicitly (``?hl=``)."""
    if explicit in LANGUAGES:
        return LANGUAGES[explicit], True
    return LANGUAGES[negotiate(accept_language)], False


def catalog(language: Language) -> Catalog:
    """The parsed ``.po`` catalog of a language (not for English, the source language)."""
    path = files("mirror.render").joinpath(
        "locale", language.catalog_dir, "LC_MESSAGES", "messages.po"
    )
    with path.open("rb") as handle:
        return read_po(handle, locale=language.catalog_dir)


@cache
def translations(tag: str) -> NullTranslations:
    """Compiled translations for ``tag``, built in memory from its catalog once."""
    if tag == DEFAULT:
        return NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog(LANGUAGES[tag]))
    compiled.seek(0)
    return Translations(compiled)


def long_date(value: datetime.date, language: Language) -> str:
    """A date written the way the reader's language writes it."""
    return format_date(value, format="long", locale=Locale.parse(language.catalog_dir))


def error_messages() -> list[str]:
    """The titles and hints of every error a reader can see (translated at render time)."""
    from mirror import errors

    shown = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.MirrorError)
    ]
    return [text for cls in shown for text in (cls.title, cls.hint)]


def source_messages() -> list[str]:
    """Every message the interface shows: gettext calls in templates and modules, and the
    error texts (translated at render time)."""
    found: list[str] = []
    for template in sorted(TEMPLATE_DIR.iterdir()):
        with template.open("rb") as handle:
            found.extend(_singular(babel_extract(handle, GETTEXT_FUNCTIONS, [], {})))
    for module in sorted(SOURCE_DIR.parent.rglob("*.py")):
        with module.open("rb") as handle:
            found.extend(
                _singular(extract_python(handle, dict.fromkeys(GETTEXT_FUNCTIONS), [], {}))
            )
    found.extend(error_messages())
    return list(dict.fromkeys(found))


def _singular(extracted: Iterable[tuple[Any, ...]]) -> list[str]:
    """The message of each extracted call (its first string argument; others are names)."""
    found = []
    for _, _, message, *_ in extracted:
        first = message if isinstance(message, str) else (message or (None,))[0]
        if first:
            found.append(first)
    return found


def write_template(path: Path) -> None:
    """Write ``messages.pot`` from the sources and merge it into every catalog.

    Run by ``make catalogs`` after interface text changes; translators then fill the gaps.
    """
    template = Catalog(
        project="mirror",
        version="0.1",
        header_comment="# The messages of mirror's interface, written by `make catalogs`.",
        fuzzy=False,
    )
    for message in source_messages():
        template.add(message)
    with path.open("wb") as handle:
        write_po(handle, template, omit_header=False, width=100)
    for language in list(LANGUAGES.values())[1:]:
        existing = catalog(language)
        existing.update(template)
        target = LOCALE_DIR / language.catalog_dir / "LC_MESSAGES" / "messages.po"
        with target.open("wb") as handle:
            write_po(handle, existing, width=100, ignore_obsolete=True)


if __name__ == "__main__":
    write_template(LOCALE_DIR / "messages.pot")
