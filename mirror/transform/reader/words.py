"""Words, as every measure of reader mode counts them (and the benchmark's metric too).

Chinese and Japanese are written without spaces: a clause is one run of word characters,
so a count of ``\\w+`` runs calls a paragraph of Chinese two or three words, and shingles of
three such "words" span whole paragraphs. Each Han, kana or CJK compatibility character is
a word here instead, as in the common character-level measures for these languages.
Korean is written with spaces between words, and Hangul keeps its words.
"""

from __future__ import annotations

import re

# Han (the URO, extensions A to F, compatibility ideographs), hiragana, katakana (with its
# phonetic extensions and halfwidth forms).
_PER_CHARACTER = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f"
)
_WORD = re.compile(rf"[{_PER_CHARACTER}]|[^\W{_PER_CHARACTER}]+")


def words(text: str) -> list[str]:
    """The words of ``text`` in order: runs of word characters, but each CJK character
    alone."""
    return _WORD.findall(text)
