from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mirror.errors import ConfigError
from mirror.keys import (
    CACHE_KEY_FILE,
    TOKEN_RING_FILE,
    b64encode,
    canonical_json,
    derive,
    load_cache_key,
    load_token_ring,
    parse_public_key,
    public_key_text,
    read_canonical_json,
)


def test_token_ring_is_created_private_and_reused(tmp_path: Path) -> None:
    first = load_token_ring(tmp_path)
    mode = stat.S_IMODE((tmp_path / TOKEN_RING_FILE).stat().st_mode)
    assert mode == 0o600
    assert load_token_ring(tmp_path) == first
    assert len(first.keys[first.current]) == 64


def test_configured_token_key_wins(tmp_path: Path) -> None:
    key = bytes(range(64))
    ring = load_token_ring(tmp_path, b64encode(key))
    assert ring.keys[ring.current] == key
    assert not (tmp_path / TOKEN_RING_FILE).exists()


@pytest.mark.parametrize("bad", ["short", "!!!not-base64!!!"])
def test_bad_configured_key_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError):
        load_token_ring(tmp_path, bad)


def test_cache_key_is_private_and_stable(tmp_path: Path) -> None:
    key = load_cache_key(tmp_path)
    assert stat.S_IMODE((tmp_path / CACHE_KEY_FILE).stat().st_mode) == 0o600
    assert load_cache_key(tmp_path) == key


def test_truncated_cache_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / CACHE_KEY_FILE).write_bytes(b"short")
    with pytest.raises(ConfigError):
        load_cache_key(tmp_path)


def test_key_repr_hides_secrets(tmp_path: Path) -> None:
    ring = load_token_ring(tmp_path)
    assert b64encode(ring.keys[ring.current]) not in repr(ring)


def test_rotation_keeps_old_keys_for_reading(tmp_path: Path) -> None:
    from mirror.keys import rotate_token_ring
    from mirror.links import Kind, LinkBuilder

    before = load_token_ring(tmp_path)
    token = LinkBuilder(before).seal("https://example.org/a", Kind.PAGE)
    after = rotate_token_ring(tmp_path)
    assert after.current != before.current
    assert list(after.keys) == [before.current, after.current]
    assert load_token_ring(tmp_path) == after
    assert LinkBuilder(after).open(token, Kind.PAGE) == "https://example.org/a"
    assert stat.S_IMODE((tmp_path / TOKEN_RING_FILE).stat().st_mode) == 0o600


def test_racing_creators_all_keep_the_first_key(tmp_path: Path) -> None:
    """Workers and replicas start together: whoever creates a key first, all read that one."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        keys = pool.map(load_cache_key, [tmp_path] * 8)
    assert len(set(keys)) == 1
    assert keys[0] == load_cache_key(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_KEY_FILE]


def test_create_secret_file_never_replaces(tmp_path: Path) -> None:
    from mirror.keys import create_secret_file

    target = tmp_path / "secret"
    create_secret_file(target, b"first")
    create_secret_file(target, b"second")
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_derive_gives_one_stable_key_per_purpose() -> None:
    secret = bytes(range(32))
    cache = derive(secret, b"mirror cache key hashing")
    assert len(cache) == 32 and cache == derive(secret, b"mirror cache key hashing")
    assert cache != derive(secret, b"mirror rate-limit clients")
    assert cache != derive(bytes(32), b"mirror cache key hashing")


def test_public_keys_read_as_published_or_as_pem() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    text = public_key_text(key)
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    for given in (text, f" {text}\n", pem):
        assert public_key_text(parse_public_key(given)) == text
    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]  # flips a padding bit only
    for wrong in (respelled, text + "A", text[:-2], "", rsa_pem):
        with pytest.raises(ValueError, match=r"base64|key|bytes|length|[Cc]ould not"):
            parse_public_key(wrong)


def test_canonical_json_is_one_spelling() -> None:
    document = {"b": [1, "ü"], "a": None}
    data = canonical_json(document)
    assert data == b'{"a":null,"b":[1,"\\u00fc"]}\n'
    assert read_canonical_json(data) == document
    for respelled in (data.rstrip(), b'{"b":[1,"\\u00fc"],"a":null}\n', b"[]\n", b"\xff"):
        with pytest.raises(ValueError, match=r"JSON|canonical"):
            read_canonical_json(respelled)
