"""Folding: Traditional to Simplified by OpenCC, case and accents, one token per CJK char."""

from __future__ import annotations

import pytest

from mirror.search.fold import fold, index_text, is_cjk


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("維吾爾", "维吾尔"),
        ("人權", "人权"),
        ("CAFÉ", "cafe"),
        ("Příliš", "prilis"),
        ("Ｆｕｌｌ", "full"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_cjk_characters_are_one_token_each() -> None:
    assert index_text("新疆news").split() == ["新", "疆", "news"]


@pytest.mark.parametrize(
    ("char", "cjk"), [("新", True), ("か", True), ("한", True), ("a", False), ("ж", False)]
)
def test_is_cjk(char: str, cjk: bool) -> None:
    assert is_cjk(char) is cjk
