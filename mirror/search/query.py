"""A reader's query turned into an FTS5 query that can only mean "these words".

Nothing the reader types reaches FTS5 as syntax: every word and every quoted phrase is
folded (``mirror.search.fold``) and written as an FTS5 string in double quotes, so
``NEAR``, ``OR``, ``col:``, ``*``, ``^`` and unbalanced quotes are searched as words or
dropped as punctuation, never parsed. Terms are ANDed (FTS5's implicit operator). A query
with no word left (only punctuation) is ``None``: the page says so instead of failing.
"""

from __future__ import annotations

import re

from mirror.search.fold import fold, is_cjk

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
# Letters and digits of any script; everything else separates words.
_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(folded: str) -> list[str]:
    """The index's tokens of ``folded``: words, and CJK characters one by one."""
    tokens: list[str] = []
    for word in _WORD.findall(folded):
        run = ""
        for char in word:
            if is_cjk(char):
                if run:
                    tokens.append(run)
                    run = ""
                tokens.append(char)
            elif char != "_":
                run += char
        if run:
            tokens.append(run)
    return tokens


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(tokens) + '"'


def fts_query(query: str) -> str | None:
    """The FTS5 query for ``query``; ``None`` if it holds no word to search for.

    A run of CJK characters is one phrase of its characters (新疆 → "新 疆"), so a two-
    character word matches only where the two stand together; a quoted part is one phrase.
    """
    query = query.replace("\0", " ")[:MAX_QUERY_CHARS]
    terms: list[str] = []
    for number, part in enumerate(query.split('"')):
        folded = fold(part)
        if number % 2:  # inside quotes
            tokens = _tokens(folded)
            if tokens:
                terms.append(_phrase(tokens))
            continue
        for word in folded.split():
            tokens = _tokens(word)
            if tokens:
                terms.append(_phrase(tokens))
    if not terms:
        return None
    return " ".join(terms[:MAX_TERMS])
