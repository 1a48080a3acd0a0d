from __future__ import annotations

from dataclasses import replace

import lxml.html
import pytest

from mirror.transform.reader.ensemble import (
    Agreement,
    Evidence,
    Gap,
    agreement,
    gap,
    merge,
    outside_share,
    shingles,
)
from mirror.transform.reader.params import DEFAULT_PARAMS

LEAD = "Crews on the island ferries stopped work at dawn, leaving passengers stranded on the quay."
ONE = "The union said the new timetable adds two hours to every shift without any change in pay."
TWO = "The company said it regretted the disruption and offered to review the rota in a month."
MISSING = "A queue of cars and vans had formed by seven, and the harbour office handed out tea."
TEN_WORDS = replace(DEFAULT_PARAMS, merge_min_words=10)
THREE = "Both sides are due to meet again on Wednesday, and no sailings will run before noon."


def _html(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def _text(body: lxml.html.HtmlElement) -> str:
    return " ".join(body.text_content().split())


def _texts(body: lxml.html.HtmlElement) -> list[str]:
    return [p.text_content() for p in body.iter("p", "li")]


def test_gap_is_the_prose_left_out_between_the_first_and_last_kept_passages() -> None:
    page = _html(
        f"<div><a href='/'>Home</a><p>Menu text before the story, long enough to count.</p>"
        f"<h1>Headline</h1><p>{ONE}</p><div>{MISSING}</div><p>{TWO}</p>"
        f"<p>After the story: a box of other things that is long enough.</p></div>"
    )
    found = gap(page, _text(_html(f"<p>{ONE}</p><p>{TWO}</p>")))
    span = "".join(t.replace(" ", "") for t in (ONE, MISSING, TWO))
    assert found.span_chars == len(span)
    assert found.missing == (MISSING,)
    assert found.left_out_chars == len(MISSING.replace(" ", ""))
    assert found.left_out_share == pytest.approx(found.left_out_chars / found.span_chars)


def test_a_long_run_just_before_the_first_kept_passage_is_in_the_span() -> None:
    page = _html(f"<div><h1>Short headline</h1><div>{LEAD}</div><p>{ONE}</p><p>{TWO}</p></div>")
    assert gap(page, _text(_html(f"<p>{ONE}</p><p>{TWO}</p>"))).missing == (LEAD,)


def test_links_and_captions_are_not_prose_left_out() -> None:
    page = _html(
        f"<div><p>{ONE}</p><a href='/x'>{MISSING}</a>"
        f"<figure><img src='/a.jpg'><figcaption>{LEAD}</figcaption></figure><p>{TWO}</p></div>"
    )
    found = gap(page, _text(_html(f"<p>{ONE}</p><p>{TWO}</p>")))
    assert found.left_out_chars == 0
    assert found.left_out_share == 0.0


def test_no_span_without_two_passages_said_once() -> None:
    body = _html(f"<p>{ONE}</p><p>{TWO}</p>")
    assert gap(_html(f"<div><p>{ONE}</p><p>{MISSING}</p></div>"), _text(body)) == Gap(0, ())
    twice = _html(f"<div><p>{ONE}</p><p>{MISSING}</p><p>{TWO}</p><p>{ONE}</p></div>")
    assert gap(twice, _text(body)).span_chars == 0
    assert Gap(0, ()).left_out_share == 0.0


def test_outside_share_is_the_body_text_the_paragraph_holder_cannot_hold() -> None:
    holder = _html("<p>Twelve chars</p><a href='/'>and four</a>")
    assert outside_share(holder, 36) == pytest.approx(0.5)
    assert outside_share(holder, 18) == 0.0
    assert outside_share(None, 36) == 0.0
    assert outside_share(holder, 0) == 0.0


def test_a_second_opinion_is_called_for_by_either_piece_of_evidence() -> None:
    left_out = Gap(50, ("0123456789",))
    assert Evidence(left_out, 0.0).calls_for_second(0.2, 0.5)
    assert not Evidence(left_out, 0.0).calls_for_second(0.3, 0.5)
    assert Evidence(Gap(0, ()), 0.5).calls_for_second(0.3, 0.5)


def test_shingles_are_case_folded_word_runs_in_order_once() -> None:
    assert shingles("One two, THREE four one two three") == [
        ("one", "two", "three"),
        ("two", "three", "four"),
        ("three", "four", "one"),
        ("four", "one", "two"),
    ]
    assert shingles("Just two") == [("just", "two")]
    assert shingles(" ... ") == []


def test_agreement_counts_each_body_in_the_other() -> None:
    found = agreement(_html(f"<p>{ONE}</p><p>{TWO}</p>"), _html(f"<p>{ONE}</p>"))
    assert found.second_in_first == 1.0
    assert 0.4 < found.first_in_second < 0.6
    assert agreement(_html("<p></p>"), _html(f"<p>{ONE}</p>")).first_in_second == 1.0


@pytest.mark.parametrize(
    ("first_in_second", "second_in_first", "core"),
    [(0.8, 0.97, True), (0.95, 0.97, False), (0.8, 0.9, False), (0.3, 1.0, False)],
)
def test_the_second_body_is_the_core_only_when_it_gives_up_less_than_half(
    first_in_second: float, second_in_first: float, core: bool
) -> None:
    assert Agreement(first_in_second, second_in_first).second_is_core(DEFAULT_PARAMS) is core


def test_merge_adds_a_paragraph_from_the_gap_where_it_reads_in_order() -> None:
    first = _html(f"<p>{ONE}</p><p>{TWO}</p><p>{THREE}</p>")
    second = _html(f"<div><p>{ONE}</p><p>{TWO}</p><p>{MISSING}</p><p>{THREE}</p></div>")
    assert merge(first, second, Gap(1, (MISSING,)), TEN_WORDS) == 1
    assert _texts(first) == [ONE, TWO, MISSING, THREE]


def test_merge_puts_a_lead_before_everything_the_first_body_holds() -> None:
    first = _html(f"<p>{ONE}</p><p>{TWO}</p>")
    second = _html(f"<div><p>{LEAD}</p><p>{ONE}</p><p>{TWO}</p></div>")
    assert merge(first, second, Gap(1, (LEAD,)), TEN_WORDS) == 1
    assert _texts(first) == [LEAD, ONE, TWO]


def test_merge_adds_only_paragraphs_the_page_left_out_of_the_span() -> None:
    short = "Image: a ferry at the quay."
    links = f"<p><a href='/a'>{MISSING}</a></p>"
    second = _html(f"<div><p>{ONE}</p><p>{short}</p>{links}<h2>{MISSING}</h2><p>{LEAD}</p></div>")
    first = _html(f"<p>{ONE}</p>")
    assert merge(first, second, Gap(1, (MISSING, short)), TEN_WORDS) == 0
    assert _texts(first) == [ONE]


def test_merge_never_adds_what_the_first_body_holds_or_a_block_twice() -> None:
    first = _html(f"<p>{ONE} {TWO}</p>")
    second = _html(f"<div><p>{ONE}</p><p>{MISSING}</p><p>{MISSING}</p></div>")
    assert merge(first, second, Gap(1, (MISSING,)), TEN_WORDS) == 1
    assert _texts(first) == [f"{ONE} {TWO}", MISSING]
