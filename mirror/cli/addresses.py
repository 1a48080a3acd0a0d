"""``mirror alternates`` and ``mirror manifest``: this mirror's other addresses, their
checks, and the signed manifest that lists them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mirror.addresses import alternates, manifest
from mirror.addresses.alternates import HIDDEN, address_book
from mirror.cli.common import command, group, load


def register(commands: Any) -> None:
    addresses = group(commands, "alternates", "this mirror's other addresses: list, add, check")
    command(addresses, "list", _alternates_list, "each address, its last check, shown or not")
    command(addresses, "add", _alternates_add, "list a new address (no restart)")
    addresses.choices["add"].add_argument("address", help="a base URL, e.g. https://m3.example.org")
    command(addresses, "remove", _alternates_remove, "take an address off the list")
    addresses.choices["remove"].add_argument("address")
    command(addresses, "check", _alternates_check, "check every address now (exit 1: one failed)")

    signing = group(commands, "manifest", "the signed mirror manifest: sign, verify")
    command(signing, "sign", _manifest_sign, "print a signed manifest of our addresses")
    verify = command(signing, "verify", _manifest_verify, "check a manifest file (exit 1 if bad)")
    verify.add_argument("file", type=Path)
    verify.add_argument("--public-key", help="trusted key (base64url); else the data dir's")


def _alternates_list(args: argparse.Namespace) -> int:
    config = load(args)
    for address, status in address_book(config).statuses().items():
        _print_status(address, status, address in config.publisher.alternates)
    return 0


def _print_status(address: str, status: alternates.Status, configured: bool = False) -> None:
    """One line: address, state, when, shown or hidden, where blocked, why, and whether
    the configuration (rather than ``alternates add``) lists it."""
    parts = [address, str(status.state)]
    if status.checked:
        parts.append(status.checked)
    parts.append("hidden" if status.state in HIDDEN else "shown")
    if status.blocked_in:
        parts.append("blocked in " + ",".join(status.blocked_in))
    if configured:
        parts.append("(config)")
    if status.detail:
        parts.append(f"- {status.detail}")
    print(" ".join(parts))


def _alternates_add(args: argparse.Namespace) -> int:
    address, added = alternates.add(load(args), args.address)
    print(f"mirror: {address} {'added' if added else 'is already listed'}")
    return 0


def _alternates_remove(args: argparse.Namespace) -> int:
    address, removed = alternates.remove(load(args), args.address)
    print(f"mirror: {address} {'removed' if removed else 'is not listed'}")
    return 0 if removed else 1


def _alternates_check(args: argparse.Namespace) -> int:
    from mirror.addresses.checks import run_check

    config = load(args)
    statuses = asyncio.run(run_check(config))
    for address, status in statuses.items():
        _print_status(address, status, address in config.publisher.alternates)
    return 1 if any(s.state in HIDDEN for s in statuses.values()) else 0


def _manifest_sign(args: argparse.Namespace) -> int:
    from mirror.addresses.alternates import all_addresses

    config = load(args)
    key = manifest.load_signing_key(config.server.data_dir)
    mirrors = all_addresses(config, address_book(config))
    document = manifest.sign(key, mirrors, config.publisher.manifest_days)
    sys.stdout.buffer.write(document)
    print(f"mirror: public key {manifest.public_key_text(key)}", file=sys.stderr)
    return 0


def _manifest_verify(args: argparse.Namespace) -> int:
    if args.public_key:
        trusted = manifest.parse_public_key(args.public_key)
    else:
        data_dir = load(args).server.data_dir
        if not (data_dir / manifest.MANIFEST_KEY_FILE).exists():
            raise manifest.ManifestError(f"no key in {data_dir}: pass --public-key")
        trusted = manifest.load_signing_key(data_dir).public_key()
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise manifest.ManifestError(f"cannot read {args.file}: {exc.strerror}") from exc
    checked = manifest.verify(data, trusted)
    print(f"mirror: manifest valid until {checked.expires:%Y-%m-%d}: {' '.join(checked.mirrors)}")
    return 0
