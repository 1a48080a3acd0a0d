from __future__ import annotations

import secrets

import pytest

from mirror.errors import NotFound
from mirror.keys import KeyRing
from mirror.links import Kind, LinkBuilder

URL = "https://chinadigitaltimes.net/2018/11/western-countries-turn-up-the-heat-on-xinjiang/"


def builder(*keys: bytes) -> LinkBuilder:
    return LinkBuilder(KeyRing.of(list(keys)))


def test_token_is_deterministic_and_opaque() -> None:
    links = builder(secrets.token_bytes(64))
    token = links.seal(URL, Kind.PAGE)
    assert token == links.seal(URL, Kind.PAGE)
    assert "chinadigitaltimes" not in token and "xinjiang" not in token.lower()
    assert links.open(token, Kind.PAGE) == URL
    assert links.path(URL, Kind.PAGE) == f"/m/{token}"


def test_page_and_image_tokens_do_not_cross() -> None:
    links = builder(secrets.token_bytes(64))
    with pytest.raises(NotFound):
        links.open(links.seal(URL, Kind.IMAGE), Kind.PAGE)


@pytest.mark.parametrize("fresh", [False, True], ids=["page", "share"])
@pytest.mark.parametrize("position", [0, 5, 20, 40, -1])
def test_tampered_token_is_not_found(position: int, fresh: bool) -> None:
    links = builder(secrets.token_bytes(64))
    token = list((links.seal_fresh if fresh else links.seal)(URL, Kind.PAGE))
    token[position] = "A" if token[position] != "A" else "B"
    with pytest.raises(NotFound):
        links.open("".join(token), Kind.PAGE)


@pytest.mark.parametrize("junk", ["", "x", "AAAA", "AAAA!!!!", "A" * 5000])
def test_junk_tokens_are_not_found(junk: str) -> None:
    with pytest.raises(NotFound):
        builder(secrets.token_bytes(64)).open(junk, Kind.PAGE)


def test_old_tokens_survive_rotation() -> None:
    old, new = secrets.token_bytes(64), secrets.token_bytes(64)
    old_token = builder(old).seal(URL, Kind.PAGE)
    rotated = builder(old, new)
    assert rotated.open(old_token, Kind.PAGE) == URL
    assert rotated.seal(URL, Kind.PAGE) != old_token
    with pytest.raises(NotFound):
        builder(new).open(old_token, Kind.PAGE)


def test_share_tokens_are_new_each_time_and_open_to_the_url() -> None:
    links = builder(secrets.token_bytes(64))
    first, second = (links.seal_fresh(URL, Kind.PAGE) for _ in range(2))
    assert len({first, second, links.seal(URL, Kind.PAGE)}) == 3
    assert first[4:12] != second[4:12]  # they part right after the key id
    assert links.open(first, Kind.PAGE) == links.open(second, Kind.PAGE) == URL
    assert "xinjiang" not in first.lower()


def test_share_tokens_keep_their_kind_and_survive_rotation() -> None:
    old, new = secrets.token_bytes(64), secrets.token_bytes(64)
    shared = builder(old).seal_fresh(URL, Kind.PAGE)
    with pytest.raises(NotFound):
        builder(old).open(shared, Kind.IMAGE)
    assert builder(old, new).open(shared, Kind.PAGE) == URL
    with pytest.raises(NotFound):
        builder(new).open(shared, Kind.PAGE)
