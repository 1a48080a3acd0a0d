"""``mirror publish``: the static copy of the sites, brought up to date on every
``[[publish]]`` target (``--status``: how each target's publishes went)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from mirror.cli.common import command, load


def register(commands: Any) -> None:
    publish = command(
        commands,
        "publish",
        _publish,
        "publish what the mirror holds of the sites to [[publish]] targets",
    )
    publish.add_argument("--target", action="append", help="only this target's url (repeatable)")
    publish.add_argument(
        "--prune",
        action="store_true",
        default=None,
        help="delete published objects the mirror no longer holds (kept articles stay)",
    )
    publish.add_argument(
        "--status", action="store_true", help="print each target's last publish, publish nothing"
    )


def _publish(args: argparse.Namespace) -> int:
    from mirror.share.publish import PublishStatus, run_publish
    from mirror.share.targets import PublishError

    config = load(args)
    if args.status:
        status = PublishStatus.load(config.server.data_dir)
        names = [t.name for t in config.publish]
        for line in status.lines() or [f"{name}: never published" for name in names]:
            print(line)
        return 0
    targets = [t for t in config.publish if not args.target or t.url in args.target]
    if args.target and not targets:
        raise PublishError(f"no [[publish]] target with url {args.target[0]}")
    for report in asyncio.run(run_publish(config, targets, args.prune)):
        print(report.summary(), flush=True)
    return 0
