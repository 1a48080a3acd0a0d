"""Two extractors' bodies, one article: decided on evidence from the bodies and the page.

trafilatura judges each block on its own and drops some that a reader sees as story (a
lead paragraph in its own box, text that is not in a ``<p>``), and keeps some that a
reader does not (a standfirst, a newsletter box). readability-lxml errs elsewhere; asking
it on every page would double the cost. So the page says first whether a second opinion
could help, and the two bodies' agreement says how to use it:

- ``Evidence``: the prose of the page (text outside links and captions) between the first
  and the last passage the body kept (``gap``); when much of it is missing from the body,
  something a reader sees inside the story was left out. And the share of the body that
  the element holding its paragraphs cannot account for (``outside_share``); when it is
  large, the body took in text from around the story. Either way readability-lxml is
  asked; most pages show neither, and cost next to nothing more.
- ``agreement``: how many of each body's three-word runs (*shingles*) the other holds.
  When nearly all of readability's body is in trafilatura's and trafilatura's has more
  (``Agreement.second_is_core``), the more is boilerplate around a story both found.
- ``merge`` otherwise, recall first: each paragraph of readability's body that the first
  lacks, and that the page has in the gap, is added where it reads in order. Nothing the
  first body held is taken away: where the bodies disagree and nothing says which is
  right, the reader gets the text.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

from lxml.html import HtmlElement

from mirror.transform.reader.params import DEFAULT_PARAMS, HEADINGS, TEXT_BLOCKS, ExtractParams
from mirror.transform.reader.tidy import link_density
from mirror.transform.reader.words import words

# Not prose: links (menus, teasers), captions and asides (a picture's words, not the
# story's), and what no reader sees.
_NOT_PROSE = frozenset(
    ("a", "figure", "figcaption", "caption", "aside", "script", "style", "noscript",
     "template", "iframe", "form", "button")
)  # fmt: skip

Shingle = tuple[str, ...]


@dataclass(frozen=True)
class Gap:
    """The page's prose from the first to the last passage a body kept: ``span_chars`` of
    it (without spaces), and the runs of it ``missing`` from the body, which a second
    opinion's blocks are checked against."""

    span_chars: int
    missing: tuple[str, ...]

    @property
    def left_out_chars(self) -> int:
        return sum(map(spaceless_chars, self.missing))

    @property
    def left_out_share(self) -> float:
        return self.left_out_chars / self.span_chars if self.span_chars else 0.0


@dataclass(frozen=True)
class Evidence:
    """What the page says about a body, before any second opinion: the prose it left out
    around its passages (``left_out``), and the share of its text that the element holding
    its paragraphs cannot account for (``outside``: a standfirst, boxes around the story).
    """

    left_out: Gap
    outside: float

    def calls_for_second(self, left_out: float, outside: float) -> bool:
        """At least ``left_out`` of the span left out, or ``outside`` of the text outside."""
        return self.left_out.left_out_share >= left_out or self.outside >= outside


def outside_share(holder: HtmlElement | None, kept: int) -> float:
    """The share of a body's ``kept`` characters (without whitespace) beyond what ``holder``
    (the page element holding the body's paragraphs) holds; 0 without one."""
    if holder is None or not kept:
        return 0.0
    return max(0, kept - spaceless_chars(holder.text_content())) / kept


@dataclass(frozen=True)
class Agreement:
    """The share of each body's shingles that the other body holds."""

    first_in_second: float
    second_in_first: float

    def second_is_core(self, params: ExtractParams) -> bool:
        """The second body is the core of the first: at least ``core_inside`` of it is in
        the first, which has more (less than ``core_extra`` of it is in the second) but not
        too much more (``core_floor``), so choosing the second never gives up half the text."""
        return (
            self.second_in_first >= params.core_inside
            and params.core_floor <= self.first_in_second < params.core_extra
        )


def gap(region: HtmlElement, kept: str, params: ExtractParams = DEFAULT_PARAMS) -> Gap:
    """The prose of ``region`` that a body left out between the first and the last passage
    it kept (``kept``: the body's text, whitespace folded).

    A passage is a run of text (an element's text or tail) of ``prose_chars`` or more
    that the body holds word for word and the region says once: a line said twice (a
    headline in a teaser box) could stretch the span over the whole page.
    """
    runs, least = _prose_runs(region), params.prose_chars
    once = {text for text, n in Counter(runs).items() if n == 1}
    passages = [i for i, t in enumerate(runs) if len(t) >= least and t in once and t in kept]
    if len(passages) < 2:
        return Gap(0, ())
    first = passages[0] - (passages[0] > 0 and len(runs[passages[0] - 1]) >= least)
    span = runs[first : passages[-1] + 1]
    return Gap(sum(map(spaceless_chars, span)), tuple(text for text in span if text not in kept))


