"""Secrets kept in the data dir: the token key ring and the cache key.

Files are created with mode 0600 on first start and read on every start after. The token
ring is a list of keys, newest last; tokens name their key by a short id derived from the
key itself, so a rotated-out key keeps old links working for as long as it stays listed.
The cache key is separate from the token keys, so rotating token keys never invalidates
the cache.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mirror.errors import ConfigError

TOKEN_KEY_BYTES = 64  # AES-256-SIV takes a 512-bit key
CACHE_KEY_BYTES = 32
KEY_ID_CHARS = 4

TOKEN_RING_FILE = "token-keys.json"  # noqa: S105 (a file name, not a secret)
CACHE_KEY_FILE = "cache.key"


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def strict_b64decode(text: str) -> bytes:
    """Base64url that re-encodes to itself, so no two spellings decode to one value (a
    signed document whose signature could be respelled would not be byte-for-byte ours)."""
    raw = b64decode(text)
    if b64encode(raw) != text:
        raise ValueError("non-canonical base64")
    return raw


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value that signatures are made over and files must match:
    sorted keys, no spaces, ASCII only, one final newline."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii") + b"\n"


def read_canonical_json(data: bytes) -> dict[str, Any]:
    """The JSON object in ``data`` if ``data`` is exactly its canonical form, so a signed
    file altered in any byte (even one a JSON parser would not notice) is refused;
    ``ValueError`` saying which, else."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(document, dict) or canonical_json(document) != data:
        raise ValueError("not in canonical form: the file was altered")
    return document


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """An Ed25519 public key as published (``/.well-known/mirrors.json``): raw, base64url."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64encode(raw)


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key given as published (base64url) or as PEM; ``ValueError`` else."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return loaded
    return Ed25519PublicKey.from_public_bytes(strict_b64decode(text))


def derive(secret: bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``) from ``secret`` (HKDF-SHA256): one secret
    serves several uses, and no use learns the key of another."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def key_id(key: bytes) -> str:
    """A short, stable, non-secret name for ``key``."""
    return b64encode(hashlib.sha256(b"mirror key id" + key).digest())[:KEY_ID_CHARS]


@dataclass(frozen=True)
class KeyRing:
    """Token keys by id; ``current`` encrypts, all of them decrypt."""

    keys: dict[str, bytes] = field(repr=False)
    current: str

    @classmethod
    def of(cls, raw_keys: list[bytes]) -> KeyRing:
        if not raw_keys:
            raise ConfigError("the token key ring is empty")
        return cls(keys={key_id(k): k for k in raw_keys}, current=key_id(raw_keys[-1]))


def write_secret_file(path: Path, data: bytes) -> None:
    """Write ``path`` with mode 0600 atomically, so no other user ever reads it."""
    tmp = _private_temp(path, data)
    os.replace(tmp, path)


def create_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` (mode 0600) unless it exists; of processes racing to create it, the
    first wins and the others keep its content (workers and replicas start together)."""
    tmp = _private_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _private_temp(path: Path, data: bytes) -> Path:
    """``data`` in a new 0600 file beside ``path``, named for this writer alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def load_token_ring(data_dir: Path, configured_key: str = "") -> KeyRing:
    """The configured key if given, else the ring in the data dir (created if missing)."""
    if configured_key:
        key = _decode_key(configured_key, "server.token_key")
        return KeyRing.of([key])
    path = data_dir / TOKEN_RING_FILE
    if not path.exists():
        create_secret_file(path, _ring_json([secrets.token_bytes(TOKEN_KEY_BYTES)]))
    try:
        stored = json.loads(path.read_text("ascii"))
        return KeyRing.of([_decode_key(k, str(path)) for k in stored["keys"]])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read token keys from {path}: {exc}") from exc


def rotate_token_ring(data_dir: Path) -> KeyRing:
    """Add a new current token key; older keys stay in the ring so old links keep opening."""
    ring = load_token_ring(data_dir)
    keys = [*ring.keys.values(), secrets.token_bytes(TOKEN_KEY_BYTES)]
    write_secret_file(data_dir / TOKEN_RING_FILE, _ring_json(keys))
    return KeyRing.of(keys)


def load_cache_key(data_dir: Path) -> bytes:
    """The key that hashes cache keys and encrypts stored bodies (created if missing)."""
    return load_raw_key(data_dir / CACHE_KEY_FILE, CACHE_KEY_BYTES)


def load_raw_key(path: Path, size: int) -> bytes:
    """``size`` random bytes kept in ``path``: made (mode 0600) on first use, then read."""
    if not path.exists():
        create_secret_file(path, secrets.token_bytes(size))
    key = path.read_bytes()
    if len(key) != size:
        raise ConfigError(f"{path} must hold exactly {size} bytes")
    return key


def _ring_json(keys: list[bytes]) -> bytes:
    return json.dumps({"keys": [b64encode(k) for k in keys]}).encode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = b64decode(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: the key is not base64url") from exc
    if len(key) != TOKEN_KEY_BYTES:
        raise ConfigError(f"{where}: a token key must be {TOKEN_KEY_BYTES} bytes")
    return key
