"""``mirror search``: the search pages' results on the command line, and the index rebuilt.

``mirror search reindex`` builds the index again from the store while the server runs (a
missing or damaged index, or one made before articles were indexed as stored). Any other
words are a query; to search for the word *reindex* itself, quote it: ``'"reindex"'``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime

from mirror.cli.common import command, load, with_cache
from mirror.errors import ConfigError
from mirror.indexing import index_path, rebuild
from mirror.search.index import Hit, SearchIndex
from mirror.settings import Config

REINDEX = ["reindex"]


def register(commands: object) -> None:
    search = command(
        commands, "search", _search, "search the stored articles, or rebuild the index (reindex)"
    )
    search.add_argument("query", nargs="+", help="words to find, or reindex")
    search.add_argument("--site", help="only this site's articles (its name)")
    search.add_argument(
        "--removed", action="store_true", help="only articles removed at their origin"
    )
    search.add_argument("--page", type=int, default=1, help="page of results (20 a page)")


def _search(args: argparse.Namespace) -> int:
    config = load(args)
    if not config.search.enabled:
        raise ConfigError("search is off (search.enabled)")
    if args.query == REINDEX:
        count = asyncio.run(with_cache(config, lambda cache: rebuild(config, cache)))
        print(f"indexed {count} articles")
        return 0
    hits = _hits(config, " ".join(args.query), args.site, args.removed, args.page - 1)
    if hits is None:
        print("mirror: the query holds no word to search for")
        return 2
    for hit in hits:
        print(shown(hit))
    return 0 if hits else 1


def _hits(
    config: Config, query: str, site: str | None, removed: bool, page: int
) -> list[Hit] | None:
    path = index_path(config.server.data_dir)
    if not path.exists():
        raise ConfigError("there is no search index yet: run mirror search reindex")
    index = SearchIndex(path)
    try:
        return index.search(query, site=site, removed_only=removed, page=page)
    finally:
        index.close()


def shown(hit: Hit) -> str:
    """A result as four lines: title; site, date and label; URL; the snippet with the
    words found in [brackets]."""
    entry = hit.entry
    day = datetime.datetime.fromtimestamp(entry.saved_at, datetime.UTC).date().isoformat()
    snippet = "".join(f"[{text}]" if marked else text for text, marked in hit.snippet)
    return f"{entry.title}\n  {entry.site} · {day} · {entry.source}\n  {entry.url}\n  {snippet}\n"