def _prose_runs(region: HtmlElement) -> list[str]:
    """The region's runs of text in document order, whitespace folded, but ``_NOT_PROSE``'s.

    Runs on every page, so written for speed: no generator, no call per run.
    """
    runs: list[str] = []
    skipped: set[HtmlElement] = set()
    for element in region.iter():
        if element in skipped:
            continue
        text, tail = element.text, element.tail
        if element.tag in _NOT_PROSE:
            skipped.update(element.iterdescendants())
        elif text and not text.isspace():
            runs.append(" ".join(text.split()))
        if tail and not tail.isspace() and element is not region:
            runs.append(" ".join(tail.split()))
    return runs


def spaceless_chars(text: str) -> int:
    """Characters without whitespace, so CJK (no spaces) and spaced scripts compare."""
    return sum(map(len, text.split()))


def shingles(text: str, size: int = DEFAULT_PARAMS.shingle_words) -> list[Shingle]:
    """The text's runs of ``size`` words, case folded, in order and each once (a shorter
    text is one run)."""
    found = words(text.lower())
    if len(found) < size:
        return [tuple(found)] if found else []
    runs = (tuple(found[i : i + size]) for i in range(len(found) - size + 1))
    return list(dict.fromkeys(runs))


def agreement(
    first: HtmlElement, second: HtmlElement, params: ExtractParams = DEFAULT_PARAMS
) -> Agreement:
    """How much of each body the other holds, by shingles (an empty body is in any other)."""
    size = params.shingle_words
    ours = set(shingles(first.text_content(), size))
    theirs = set(shingles(second.text_content(), size))
    shared = len(ours & theirs)
    return Agreement(
        first_in_second=shared / len(ours) if ours else 1.0,
        second_in_first=shared / len(theirs) if theirs else 1.0,
    )


def merge(
    first: HtmlElement, second: HtmlElement, left_out: Gap, params: ExtractParams = DEFAULT_PARAMS
) -> int:
    """Add to ``first`` the paragraphs of ``second`` it lacks from ``left_out``; how many.

    A block of ``second`` is lacking when more than ``new_share`` of its shingles are not in
    ``first``; it is added when it is a paragraph of ``merge_min_words`` or more, few of
    them links, and at least half of its shingles are in the prose ``first`` left out of
    its span. It goes after the block of ``first`` holding the last shared shingle before
    it in ``second`` (at the start when there is none), so the story reads in order.
    """
    size = params.shingle_words
    gap_shingles = {s for text in left_out.missing for s in shingles(text, size)}
    have: dict[Shingle, HtmlElement] = {}
    for block in _leaf_blocks(first):
        for shingle in shingles(block.text_content(), size):
            have.setdefault(shingle, block)
    anchor: HtmlElement | None = None
    added = 0
    for block in _leaf_blocks(second):
        own = shingles(block.text_content(), size)
        shared = [have[s] for s in own if s in have]
        if len(own) - len(shared) <= params.new_share * len(own):
            anchor = shared[-1] if shared else anchor
        elif _is_paragraph(block, params) and _mostly_in(own, gap_shingles):
            piece = copy.deepcopy(block)
            piece.tail = None
            _place(first, anchor, piece)
            anchor, added = piece, added + 1
            have.update(dict.fromkeys(own, piece))
    return added


def _leaf_blocks(body: HtmlElement) -> list[HtmlElement]:
    """Blocks holding no other block: the units the two bodies are compared by."""
    return [
        b for b in body.iter(*TEXT_BLOCKS) if next(b.iterdescendants(*TEXT_BLOCKS), None) is None
    ]


def _is_paragraph(block: HtmlElement, params: ExtractParams) -> bool:
    """A paragraph of text: not a heading, a caption, a byline or a line of links."""
    if block.tag in HEADINGS:
        return False
    count = len(words(block.text_content()))
    return count >= params.merge_min_words and link_density(block) <= params.max_link_density


def _mostly_in(own: list[Shingle], left_out: set[Shingle]) -> bool:
    return 2 * sum(1 for s in own if s in left_out) >= len(own)


def _place(body: HtmlElement, anchor: HtmlElement | None, piece: HtmlElement) -> None:
    if anchor is None:
        body.insert(0, piece)
    else:
        anchor.addnext(piece)
