"""What the index and the queries are reduced to, so that forms of one word meet.

Chinese in Traditional and Simplified characters is one language: a reader types 維吾爾 or
维吾尔 for the same word, so both the text and the query are converted to Simplified with
OpenCC (``t2s``: the converter Wikipedia and most Chinese input tools use, with its own
phrase tables, not a hand-kept list of characters). Latin, Cyrillic and other cased scripts
are case-folded and their accents dropped (``Příliš`` finds ``prilis``), after NFKC, so that
full-width Latin and compatibility forms fold too.

Han, kana and hangul are then written one character to a token (a space between each):
SQLite's ``unicode61`` tokenizer would make a whole run of them one token, and Chinese has
no spaces between words, so only a query for the whole run would match. One character to a
token lets a one-character query match that character and a two-character query match the
two as a phrase, which is what Chinese readers type (新疆, 人权). See
``docs/operators/search.md`` for the measurement behind this choice.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

# Han (with extensions and compatibility forms), kana, hangul and CJK punctuation blocks.
_CJK_RANGES = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3040, 0x30FF),
    (0x3100, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)


_CJK_CLASS = "[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES) + "]"
_CJK = re.compile(_CJK_CLASS)
_CJK_RUN = re.compile(f"({_CJK_CLASS}+)")


def is_cjk(char: str) -> bool:
    """Whether ``char`` is written without spaces between words (Han, kana, hangul)."""
    return _CJK.match(char) is not None


# Letters that carry accents (Latin, Greek, Cyrillic and their extensions, Vietnamese) and
# the combining marks themselves (Latin, Cyrillic, Hebrew, Arabic, and the general blocks).
# Only the words holding one are decomposed: doing it to every character of every article
# cost more than the rest of the indexing, and Hangul, which decomposes to letters and no
# mark, comes out the same.
_ACCENTED = re.compile(
    "[\u00c0-\u04ff\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u1ab0-\u1aff\u1dc0-\u1eff\u20d0-\u20ff\ufe20-\ufe2f]"
)


_ACCENTED_WORD = re.compile(f"[^\\s{_ACCENTED.pattern[1:-1]}]*{_ACCENTED.pattern}\\S*")


def _unaccented(text: str) -> str:
    if not _ACCENTED.search(text):
        return text
    return _ACCENTED_WORD.sub(_bare, text)


def _bare(word: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFD", word[0])
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """``text`` as it is indexed and searched: Simplified, case-folded, without accents."""
    if text.isascii():
        return text.casefold()
    text = unicodedata.normalize("NFKC", text)
    if _CJK.search(text):
        text = _converter().convert(text)
    return _unaccented(text.casefold())


def spaced(folded: str) -> str:
    """``folded`` with a space either side of every CJK character: one token each (a run
    at a time: a substitution per character ran Python code for each)."""
    pieces = _CJK_RUN.split(folded)
    pieces[1::2] = [" " + " ".join(run) + " " for run in pieces[1::2]]
    return "".join(pieces)


def index_text(text: str) -> str:
    """What the full-text index is given for ``text``."""
    return spaced(fold(text))
