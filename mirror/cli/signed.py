"""Signed copies: ``mirror push`` (a publisher sends an article) and ``mirror verify``
(a reader checks a download)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey,
)

from mirror import signedpush
from mirror.addresses import manifest
from mirror.cli.common import command, load
from mirror.errors import ConfigError
from mirror.keys import (
    parse_public_key,
)
from mirror.settings import public_url


def register(commands: Any) -> None:
    push = command(commands, "push", _push, "send an article to a mirror, signed (publishers)")
    push.add_argument("url", help="the article's address on the site")
    push.add_argument("file", type=Path, help="the article's HTML (UTF-8)")
    push.add_argument("--key", required=True, type=Path, help="the publisher's private key file")
    push.add_argument("--mirror", help="the mirror's address; server.public_url if omitted")
    push.add_argument(
        "--fingerprint", help="the mirror certificate's SHA-256 (self-signed mirrors)"
    )

    check = command(commands, "verify", _verify, "check a downloaded article (exit 1 if changed)")
    check.add_argument("file", type=Path, help="a single-file HTML or EPUB download")
    check.add_argument(
        "--public-key",
        help="the public_key of the mirror's /.well-known/mirrors.json (base64url or PEM, "
        "or a file holding it); else the --config data dir's, else the file's own (warned)",
    )


def _push(args: argparse.Namespace) -> int:
    try:
        key = signedpush.private_key_from_text(args.key.read_text("ascii"))
        html = args.file.read_bytes()
        html.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the key or the page: {exc}") from exc
    except signedpush.PushInvalid as exc:
        raise ConfigError(exc.reason) from exc
    target = args.mirror or public_url(load(args))
    sent = signedpush.sign(key, args.url, html)
    status, answer = asyncio.run(_send_push(target.rstrip("/"), sent, args.fingerprint))
    print(f"mirror: {status} {answer}")
    return 0 if status == 201 else 1


async def _send_push(
    mirror_url: str, sent: signedpush.Push, fingerprint: str | None
) -> tuple[int, str]:
    tls: aiohttp.Fingerprint | bool = True
    if fingerprint:
        tls = aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))
    headers = {"Content-Type": "application/json"}
    try:
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.post(
                mirror_url + "/api/push", data=sent.to_json(), headers=headers, ssl=tls
            ) as response,
        ):
            return response.status, await response.text()
    except aiohttp.ClientError as exc:
        raise ConfigError(f"cannot reach the mirror at {mirror_url}: {exc}") from exc


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 when the file's article is exactly what the mirror signed, 1 otherwise."""
    from mirror.share.signature import SignatureInvalid, verify

    trusted = _trusted_key(args)
    try:
        checked = verify(args.file.read_bytes(), trusted)
    except OSError as exc:
        print(f"mirror: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except SignatureInvalid as exc:
        print(f"mirror: NOT VERIFIED: {exc}", file=sys.stderr)
        return 1
    signed = checked.signed
    if checked.key_from_file:
        for line in (
            "WARNING: no --public-key given: checked against the key the file names itself.",
            "WARNING: that proves only that the file is whole: anyone can sign a forgery",
            "WARNING: with a key of their own. Compare this key with the public_key in the",
            "WARNING: mirror's /.well-known/mirrors.json, or run again with --public-key:",
            f"WARNING: {signed.public_key}",
        ):
            print(f"mirror: {line}", file=sys.stderr)
    print("mirror: verified: the article is unchanged since the mirror signed it")
    for name, value in (
        ("url", signed.url),
        ("title", signed.title),
        ("published", signed.published),
        ("saved at", signed.saved_at),
        ("source", signed.source),
        ("key", signed.public_key),
    ):
        print(f"  {name}: {_printable(value)}")
    return 0


def _trusted_key(args: argparse.Namespace) -> Ed25519PublicKey | None:
    """The key named on the command line, else the configured data dir's, else none."""
    if args.public_key:
        given = Path(args.public_key)
        text = given.read_text("ascii") if given.is_file() else args.public_key
        try:
            return parse_public_key(text)
        except ValueError as exc:
            raise ConfigError("--public-key is not an Ed25519 key (base64url or PEM)") from exc
    if args.config:
        data_dir = load(args).server.data_dir
        if not (data_dir / manifest.MANIFEST_KEY_FILE).exists():
            raise ConfigError(f"no key in {data_dir}: pass --public-key")
        return manifest.load_signing_key(data_dir).public_key()
    return None


def _printable(text: str) -> str:
    """``text`` with control and direction-changing characters escaped: a signed title is
    the origin's words, and must not drive the reader's terminal."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
