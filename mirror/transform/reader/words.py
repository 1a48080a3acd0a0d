"""Words, as every measure of reader mode counts them."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of ``text`` in order: runs of word characters."""
    return _WORD.findall(text)
