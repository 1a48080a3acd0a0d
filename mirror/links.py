"""Opaque links: target URLs sealed into tokens, and the one builder for mirror URLs.

A token is ``<key id><AES-SIV ciphertext>``, base64url. AES-SIV is deterministic: one URL
always gives one token, so browsers, caches and CDNs see stable addresses, while a URL
filter or a chat app's keyword scanner sees only noise. The ciphertext is authenticated,
so a tampered token fails to open. Page and image tokens use different associated data,
so an image token cannot be replayed as a page link or the other way round.

A *share* token (``seal_fresh``) is the other form: ``<key id><nonce><ciphertext>``, sealed
with 16 random bytes as the last associated-data component (RFC 5297's nonce-based AES-SIV),
so every share of one article is a different link and still authenticated. Links that a
censor or a chat app blocks one by one then die one by one: blocking one shared link leaves
every other one working. They open through the same ``open`` as the deterministic form (a
deterministic token is tried first, then the nonce form), so no route or store tells them
apart; links *inside* pages stay deterministic, for browsers, caches and CDNs.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from mirror.errors import NotFound
from mirror.keys import KEY_ID_CHARS, KeyRing, b64decode, b64encode

MAX_TOKEN_CHARS = 4096
NONCE_BYTES = 16


class Kind(enum.Enum):
    """What a token points at; also its route prefix."""

    PAGE = "m"
    IMAGE = "r"


@dataclass(frozen=True)
class LinkBuilder:
    """Turns target URLs into mirror paths and back."""

    ring: KeyRing

    def seal(self, url: str, kind: Kind) -> str:
        key = self.ring.keys[self.ring.current]
        sealed = AESSIV(key).encrypt(url.encode("utf-8"), [kind.value.encode("ascii")])
        return self.ring.current + b64encode(sealed)

    def seal_fresh(self, url: str, kind: Kind) -> str:
        """A token for ``url`` that no other call gives (a random nonce inside), for sharing."""
        key = self.ring.keys[self.ring.current]
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESSIV(key).encrypt(url.encode("utf-8"), [kind.value.encode("ascii"), nonce])
        return self.ring.current + b64encode(nonce + sealed)

    def open(self, token: str, kind: Kind) -> str:
        """The URL inside ``token`` (either form); ``NotFound`` for anything tampered or
        unknown."""
        key = self.ring.keys.get(token[:KEY_ID_CHARS])
        if key is None or len(token) > MAX_TOKEN_CHARS:
            raise NotFound
        try:
            sealed = b64decode(token[KEY_ID_CHARS:])
            if b64encode(sealed) != token[KEY_ID_CHARS:]:
                raise ValueError("non-canonical base64")  # each token has one spelling
            return _decrypt(AESSIV(key), sealed, kind.value.encode("ascii")).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
            raise NotFound from exc

    def path(self, url: str, kind: Kind) -> str:
        """The mirror path for ``url``: ``/m/<token>`` for pages, ``/r/<token>`` for images."""
        return f"/{kind.value}/{self.seal(url, kind)}"


def _decrypt(siv: AESSIV, sealed: bytes, kind: bytes) -> bytes:
    """The deterministic form, else the nonce form: a token fails both unless it is whole."""
    try:
        return siv.decrypt(sealed, [kind])
    except InvalidTag:
        nonce, rest = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return siv.decrypt(rest, [kind, nonce])
