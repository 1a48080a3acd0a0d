"""Reader-mode quality and speed on both development sets, in one run.

    .venv/bin/python bench/extraction.py [--repeat 3] [--limit N] [--folds 5] [--set NAME]
        [--pages FILE] [--metric cjk|words] [--vary NAME ...]

The sets are the 181 scrapinghub benchmark pages and mozilla/readability's 130 test pages
(``bench/sets.py`` says where they are read from and what their references are); each is
reported alone and both together.

Scores our extractor (``mirror.transform.reader.extract``, in-process: parse → extract → serialise),
the same through the whole pure pipeline (``process_page``: decode → extract → strip →
sanitise), trafilatura alone (``include_comments=False``, as in the benchmark table) and
readability-lxml's ``summary()`` with the benchmark's own metric, imported from
``extract_eval.py`` beside the pages (``../shared/bench/``; ``bench/data.py`` says where).
Pages are run interleaved (every extractor on a page before the next page) and each timing
is the fastest of ``--repeat`` runs, so a busy machine slows all of them alike. Prints a
Markdown table and the ratio of our median time to trafilatura's.

The reader was tuned on these very pages, so its score on them flatters it. ``--folds K``
measures it honestly: the pages are dealt into K folds stratified by set and by site
(``sets.folds``); for each fold the candidate ``ExtractParams`` (the defaults, and each
tunable choice moved one step either way) that score best on the other folds are chosen,
and scored on the fold left out. The mean held-out score is what to expect on pages never
seen. Then each set chooses for the other: the candidate best on one set, scored on the
other, is the test a rule tuned on one kind of page must pass on another.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import lxml.html
import readability
import trafilatura
from data import bench_data
from sets import SETS, Sample, folds, load

from mirror.reading import read_page
from mirror.transform.reader.extract import extract_article
from mirror.transform.reader.params import DEFAULT_PARAMS, ExtractParams
from mirror.transform.reader.parse import parse_page
from mirror.transform.reader.words import words

Extractor = Callable[[str, str], str]
OURS = "mirror (extract_article)"
METRICS = ("cjk", "words")
# Each tunable choice moved one step either way from its default; optional rules left out
# (a share above 1.0 never calls for a second opinion).
VARIANTS: dict[str, Sequence[Any]] = {
    "min_words": (20, 80),
    "min_share": (0.005, 0.03),
    "weak_chars": (250, 1000),
    "weak_share": (0.02, 0.1),
    "second_opinion_gain": (1.2, 2.0),
    "same_text": (0.8, 0.95),
    "listing_items": (3, 8),
    "listing_share": (0.4, 0.8),
    "continuations": (False,),
    "left_out": (False,),
    "max_tidy_loss": (0.25, 0.75, 1.0),
    "second_look": (0.05, 0.2, 1.01),
    "outside_look": (0.1, 0.3, 1.01),
    "core_inside": (0.9, 0.98),
    "core_extra": (0.8, 0.95),
    "merge_min_words": (10, 40),
    "listing_teasers": (2, 5),
    "whole_page_share": (0.95,),
    "continuation_depth": (1, 3),
    "core_floor": (0.4, 0.6),
    "new_share": (0.4, 0.6),
    "shingle_words": (2, 4),
    "prose_chars": (30, 60),
    "max_link_density": (0.3, 0.4),
    "link_list_density": (0.8, 0.95),
    "link_list_items": (2, 4),
    "teaser_items": (3,),
    "list_items": (2, 4),
    "tail_block_chars": (150, 400),
    "title_part": (0.5, 0.8),
    "headline_share": (0.4, 0.6),
    "headline_min_words": (3, 6),
}


def _evaluator(metric: str) -> ModuleType:
    """The shared folder's scoring tool, beside the pages as in ``shared/bench/``: not ours.

    Its metric counts runs of ``\\w+`` as words, so a clause of Chinese or Japanese (no
    spaces) is one word and its 4-word shingles cover whole paragraphs: one wrong character
    loses them all. With ``metric="cjk"`` each Han or kana character is a word instead
    (``mirror.transform.reader.words``, the reader's own count); Korean is spaced and keeps
    its words. Each metric gets its own copy of the module, so both can score one run.
    """
    path = bench_data().parent / "extract_eval.py"
    spec = importlib.util.spec_from_file_location(f"extract_eval_{metric}", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the scoring tool {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    if metric == "cjk":
        setattr(module, "tokenize", words)  # noqa: B010 (mypy cannot see a loaded module's names)
    return module


def ours(html: str, url: str, params: ExtractParams = DEFAULT_PARAMS) -> str:
    _, body = extract_article(parse_page(html), url, params=params)
    return lxml.html.tostring(body, encoding="unicode")


def pipeline(html: str, url: str) -> str:
    return read_page(html.encode("utf-8"), "utf-8", url).body


def trafilatura_alone(html: str, url: str) -> str:
    return trafilatura.extract(html, include_comments=False) or ""


def readability_lxml(html: str, url: str) -> str:
    summary: str = readability.Document(html).summary()
    return summary


EXTRACTORS: dict[str, Extractor] = {
    OURS: ours,
    "mirror (process_page: + strip, sanitise)": pipeline,
    "trafilatura 2.x alone": trafilatura_alone,
    "readability-lxml summary()": readability_lxml,
}


def candidates(vary: Sequence[str] = ()) -> dict[str, ExtractParams]:
    """The defaults, then one variant per moved choice, named by what moved; only those
    whose name starts with one of ``vary``, when given (a shared machine may not have the
    time for every one)."""
    found = {"defaults": DEFAULT_PARAMS}
    for name, values in VARIANTS.items():
        for value in values:
            found[f"{name}={value}"] = replace(DEFAULT_PARAMS, **{name: value})
    for step in sorted(DEFAULT_PARAMS.tidy_steps):
        found[f"tidy without {step}"] = replace(
            DEFAULT_PARAMS, tidy_steps=DEFAULT_PARAMS.tidy_steps - {step}
        )
    return {
        label: params
        for label, params in found.items()
        if label == "defaults" or not vary or label.startswith(tuple(vary))
    }


def _timed(extract: Extractor, html: str, url: str, repeat: int) -> tuple[str, float]:
    output, best = "", float("inf")
    for run in range(repeat):
        start = time.perf_counter()
        result = extract(html, url)
        best = min(best, time.perf_counter() - start)
        output = result if run == 0 else output
    return output, best * 1000


def _score(evaluator: ModuleType, page: Any, output: str) -> Any:
    text = evaluator.html_to_text(output) if evaluator.looks_like_html(output) else output
    return evaluator.score_page(page, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per page (fastest kept)")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    parser.add_argument("--folds", type=int, default=0, help="cross-validate over K folds")
    parser.add_argument("--set", choices=SETS, action="append", help="only this set (repeatable)")
    parser.add_argument("--pages", type=Path, help="write each page's F1 per extractor (TSV)")
    parser.add_argument(
        "--vary", action="append", default=[], help="only candidates named so (a prefix)"
    )
    parser.add_argument(
        "--metric", choices=METRICS, default="cjk", help="count CJK per character, or by \\w+"
    )
    args = parser.parse_args()
    evaluator = _evaluator(args.metric)
    other = _evaluator(next(m for m in METRICS if m != args.metric))
    samples = _limited(load(evaluator, tuple(args.set or SETS)), args.limit)
    scores: dict[str, list[Any]] = {name: [] for name in EXTRACTORS}
    other_scores: dict[str, list[Any]] = {name: [] for name in EXTRACTORS}
    times: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
    for n, sample in enumerate(samples, 1):
        html = _text(sample)
        for name, extract in EXTRACTORS.items():
            output, ms = _timed(extract, html, sample.page.url, args.repeat)
            scores[name].append(_score(evaluator, sample.page, output))
            other_scores[name].append(_score(other, sample.page, output))
            times[name].append(ms)
        _progress(n, len(samples))
    _report(evaluator, samples, scores, times)
    _report_other_metric(other, samples, other_scores)
    if args.pages:
        _write_pages(args.pages, samples, scores)
    if args.folds > 1:
        _cross_validate(evaluator, samples, scores[OURS], args.folds, args.vary)


def _limited(samples: list[Sample], limit: int | None) -> list[Sample]:
    if limit is None:
        return samples
    seen: dict[str, int] = {}
    kept = []
    for sample in samples:
        seen[sample.set] = seen.get(sample.set, 0) + 1
        if seen[sample.set] <= limit:
            kept.append(sample)
    return kept


def _text(sample: Sample) -> str:
    """The page as the scoring tool hands it to an extractor: UTF-8, any BOM removed."""
    text: str = sample.page.html.decode("utf-8-sig", "replace")
    return text


def _progress(n: int, total: int) -> None:
    print(f"\r{n}/{total}", end="\n" if n == total else "", file=sys.stderr, flush=True)


def _write_pages(path: Path, samples: list[Sample], scores: dict[str, list[Any]]) -> None:
    """One row per page: its set and id, then its F1 by each extractor, for finding losses."""
    rows = ["set\tpage\t" + "\t".join(EXTRACTORS)]
    for i, sample in enumerate(samples):
        f1s = "\t".join(f"{scores[name][i].f1:.4f}" for name in EXTRACTORS)
        rows.append(f"{sample.set}\t{sample.page.id}\t{f1s}")
    path.write_text("\n".join(rows) + "\n", "utf-8")


def _groups(samples: list[Sample]) -> dict[str, list[int]]:
    """Page indices of each set present, then of both together."""
    found = {name: [i for i, s in enumerate(samples) if s.set == name] for name in SETS}
    found = {name: indices for name, indices in found.items() if indices}
    if len(found) > 1:
        found["both"] = list(range(len(samples)))
    return found


def _report(
    evaluator: ModuleType,
    samples: list[Sample],
    scores: dict[str, list[Any]],
    times: dict[str, list[float]],
) -> None:
    print("| set | pages | extractor | F1 | precision | recall | median ms/page | p95 ms/page |")
    print("|---|---|---|---|---|---|---|---|")
    ratios: list[str] = []
    for group, indices in _groups(samples).items():
        medians = {}
        for name in EXTRACTORS:
            metrics = evaluator.corpus_metrics([scores[name][i] for i in indices])
            ms = sorted(times[name][i] for i in indices)
            medians[name] = statistics.median(ms)
            p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
            print(
                f"| {group} | {len(indices)} | {name} | {metrics['f1']:.3f} "
                f"| {metrics['precision']:.3f} | {metrics['recall']:.3f} "
                f"| {medians[name]:.1f} | {p95:.1f} |"
            )
        base = medians["trafilatura 2.x alone"]
        ratios += [
            f"{group}: median time of {name} / trafilatura alone: {medians[name] / base:.2f}"
            for name in list(EXTRACTORS)[:2]
        ]
    print("\n" + "\n".join(ratios))


def _report_other_metric(
    evaluator: ModuleType, samples: list[Sample], scores: dict[str, list[Any]]
) -> None:
    """The F1 of the same outputs by the other metric: what the metric alone changes."""
    name = "\\w+ words" if evaluator.tokenize is not words else "CJK per character"
    print(f"\nThe same outputs, F1 with {name}:")
    for group, indices in _groups(samples).items():
        f1s = (
            f"{label} {evaluator.corpus_metrics([scores[label][i] for i in indices])['f1']:.3f}"
            for label in EXTRACTORS
        )
        print(f"- {group}: " + ", ".join(f1s))


def _cross_validate(
    evaluator: ModuleType,
    samples: list[Sample],
    default_scores: list[Any],
    k: int,
    vary: Sequence[str],
) -> None:
    """Score every candidate on every page once, then choose per fold on the other folds,
    and per set on the other set."""
    by_candidate = {"defaults": default_scores}
    chosen = {key: value for key, value in candidates(vary).items() if key != "defaults"}
    for n, (label, params) in enumerate(chosen.items(), 1):
        by_candidate[label] = [
            _score(evaluator, s.page, ours(_text(s), s.page.url, params)) for s in samples
        ]
        _progress(n, len(chosen))
    fold_of = folds(samples, k)
    print(f"\n{k}-fold cross-validation by set and site ({len(by_candidate)} candidates)\n")
    print("| fold | pages | chosen on the other folds | train F1 | held-out F1 | P | R |")
    print("|---|---|---|---|---|---|---|")
    held: list[dict[str, float]] = []
    held_scores: list[Any] = [None] * len(samples)
    for fold in range(k):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        test = [i for i, f in enumerate(fold_of) if f == fold]
        label, train_f1 = _best(evaluator, by_candidate, train)
        for i in test:
            held_scores[i] = by_candidate[label][i]
        metrics = evaluator.corpus_metrics([by_candidate[label][i] for i in test])
        held.append(metrics)
        print(
            f"| {fold} | {len(test)} | {label} | {train_f1:.3f} | {metrics['f1']:.3f} "
            f"| {metrics['precision']:.3f} | {metrics['recall']:.3f} |"
        )
    mean = {key: statistics.fmean(m[key] for m in held) for key in ("f1", "precision", "recall")}
    every = evaluator.corpus_metrics(default_scores)
    print(
        f"| mean held-out | {len(samples)} | | | {mean['f1']:.3f} "
        f"| {mean['precision']:.3f} | {mean['recall']:.3f} |"
    )
    print(
        f"| all pages, defaults | {len(samples)} | defaults | | {every['f1']:.3f} "
        f"| {every['precision']:.3f} | {every['recall']:.3f} |"
    )
    print("\n| set | held-out F1 (pooled) | defaults F1 | chosen on the other set | its F1 |")
    print("|---|---|---|---|---|")
    groups = _groups(samples)
    for group, indices in groups.items():
        pooled = evaluator.corpus_metrics([held_scores[i] for i in indices])["f1"]
        defaults = evaluator.corpus_metrics([default_scores[i] for i in indices])["f1"]
        others = [i for i in range(len(samples)) if i not in set(indices)]
        label, crossed = "", ""
        if group != "both" and others:
            label, _ = _best(evaluator, by_candidate, others)
            f1 = evaluator.corpus_metrics([by_candidate[label][i] for i in indices])["f1"]
            crossed = f"{f1:.3f}"
        print(f"| {group} | {pooled:.3f} | {defaults:.3f} | {label} | {crossed} |")
    print("\n| candidate | " + " | ".join(f"F1 {g}" for g in groups) + " |")
    print("|---|" + "---|" * len(groups))
    for label, page_scores in by_candidate.items():
        f1s = [
            evaluator.corpus_metrics([page_scores[i] for i in ix])["f1"] for ix in groups.values()
        ]
        print(f"| {label} | " + " | ".join(f"{f:.4f}" for f in f1s) + " |")


def _best(
    evaluator: ModuleType, by_candidate: dict[str, list[Any]], indices: list[int]
) -> tuple[str, float]:
    """The candidate with the best F1 on ``indices``; the defaults win ties (listed first)."""
    best, best_f1 = "", -1.0
    for label, page_scores in by_candidate.items():
        f1 = evaluator.corpus_metrics([page_scores[i] for i in indices])["f1"]
        if f1 > best_f1 + 1e-9:
            best, best_f1 = label, f1
    return best, best_f1


if __name__ == "__main__":
    main()
