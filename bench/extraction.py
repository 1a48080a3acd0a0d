"""Reader-mode quality and speed on the 181 scrapinghub benchmark pages, in one run.

    .venv/bin/python bench/extraction.py [--repeat 3] [--limit N]

Scores our extractor (``mirror.transform.extract``, in-process: parse → extract → serialise),
the same through the whole pure pipeline (``process_page``: decode → extract → strip →
sanitise), trafilatura alone (``include_comments=False``, as in the benchmark table) and
readability-lxml's ``summary()`` with the benchmark's own metric, imported from
``extract_eval.py`` beside the pages (``../shared/bench/``; ``bench/data.py`` says where).
Pages are run interleaved (every extractor on a page before the next page) and each timing
is the fastest of ``--repeat`` runs, so a busy machine slows all of them alike. Prints a
Markdown table and the ratio of our median time to trafilatura's.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType

import lxml.html
import readability
import trafilatura
from data import bench_data

from mirror.pipeline import read_page
from mirror.transform.extract import extract_article, parse_page

Extractor = Callable[[str, str], str]


def _evaluator() -> ModuleType:
    """The shared folder's scoring tool, beside the pages as in ``shared/bench/``: not ours."""
    path = bench_data().parent / "extract_eval.py"
    spec = importlib.util.spec_from_file_location("extract_eval", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the scoring tool {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_eval"] = module
    spec.loader.exec_module(module)
    return module


def ours(html: str, url: str) -> str:
    _, body = extract_article(parse_page(html), url)
    return lxml.html.tostring(body, encoding="unicode")


def pipeline(html: str, url: str) -> str:
    return read_page(html.encode("utf-8"), "utf-8", url).body


def trafilatura_alone(html: str, url: str) -> str:
    return trafilatura.extract(html, include_comments=False) or ""


def readability_lxml(html: str, url: str) -> str:
    summary: str = readability.Document(html).summary()
    return summary


EXTRACTORS: dict[str, Extractor] = {
    "mirror (extract_article)": ours,
    "mirror (process_page: + strip, sanitise)": pipeline,
    "trafilatura 2.x alone": trafilatura_alone,
    "readability-lxml summary()": readability_lxml,
}


def _timed(extract: Extractor, html: str, url: str, repeat: int) -> tuple[str, float]:
    output, best = "", float("inf")
    for run in range(repeat):
        start = time.perf_counter()
        result = extract(html, url)
        best = min(best, time.perf_counter() - start)
        output = result if run == 0 else output
    return output, best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per page (fastest kept)")
    parser.add_argument("--limit", type=int, help="only the first N pages")
    args = parser.parse_args()
    evaluator = _evaluator()
    pages = list(evaluator.load_scrapinghub(bench_data()))[: args.limit]
    scores: dict[str, list[object]] = {name: [] for name in EXTRACTORS}
    times: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
    for n, page in enumerate(pages, 1):
        html = page.html.decode("utf-8-sig", "replace")
        for name, extract in EXTRACTORS.items():
            output, ms = _timed(extract, html, page.url, args.repeat)
            text = evaluator.html_to_text(output) if evaluator.looks_like_html(output) else output
            scores[name].append(evaluator.score_page(page, text))
            times[name].append(ms)
        print(f"\r{n}/{len(pages)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    _report(evaluator, scores, times, len(pages))


def _report(
    evaluator: ModuleType,
    scores: dict[str, list[object]],
    times: dict[str, list[float]],
    pages: int,
) -> None:
    print(f"scrapinghub article-extraction benchmark, {pages} pages\n")
    print("| extractor | F1 | precision | recall | median ms/page | p95 ms/page |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for name in EXTRACTORS:
        metrics = evaluator.corpus_metrics(scores[name])
        ms = sorted(times[name])
        medians[name] = statistics.median(ms)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        print(
            f"| {name} | {metrics['f1']:.3f} | {metrics['precision']:.3f} "
            f"| {metrics['recall']:.3f} | {medians[name]:.1f} | {p95:.1f} |"
        )
    base = medians["trafilatura 2.x alone"]
    print()
    for name in list(EXTRACTORS)[:2]:
        print(f"median time of {name} / trafilatura alone: {medians[name] / base:.2f}")


if __name__ == "__main__":
    main()
