"""The ``mirror`` command: serve, link, extract, cache, search, filters, export, keys,
alternates, manifest, responder, push, verify, publish.

Each command group is a module of this package with a ``register`` function that adds its
commands to the parser; ``main`` parses, runs the command, and turns the mirror's own errors
into one line on stderr and an exit code.
"""

from __future__ import annotations

import argparse
import sys

from mirror.addresses import manifest
from mirror.cli import (
    addresses,
    cache,
    keys,
    pages,
    publish,
    responder,
    search,
    serve,
    signed,
)
from mirror.cli.supervisor import run_loop
from mirror.errors import ConfigError, MirrorError

__all__ = ["main", "run_loop"]

DESCRIPTION = "A self-hosted reader proxy that keeps blocked journalism readable."
COMMAND_GROUPS = (serve, pages, publish, cache, search, keys, signed, addresses, responder)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except ConfigError as exc:
        print(f"mirror: {exc}", file=sys.stderr)
        return 2
    except manifest.ManifestError as exc:
        print(f"mirror: invalid manifest: {exc}", file=sys.stderr)
        return 1
    except MirrorError as exc:
        print(f"mirror: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirror", description=DESCRIPTION)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMAND_GROUPS:
        module.register(commands)
    return parser
