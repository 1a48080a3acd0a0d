"""The push format: what is signed, and that any change to a signed push is caught."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses import manifest
from mirror.keys import b64encode
from mirror.signedpush import (
    CONTEXT,
    Push,
    PushInvalid,
    check_signature,
    private_key_from_text,
    private_key_text,
    sign,
    signed_message,
)

URL = "https://chinadigitaltimes.net/2018/11/a/"
HTML = "<html><body><p>文章 — article</p></body></html>".encode()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_signed_push_round_trips_through_json_and_verifies(key: Ed25519PrivateKey) -> None:
    push = sign(key, URL, HTML, now=1_700_000_000)
    received = Push.from_json(push.to_json())
    assert received == push
    assert received.timestamp == 1_700_000_000
    check_signature(received)


def test_the_message_names_url_hash_time_and_nonce_behind_its_context() -> None:
    message = signed_message(URL, HTML, 5, "n")
    assert message.startswith(CONTEXT)
    body = json.loads(message[len(CONTEXT) :])
    assert set(body) == {"html_sha256", "nonce", "timestamp", "url"}


@pytest.mark.parametrize("field", ["url", "html", "timestamp", "nonce"])
def test_changing_any_signed_field_breaks_the_signature(key: Ed25519PrivateKey, field: str) -> None:
    push = sign(key, URL, HTML)
    changed = {
        "url": replace(push, url=URL + "b"),
        "html": replace(push, html=HTML + b" "),
        "timestamp": replace(push, timestamp=push.timestamp + 1),
        "nonce": replace(push, nonce=("B" if push.nonce[0] == "A" else "A") + push.nonce[1:]),
    }
    with pytest.raises(PushInvalid) as refused:
        check_signature(changed[field])
    assert refused.value.status == 401


def test_another_key_or_a_manifest_signature_is_not_a_push(key: Ed25519PrivateKey) -> None:
    push = sign(key, URL, HTML)
    other = sign(Ed25519PrivateKey.generate(), URL, HTML)
    with pytest.raises(PushInvalid):
        check_signature(replace(push, key=other.key))
    document = json.loads(manifest.sign(key, ["https://m.example.org"], 1))
    with pytest.raises(PushInvalid):
        check_signature(replace(push, signature=document["signature"]))


def test_non_canonical_base64_is_refused(key: Ed25519PrivateKey) -> None:
    push = sign(key, URL, HTML)
    with pytest.raises(PushInvalid):
        check_signature(replace(push, signature=push.signature + "="))


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b"{not json",
        json.dumps({"url": URL}).encode(),
        json.dumps(
            {"url": URL, "html": "x", "timestamp": "1", "nonce": "n", "key": "k", "signature": "s"}
        ).encode(),
        json.dumps(
            {"url": URL, "html": "x", "timestamp": True, "nonce": "n", "key": "k", "signature": "s"}
        ).encode(),
    ],
)
def test_malformed_pushes_are_refused_as_such(document: bytes) -> None:
    with pytest.raises(PushInvalid) as refused:
        Push.from_json(document)
    assert refused.value.status == 400


def test_a_key_file_round_trips_and_garbage_is_refused(key: Ed25519PrivateKey) -> None:
    text = private_key_text(key)
    assert private_key_text(private_key_from_text(text + "\n")) == text
    with pytest.raises(PushInvalid):
        private_key_from_text(b64encode(b"short"))
