"""Queries become quoted FTS5 phrases only; no input is parsed as FTS5 syntax."""

from __future__ import annotations

import pytest

from mirror.search.query import MAX_TERMS, fts_query


@pytest.mark.parametrize(
    ("query", "fts"),
    [
        ("新疆", '"新 疆"'),
        ("維吾爾 Café", '"维 吾 尔" "cafe"'),
        ('"two words" more', '"two words" "more"'),
        ("NEAR(a b)", '"near a" "b"'),
        ("title:x*", '"title x"'),
        ('"unbalanced', '"unbalanced"'),
    ],
)
def test_fts_query(query: str, fts: str) -> None:
    assert fts_query(query) == fts


@pytest.mark.parametrize("query", ["", '"', "*", "()", "\0", "^:-+"])
def test_no_word_is_none(query: str) -> None:
    assert fts_query(query) is None


def test_terms_are_bounded() -> None:
    fts = fts_query(" ".join(f"w{n}" for n in range(50)))
    assert fts is not None and fts.count('"') == 2 * MAX_TERMS
