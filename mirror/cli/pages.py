"""Commands about pages: ``mirror link``, ``mirror extract``, ``mirror export`` and
``mirror filters update``."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
from pathlib import Path
from typing import Any

from mirror.cli.common import command, group, load
from mirror.fetch.client import Fetcher
from mirror.filterlists import UpdateResult, update_lists
from mirror.keys import (
    load_token_ring,
)
from mirror.links import Kind, LinkBuilder
from mirror.settings import Config, public_url
from mirror.transform.filters import LIST_DIR


def register(commands: Any) -> None:
    command(commands, "link", _link, "print the mirror URL for an article URL").add_argument("url")

    extract = command(commands, "extract", _extract, "reader-mode HTML of a page read from stdin")
    extract.add_argument("--url", required=True, help="the page's URL (for relative links)")
    extract.add_argument("--charset", help="charset from the HTTP header, if known")
    extract.add_argument(
        "--explain", action="store_true", help="which rule or heuristic chose the body (stderr)"
    )

    filters = group(commands, "filters", "manage the ad and tracker lists")
    command(filters, "update", _update_filters, "download the lists into the data dir")

    export = command(commands, "export", _export, "write a static mirror or a WARC of a site")
    export.add_argument("--site", required=True, help="the site's name in the configuration")
    export.add_argument("--out", required=True, type=Path, help="directory to write into")
    export.add_argument(
        "--format",
        choices=("static", "warc"),
        default="static",
        help="static: files any host can serve (default); warc: WARC 1.1 for archivists",
    )
    export.add_argument("--since", type=_date, help="only articles published on or after")
    export.add_argument("--depth", type=int, help="internal links to follow (export.depth)")


def _date(text: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("dates are YYYY-MM-DD") from exc
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def _link(args: argparse.Namespace) -> int:
    config = load(args)
    links = LinkBuilder(load_token_ring(config.server.data_dir, config.server.token_key))
    print(public_url(config) + links.path(args.url, Kind.PAGE))
    return 0


def _extract(args: argparse.Namespace) -> int:
    from mirror.reading import load_page_rules, read_page
    from mirror.render.html import environment

    rules = load_page_rules(load(args) if args.config else None)
    article = read_page(sys.stdin.buffer.read(), args.charset, args.url, rules)
    if args.explain:
        print(f"mirror: body chosen by {article.extracted_by}", file=sys.stderr)
    page = environment().get_template("extract.html").render(article=article)
    sys.stdout.write(page)
    return 0


def _update_filters(args: argparse.Namespace) -> int:
    """Fetch ``filters.lists``; exit 1 if any list was refused (the old copy stays)."""
    config = load(args)
    results = asyncio.run(_fetch_lists(config))
    for result in results:
        print(f"mirror: {result.url}: {result.status}", flush=True)
    print("mirror: restart the mirror to apply updated lists", flush=True)
    return 0 if all(r.status in {"updated", "not modified"} for r in results) else 1


async def _fetch_lists(config: Config) -> list[UpdateResult]:
    async with Fetcher(config.fetch, sites=config.sites) as fetcher:
        directory = config.server.data_dir / LIST_DIR
        return await update_lists(fetcher, list(config.filters.lists), directory)


def _export(args: argparse.Namespace) -> int:
    from mirror.share.export import run_export
    from mirror.share.warc import run_warc_export

    config = load(args)
    depth = config.export.depth if args.depth is None else args.depth
    if args.format == "warc":
        archived = asyncio.run(run_warc_export(config, args.site, args.out, depth, args.since))
        print(archived.summary())
        return 0 if archived.ok else 1
    report = asyncio.run(run_export(config, args.site, args.out, depth=depth, since=args.since))
    print(report.summary())
    return 0 if report.ok else 1
