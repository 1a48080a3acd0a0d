"""The signed mirror manifest: where else this mirror can be reached, provably from us.

When an address is blocked, readers and publishers need the next one, and need to know that
a list of addresses really comes from this mirror and not from whoever blocked it. The
manifest lists the mirror's addresses and is signed with an Ed25519 key kept in the data
dir; its public key is published on the "link to us" page, for anyone to pin.

The file is canonical JSON (sorted keys, no spaces, ASCII, one final newline) and must be
byte-for-byte what re-serialising it gives, so *any* changed byte fails verification, even
one the JSON parser would not notice::

    {"manifest":{"expires":"...","issued":"...","mirrors":["https://..."],
                 "public_key":"<base64url>","version":1},"signature":"<base64url>"}
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror import keys
from mirror.errors import ConfigError, MirrorError
from mirror.keys import b64encode, load_raw_key, read_canonical_json, strict_b64decode
from mirror.keys import canonical_json as canonical
from mirror.keys import public_key_text as public_key_text  # where pages and the CLI find it

MANIFEST_KEY_FILE = "manifest.key"
KEY_BYTES = 32
VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ManifestError(MirrorError):
    """A manifest that is malformed, altered, signed by another key, or expired."""

    title = "Invalid mirror manifest"


@dataclass(frozen=True)
class Manifest:
    """What a verified manifest says."""

    mirrors: tuple[str, ...]
    issued: datetime.datetime
    expires: datetime.datetime
    public_key: str


def load_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The data dir's manifest key, made (mode 0600) on first use."""
    try:
        raw = load_raw_key(data_dir / MANIFEST_KEY_FILE, KEY_BYTES)
    except ConfigError as exc:
        raise ManifestError(exc.detail) from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        return keys.parse_public_key(text)
    except ValueError as exc:
        raise ManifestError("the public key is not an Ed25519 key (base64url or PEM)") from exc


def sign(
    key: Ed25519PrivateKey,
    mirrors: list[str],
    days: int,
    now: datetime.datetime | None = None,
) -> bytes:
    """A signed manifest listing ``mirrors``, valid for ``days`` from ``now``."""
    now = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    body = {
        "version": VERSION,
        "mirrors": list(dict.fromkeys(mirrors)),
        "issued": now.strftime(TIME_FORMAT),
        "expires": (now + datetime.timedelta(days=days)).strftime(TIME_FORMAT),
        "public_key": public_key_text(key),
    }
    signature = key.sign(canonical(body))
    return canonical({"manifest": body, "signature": b64encode(signature)})


def verify(
    data: bytes, trusted: Ed25519PublicKey, now: datetime.datetime | None = None
) -> Manifest:
    """The manifest in ``data`` if it is canonical, signed by ``trusted`` and unexpired."""
    try:
        document = read_canonical_json(data)
    except ValueError as exc:
        raise ManifestError(str(exc)) from exc
    body, signature = document.get("manifest"), document.get("signature")
    if not isinstance(body, dict) or not isinstance(signature, str):
        raise ManifestError("missing manifest or signature")
    if body.get("public_key") != public_key_text(trusted):
        raise ManifestError("signed by another key than the trusted one")
    try:
        trusted.verify(strict_b64decode(signature), canonical(body))
    except (InvalidSignature, ValueError) as exc:
        raise ManifestError("the signature does not match") from exc
    manifest = _fields(body)
    if manifest.expires <= (now or datetime.datetime.now(datetime.UTC)):
        raise ManifestError(f"expired at {body['expires']}")
    return manifest


def _fields(body: dict[str, Any]) -> Manifest:
    try:
        mirrors = body["mirrors"]
        if body["version"] != VERSION or not all(isinstance(m, str) for m in mirrors):
            raise ValueError("unknown version or malformed mirror list")
        return Manifest(
            mirrors=tuple(mirrors),
            issued=_time(body["issued"]),
            expires=_time(body["expires"]),
            public_key=body["public_key"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"malformed manifest: {exc}") from exc


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.UTC)
