"""Time our whole transform against ``trafilatura.extract`` alone, on the 181 real pages.

    .venv/bin/python bench/transform.py [--lists easylist.txt easyprivacy.txt ...]

Ours is decode → prepare the page (parse, lazy images, absolutize, strip the whole page)
→ extract → clean the body (strip, sanitise) → rewrite to mirror URLs, stage by stage as
``pipeline.process_page`` and the server run them. The baseline is ``trafilatura.extract``
with its defaults, on the same bytes, in the same run, interleaved page by page. Ours
contains trafilatura's main extractor (in fast mode, on the tree parsed once: see
``mirror.transform.reader.cascade``), where ``extract`` parses the bytes itself and, by default,
also compares its result with other extractors'. ``--lists`` adds downloaded lists
(``mirror filters update`` keeps them in ``<data dir>/filters/``) to the built-in one.
``--rounds N`` times every page N times, ours and the baseline alike, and keeps each one's
fastest: on a shared machine the fastest of a few runs is the one least disturbed by other
work; ``--cpu`` times by the thread's CPU time instead of the wall clock, which leaves out
the time the process waited for a core (on a machine shared with other work, most of what
the wall clock measures).

``--easylist`` adds the real EasyList and EasyPrivacy from ``MIRROR_BENCH_LISTS`` (default
``bench/lists``, git-ignored), which ``make bench-lists`` fills from Debian's
``webext-ublock-origin-firefox`` package, so the full lists need no download from easylist.to.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura
from data import bench_data, bench_lists

from mirror.fetch.decode import decode_html
from mirror.keys import KeyRing
from mirror.links import LinkBuilder
from mirror.transform.filters import StripRules, build_engine, list_texts
from mirror.transform.page import clean_body, prepare_page
from mirror.transform.reader.extract import extract_article
from mirror.transform.rewrite import rewrite_body

STAGES = ("prepare", "extract", "clean", "rewrite")
clock = time.perf_counter


def ours(raw: bytes, url: str, rules: StripRules, links: LinkBuilder) -> dict[str, float]:
    """Seconds per stage of our transform of one page."""
    times: dict[str, float] = {}
    mark = clock()

    def lap(stage: str) -> None:
        nonlocal mark
        now = clock()
        times[stage] = now - mark
        mark = now

    page, base = prepare_page(decode_html(raw, None), url, rules)
    lap("prepare")
    _, content = extract_article(page, url)
    lap("extract")
    body = clean_body(content, url, base, rules)
    lap("clean")
    rewrite_body(body, links, lambda u: u.startswith(url.split("/", 3)[0]))
    lap("rewrite")
    return times


def baseline(raw: bytes, url: str) -> float:
    start = clock()
    trafilatura.extract(raw, url=url)
    return clock() - start


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def row(name: str, samples: list[float], against: Callable[[float, float], str]) -> str:
    median, p95 = summary(samples)
    return f"{name:<24} median {median:8.1f} ms   p95 {p95:8.1f} ms   {against(median, p95)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lists", nargs="*", type=Path, default=[], help="extra filter lists")
    parser.add_argument("--easylist", action="store_true", help="add EasyList and EasyPrivacy")
    parser.add_argument("--rounds", type=int, default=3, help="runs per page, fastest kept")
    parser.add_argument("--cpu", action="store_true", help="time by CPU time, not wall clock")
    args = parser.parse_args()
    global clock
    clock = time.thread_time if args.cpu else time.perf_counter
    lists = [*args.lists, *(bench_lists() if args.easylist else [])]
    texts = list_texts(None) + [p.read_text("utf-8") for p in lists]
    rules = StripRules(build_engine(texts))
    links = LinkBuilder(KeyRing.of([secrets.token_bytes(64)]))
    bench = bench_data()
    truth = json.loads((bench / "ground-truth.json").read_text("utf-8"))
    pages = sorted((bench / "pages").glob("*.html"))
    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    trafilatura_alone: list[float] = []
    for path in pages:
        raw, url = path.read_bytes(), truth[path.stem]["url"]
        runs = [ours(raw, url, rules, links) for _ in range(args.rounds)]
        fastest = min(runs, key=lambda times: sum(times.values()))
        for stage in STAGES:
            stages[stage].append(fastest[stage])
        totals.append(sum(fastest.values()))
        trafilatura_alone.append(min(baseline(raw, url) for _ in range(args.rounds)))
    base_median, base_p95 = summary(trafilatura_alone)

    def ratio(median: float, p95: float) -> str:
        return f"ratio {median / base_median:5.2f} (p95 {p95 / base_p95:5.2f})"

    print(
        f"{len(pages)} pages, fastest of {args.rounds} runs each"
        f" ({'CPU time' if args.cpu else 'wall clock'});"
        f" filter lists: built-in + {', '.join(p.name for p in lists) or 'none'}"
    )
    print(row("trafilatura.extract", trafilatura_alone, ratio))
    print(row("our whole transform", totals, ratio))
    for stage in STAGES:
        print(row(f"  {stage}", stages[stage], ratio))


if __name__ == "__main__":
    main()
