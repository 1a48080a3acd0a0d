"""Chinese pages in their own layouts and encodings, and words counted per character.

The ``zh-*`` fixtures (``tests/fixtures/reader/``, hand-written, our own words) are a portal
page ringed with short links, a story with readers' comments under it, a column laid out as
a one-row table with ``<br>``-separated paragraphs, and the two older ``zh-han*`` stories.
Each goes through the whole pure pipeline, from bytes: in UTF-8 as written, and in GBK or
Big5 with the declaration missing, wrong (a template's ``utf-8``), or overridden by a
server's default ``ISO-8859-1`` header. The text a reader gets is held to a golden file in
``tests/golden/reader/`` (regenerate with ``MIRROR_UPDATE_GOLDEN=1`` and read the diff).
"""

from __future__ import annotations

import json
import os

import pytest

from mirror.fetch.decode import decode_html
from mirror.transform.page import process_page
from mirror.transform.reader.ensemble import shingles
from mirror.transform.reader.words import words
from tests.support.paths import FIXTURES, GOLDEN
from tests.transform.reader.test_extract_fixtures import reader_text

READER = FIXTURES / "reader"
CHINESE = sorted(p.stem for p in READER.glob("zh-*.html"))
# (codec the page is written in, what the page declares in <meta>, the HTTP charset)
ENCODINGS = {
    "utf-8": ("utf-8", "utf-8", None),
    "legacy, undeclared": (None, None, None),
    "legacy, declared utf-8": (None, "utf-8", None),
    "legacy, header iso-8859-1": (None, None, "iso-8859-1"),
}


def _legacy(name: str) -> str:
    """Traditional characters go out in Big5, simplified in GBK."""
    return "big5" if "hant" in name or "br-" in name else "gbk"


def _page(name: str, encoding: str) -> tuple[bytes, str | None]:
    written, declared, header = ENCODINGS[encoding]
    codec = written or _legacy(name)
    html = (READER / f"{name}.html").read_text("utf-8")
    label = declared or (codec if header else None)
    meta = f'<meta charset="{label}">' if label else ""
    html = html.replace('<meta charset="utf-8">', meta)
    # A legacy page writes what its encoding lacks (©) as a character reference.
    return html.encode(codec, "xmlcharrefreplace"), header


def _text(raw: bytes, header: str | None, name: str) -> str:
    url = json.loads((READER / f"{name}.json").read_text("utf-8"))["url"]
    return reader_text(process_page(decode_html(raw, header), url).body)


@pytest.mark.parametrize("name", CHINESE)
def test_chinese_pages_read_as_their_golden_text(name: str) -> None:
    text = _text(*_page(name, "utf-8"), name)
    golden = GOLDEN / "reader" / f"{name}.txt"
    if os.environ.get("MIRROR_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text + "\n", "utf-8")
    assert text == golden.read_text("utf-8").rstrip("\n")


@pytest.mark.parametrize("encoding", [e for e in ENCODINGS if e != "utf-8"])
@pytest.mark.parametrize("name", CHINESE)
def test_legacy_encodings_read_the_same_with_wrong_or_missing_declarations(
    name: str, encoding: str
) -> None:
    assert _text(*_page(name, encoding), name) == _text(*_page(name, "utf-8"), name)


def test_cjk_characters_are_words_and_spaced_scripts_keep_theirs() -> None:
    assert words("新線路全長四十二公里。") == list("新線路全長四十二公里")
    assert words("東京タワーに行った") == list("東京タワーに行った")
    assert words("한국어 문장, plain English_words 42") == [
        "한국어",
        "문장",
        "plain",
        "English_words",
        "42",
    ]


def test_a_chinese_paragraph_has_as_many_shingles_as_characters_less_two() -> None:
    paragraph = "记者从市湿地保护管理站获悉，入冬以来已记录到越冬候鸟三万余只。"
    assert len(shingles(paragraph)) == len(words(paragraph)) - 2
