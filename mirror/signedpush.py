"""A publisher's push: the article it sends, and the Ed25519 signature that proves it.

One format, shared by the server (``mirror.web.push``) and the sender (``mirror push``).
What is signed is a canonical message naming the article's URL, the SHA-256 of its HTML,
the time of sending and a random nonce, behind a context line of its own (so a signature
made for anything else, a mirror manifest included, is never a valid push)::

    mirror push v1
    {"html_sha256":"<hex>","nonce":"<base64url>","timestamp":<unix seconds>,"url":"<url>"}

The request is JSON with those fields (``html`` in place of its hash), the signer's public
key (``key``, base64url, so the mirror finds it among the site's ``push_keys``) and the
``signature`` (base64url). The timestamp bounds how long a captured request can be replayed;
the nonce, remembered by the mirror for that long, stops it being replayed at all.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror.keys import b64decode, b64encode

CONTEXT = b"mirror push v1\n"
NONCE_BYTES = 16
FIELDS = ("url", "html", "timestamp", "nonce", "key", "signature")


class PushInvalid(Exception):
    """A push that is malformed (``status`` 400), or whose signature is wrong (401)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Push:
    """A push as received; ``html`` is the page's bytes (UTF-8)."""

    url: str
    html: bytes
    timestamp: int
    nonce: str
    key: str
    signature: str

    def message(self) -> bytes:
        return signed_message(self.url, self.html, self.timestamp, self.nonce)

    def to_json(self) -> bytes:
        document = {
            "url": self.url,
            "html": self.html.decode("utf-8"),
            "timestamp": self.timestamp,
            "nonce": self.nonce,
            "key": self.key,
            "signature": self.signature,
        }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Push:
        try:
            document: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PushInvalid(400, "the push is not JSON") from exc
        if not isinstance(document, dict) or set(document) != set(FIELDS):
            raise PushInvalid(400, f"a push has exactly the fields {', '.join(FIELDS)}")
        strings = ("url", "html", "nonce", "key", "signature")
        timestamp = document["timestamp"]
        if not all(isinstance(document[f], str) for f in strings) or not (
            isinstance(timestamp, int) and not isinstance(timestamp, bool)
        ):
            raise PushInvalid(400, "timestamp is an integer and every other field a string")
        return cls(
            url=document["url"],
            html=document["html"].encode("utf-8"),
            timestamp=timestamp,
            nonce=document["nonce"],
            key=document["key"],
            signature=document["signature"],
        )


def signed_message(url: str, html: bytes, timestamp: int, nonce: str) -> bytes:
    body = {
        "html_sha256": hashlib.sha256(html).hexdigest(),
        "nonce": nonce,
        "timestamp": timestamp,
        "url": url,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return CONTEXT + text.encode("ascii")


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64encode(raw)


def sign(key: Ed25519PrivateKey, url: str, html: bytes, now: float | None = None) -> Push:
    """A push of ``html`` for ``url``, signed now with a fresh nonce."""
    timestamp = int(time.time() if now is None else now)
    nonce = b64encode(secrets.token_bytes(NONCE_BYTES))
    signature = key.sign(signed_message(url, html, timestamp, nonce))
    return Push(url, html, timestamp, nonce, public_key_text(key), b64encode(signature))


def check_signature(push: Push) -> None:
    """Raise ``PushInvalid`` (401) unless ``push.signature`` is its key's over its message.

    Base64 must be canonical, so one signature has one spelling and the nonce one meaning.
    """
    try:
        raw_key, signature = _canonical(push.key), _canonical(push.signature)
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, push.message())
    except (InvalidSignature, ValueError) as exc:
        raise PushInvalid(401, "the signature does not match the push") from exc


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """A key file's content: the base64url of the 32-byte Ed25519 private key."""
    try:
        return Ed25519PrivateKey.from_private_bytes(_canonical(text.strip()))
    except ValueError as exc:
        raise PushInvalid(400, "the key file does not hold a base64url Ed25519 key") from exc


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return b64encode(raw)


def _canonical(text: str) -> bytes:
    raw = b64decode(text)
    if b64encode(raw) != text:
        raise ValueError("non-canonical base64")
    return raw
