"""``mirror keys``: the token keys, and the keys of publishers and contributors."""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from mirror import signedpush
from mirror.addresses import manifest
from mirror.cli.common import command, group, load
from mirror.errors import ConfigError
from mirror.keys import (
    b64encode,
    load_cache_key,
    load_token_ring,
    rotate_token_ring,
    write_secret_file,
)


def register(commands: Any) -> None:
    keys = group(commands, "keys", "keys: list, rotate, init; publisher and contributor keys")
    command(
        keys, "list", _keys_list, "list token key ids (never the keys); * marks the current one"
    )
    command(
        keys, "rotate", _keys_rotate, "add a new current token key; old keys keep opening links"
    )
    command(
        keys, "init", _keys_init, "create every missing key in the data dir (before replicas start)"
    )
    publisher_keys = command(
        keys, "publisher", _keys_publisher, "make a publisher's key pair for signed pushes"
    )
    publisher_keys.add_argument("--out", type=Path, default=Path("publisher.key"))
    contributor_keys = command(
        keys, "contributor", _keys_contributor, "make a contributor's key for captures"
    )
    contributor_keys.add_argument("name", help="who the contributor is, for you")


def _keys_list(args: argparse.Namespace) -> int:
    ring = load_token_ring(load(args).server.data_dir)
    for ident in ring.keys:
        print(f"{'*' if ident == ring.current else ' '} {ident}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    config = load(args)
    if config.server.token_key:
        raise ConfigError("server.token_key is set: rotate it there, not in the data dir")
    ring = rotate_token_ring(config.server.data_dir)
    print(f"mirror: new current token key {ring.current}; restart the mirror to use it")
    return 0


def _keys_init(args: argparse.Namespace) -> int:
    data_dir = load(args).server.data_dir
    load_token_ring(data_dir)
    load_cache_key(data_dir)
    manifest.load_signing_key(data_dir)
    print(f"mirror: keys ready in {data_dir}")
    return 0


def _keys_publisher(args: argparse.Namespace) -> int:
    """Write the private key (mode 0600, never printed) and print the public one."""
    if args.out.exists():
        raise ConfigError(f"{args.out} exists: a key file is never overwritten")
    key = Ed25519PrivateKey.generate()
    write_secret_file(args.out, signedpush.private_key_text(key).encode("ascii") + b"\n")
    public = signedpush.public_key_text(key)
    print(f"mirror: private key written to {args.out}; keep it on the publishing system only")
    print(f'mirror: add to the site\'s [[sites]] table: push_keys = ["{public}"]')
    return 0


def _keys_contributor(args: argparse.Namespace) -> int:
    """Print a new key for the contributor and the table that lets it in (only its hash)."""
    key = b64encode(secrets.token_bytes(32))
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()
    print(f"mirror: give {args.name} this key, by a safe channel: {key}")
    print("mirror: add to the configuration, then restart the mirror:")
    print(f'[[contributors]]\nname = {json.dumps(args.name)}\nkey_sha256 = "{digest}"')
    return 0
