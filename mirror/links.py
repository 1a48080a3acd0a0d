"""Opaque links: target URLs sealed into tokens, and the one builder for mirror URLs.

A token is ``<key id><AES-SIV ciphertext>``, base64url. AES-SIV is deterministic: one URL
always gives one token, so browsers, caches and CDNs see stable addresses, while a URL
filter or a chat app's keyword scanner sees only noise. The ciphertext is authenticated,
so a tampered token fails to open. Page and image tokens use different associated data,
so an image token cannot be replayed as a page link or the other way round.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from mirror.errors import NotFound
from mirror.keys import KEY_ID_CHARS, KeyRing, b64decode, b64encode

MAX_TOKEN_CHARS = 4096


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

    def open(self, token: str, kind: Kind) -> str:
        """The URL inside ``token``; ``NotFound`` for anything tampered or unknown."""
        key = self.ring.keys.get(token[:KEY_ID_CHARS])
        if key is None or len(token) > MAX_TOKEN_CHARS:
            raise NotFound
        try:
            sealed = b64decode(token[KEY_ID_CHARS:])
            if b64encode(sealed) != token[KEY_ID_CHARS:]:
                raise ValueError("non-canonical base64")  # one URL, exactly one token
            plain = AESSIV(key).decrypt(sealed, [kind.value.encode("ascii")])
            return plain.decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
            raise NotFound from exc

    def path(self, url: str, kind: Kind) -> str:
        """The mirror path for ``url``: ``/m/<token>`` for pages, ``/r/<token>`` for images."""
        return f"/{kind.value}/{self.seal(url, kind)}"
