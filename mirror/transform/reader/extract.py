"""Reader mode: find the article in a parsed page, and never lose it.

The body comes from, in order:

1. the site's rule (``mirror.transform.reader.siterules``) when its ``body:`` matches;
2. trafilatura's boilerplate heuristics, helped before and after: social embeds (tweets,
   Instagram posts) lose the wrapper classes that make trafilatura throw them away, since
   a quoted post is part of the story; continuation chunks — elements that repeat the
   class of the element holding the chosen paragraphs (stories cut into several ``body``
   blocks) — are added back; ``mirror.transform.reader.tidy`` drops what boilerplate is left;
3. readability-lxml, asked only when trafilatura kept little or fell back to the whole
   page's text, and taken when it does better; or when the page is evidence that
   trafilatura's body left out prose inside the story or took in text around it, and then
   taken or merged by how the two bodies agree (``mirror.transform.reader.ensemble``). Most pages
   show no such evidence, so it costs nothing there;
4. the whole page, flagged on the ``Article``, when what is left is a handful of words or
   the page is a front page or a listing, because a dropped article is worse than a noisy
   one.

Formulas become their TeX as text before any extractor sees them, and ruby readings and
``<pre><code>`` that trafilatura flattens are put back (``mirror.transform.reader.restore``), and
right-to-left blocks get ``dir="rtl"``. Once its metadata is read, the page handed in
loses what no reader sees (scripts but JSON-LD, styles, SVG, ``noscript``, ``link`` and
``meta``): every extractor would drop them, and each of the page copies that trafilatura
makes is then smaller.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import readability
from lxml.html import HtmlElement
from readability.readability import Unparseable
from trafilatura.htmlprocessing import convert_to_html

from mirror.article import Article
from mirror.transform.reader.articlemeta import read_meta
from mirror.transform.reader.assist import (
    add_continuations,
    ancestor,
    drop_invisible,
    free_embeds,
    paragraph_holder,
    paragraph_texts,
    social_embeds,
)
from mirror.transform.reader.cascade import trafilatura_body
from mirror.transform.reader.ensemble import (
    Evidence,
    agreement,
    gap,
    merge,
    outside_share,
    spaceless_chars,
)
from mirror.transform.reader.leftout import page_paragraphs, restore_left_out
from mirror.transform.reader.linkeddata import linked_data
from mirror.transform.reader.params import DEFAULT_PARAMS, TEXT_BLOCKS, ExtractParams
from mirror.transform.reader.parse import (
    PAGE_PARSER,
    drop_unseen,
)
from mirror.transform.reader.restore import (
    formulas_as_text,
    has_formulas,
    restore_image_sizes,
    restore_ruby,
    untangle_code,
)
from mirror.transform.reader.siterules import ReaderModeRules, SiteRule, packaged_rules
from mirror.transform.reader.tidy import (
    drop_title_heading,
    is_short_teaser,
    tidy,
)
from mirror.transform.reader.words import words
from mirror.transform.textdir import declared_direction, mark_rtl_blocks, text_direction


@dataclass(frozen=True)
class Choice:
    """A candidate body and how it was chosen (what ``mirror extract --explain`` prints)."""

    body: HtmlElement
    how: str


def extract_article(
    page: HtmlElement,
    url: str,
    rules: ReaderModeRules | None = None,
    params: ExtractParams = DEFAULT_PARAMS,
) -> tuple[Article, HtmlElement]:
    """The article's metadata and its body as a new element; ``page`` loses what no reader
    sees (the module's docstring says what)."""
    rule = (rules or packaged_rules()).for_url(url)
    embeds, formulas = social_embeds(page), has_formulas(page)
    work = copy.deepcopy(page) if rule is not None or embeds or formulas else page
    if rule is not None:
        rule.strip_from(work)
    if embeds:
        free_embeds(work)
    if formulas:
        formulas_as_text(work)
    meta = read_meta(work, url, rule)
    declared = declared_direction(page)
    drop_unseen(work)
    page_chars = _visible_chars(work)
    choice = _by_rule(work, rule) or _by_heuristics(work, page_chars, params)
    drop_title_heading(choice.body, meta.title, params)
    full_page = (
        _not_an_article(work, url, meta.kind, params)
        or (rule is None and _teasers(choice.body, work, params))
        or _too_little(choice.body, work, page_chars, params)
    )
    if full_page is not None:
        choice = full_page
    restore_ruby(page, choice.body)
    untangle_code(choice.body)
    meta.place_lead_image(choice.body)
    restore_image_sizes(page, choice.body)
    mark_rtl_blocks(choice.body)
    article = Article(
        url=url,
        title=meta.title,
        body="",
        byline=meta.byline,
        published=meta.published,
        lang=meta.lang,
        direction=text_direction(choice.body.text_content(), declared),
        lead_image=meta.lead_image,
        site_name=meta.site_name,
        extracted_by=choice.how,
        full_page=full_page is not None,
    )
    return article, choice.body


def _by_rule(work: HtmlElement, rule: SiteRule | None) -> Choice | None:
    if rule is None:
        return None
    found = [n for n in rule.first(work, rule.body) if isinstance(n, HtmlElement)]
    if not found:
        return None
    body = lxml.html.Element("div")
    for node in found:
        body.append(copy.deepcopy(node))
    drop_invisible(body)
    how = f"site rule {rule.name}: body {_matched_path(work, rule)}"
    if not rule.prune:
        return Choice(body, how)
    wrapper = lxml.html.Element("html")
    inner = lxml.html.Element("body")
    wrapper.append(inner)
    inner.append(body)
    pruned = _trafilatura(wrapper)
    return Choice(pruned, how + ", pruned by trafilatura") if pruned is not None else None


def _by_heuristics(work: HtmlElement, page_chars: int, params: ExtractParams) -> Choice:
    body = _trafilatura(work)
    kept = 0 if body is None else _chars(body)
    dump = kept >= params.whole_page_share * page_chars > 0
    if body is None or dump or _is_weak(kept, page_chars, params):
        second = _readability(work)
        if body is None or _better_second(second, body, dump, params):
            return Choice(
                second, f"readability (trafilatura kept {kept} of {page_chars} characters)"
            )
    return _helped(work, body, kept, params)


def _helped(work: HtmlElement, body: HtmlElement, kept: int, params: ExtractParams) -> Choice:
    """trafilatura's body (``kept`` characters) with continuations and blocks left out put
    back and leftovers tidied; then, when the page is evidence that something is wrong
    with it, a second look."""
    texts, paragraphs = paragraph_texts(body), page_paragraphs(work)
    holder = paragraph_holder(paragraphs, texts, params)
    # Measured on trafilatura's own pick: continuations come from outside the holder by design.
    outside = outside_share(holder, kept)
    added = add_continuations(work, body, holder, texts, params) if params.continuations else 0
    restored = restore_left_out(paragraphs, body, params) if params.left_out else 0
    body, dropped, text = _tidied(body, params)
    how = "trafilatura" + (f" + {added} continuation blocks" if added else "")
    how += f" + {restored} blocks left out between kept paragraphs" if restored else ""
    how += f", {dropped} link lists, repeats and calls to action dropped" if dropped else ""
    region = work if holder is None else ancestor(holder, params.continuation_depth)
    evidence = Evidence(gap(region, text, params), outside)
    if not evidence.calls_for_second(params.second_look, params.outside_look):
        return Choice(body, how)
    return _second_look(region, Choice(body, how), evidence, params)


def _second_look(
    region: HtmlElement, first: Choice, evidence: Evidence, params: ExtractParams
) -> Choice:
    """readability-lxml's body when it is the core of trafilatura's, else trafilatura's
    with the paragraphs that readability found in what trafilatura left out
    (``mirror.transform.reader.ensemble``).

    readability reads only the ``region`` around the story (the page's, when no element
    holds trafilatura's paragraphs): what trafilatura left out lies there, the benchmark
    scores the same as with the whole page, and a smaller tree costs less.
    """
    second = _readability(region)
    why = (
        f"{evidence.left_out.left_out_share:.0%} of the story's span left out, "
        f"{evidence.outside:.0%} of the text outside its paragraphs' holder"
    )
    if agreement(first.body, second, params).second_is_core(params):
        return Choice(second, f"readability, the core of trafilatura's pick ({why})")
    added = merge(first.body, second, evidence.left_out, params)
    how = f" + {added} paragraphs readability found in what it left out" if added else ""
    return Choice(first.body, f"{first.how}; {why}{how}")


def _tidied(body: HtmlElement, params: ExtractParams) -> tuple[HtmlElement, int, str]:
    """``body`` tidied, how many blocks went, and its text, whitespace folded (read here
    anyway, and the evidence for a second look needs it); untouched when tidying would
    take more than ``max_tidy_loss`` of its text (a missing paragraph is the worse failure).
    """
    before = _folded(body)
    kept = copy.deepcopy(body)
    dropped = tidy(body, params.tidy_steps, params)
    if not dropped:
        return body, 0, before
    after = _folded(body)
    if spaceless_chars(after) < (1 - params.max_tidy_loss) * spaceless_chars(before):
        return kept, 0, before
    return body, dropped, after


def _folded(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _better_second(
    second: HtmlElement, first: HtmlElement, dump: bool, params: ExtractParams
) -> bool:
    """readability wins with clearly more text, or as much text and more structure, or
    any real text when trafilatura fell back to the whole page.

    trafilatura's last resort dumps the page's text, and on short pages flattens it into
    one paragraph.
    """
    more, same = _chars(second), _chars(first) * params.same_text
    if dump:
        return _word_count(second) >= params.min_words and more < same
    return more > params.second_opinion_gain * _chars(first) or (
        more >= same and _blocks(second) > _blocks(first)
    )


def _blocks(element: HtmlElement) -> int:
    return sum(1 for _ in element.iter(*TEXT_BLOCKS))


def _is_weak(kept: int, page_chars: int, params: ExtractParams) -> bool:
    return kept < params.weak_chars or kept < params.weak_share * page_chars


def _readability(work: HtmlElement) -> HtmlElement:
    """readability-lxml's pick: a second opinion, asked only when trafilatura kept little.

    It turns any failure inside into ``Unparseable``; that is an empty opinion, and the
    whole-page fallback still stands behind it.
    """
    try:
        summary = readability.Document(copy.deepcopy(work)).summary(html_partial=True)
    except Unparseable:
        return lxml.html.Element("div")
    wrapper = lxml.html.fromstring(f"<div>{summary}</div>", parser=PAGE_PARSER)
    body = lxml.html.Element("div")
    body.extend(wrapper.xpath("//body/*") or list(wrapper))
    return body


def _word_count(element: HtmlElement) -> int:
    """Words of the element's text, each CJK character one (``words``): a sentence of
    Chinese is as long as one of English, in half the characters or fewer."""
    return len(words(element.text_content()))


def _chars(element: HtmlElement) -> int:
    """``spaceless_chars`` of the element's text."""
    return spaceless_chars(element.text_content())


def _trafilatura(tree: HtmlElement) -> HtmlElement | None:
    found = trafilatura_body(tree)
    if found is None or not len(found):
        return None
    produced = lxml.etree.tostring(convert_to_html(found), encoding="unicode")
    body = lxml.html.document_fromstring(produced, parser=PAGE_PARSER).find("body")
    if body is not None:
        body.tag = "div"
    return body


def _too_little(
    body: HtmlElement, work: HtmlElement, page_chars: int, params: ExtractParams
) -> Choice | None:
    """The whole page when the body holds a handful of words or a sliver of the page."""
    kept = _chars(body)
    if _word_count(body) >= params.min_words and kept >= params.min_share * page_chars:
        return None
    return _whole_page(work, f"full page: extraction kept {kept} of {page_chars} characters")


def _not_an_article(
    work: HtmlElement, url: str, og_type: str, params: ExtractParams
) -> Choice | None:
    """The whole page for a site's front page, or a page that lists several articles.

    A listing says so: Open Graph type ``website``, no schema.org article, and several
    ``<article>`` teasers. Real articles with a wrong ``og:type`` have at most one.
    """
    if urlsplit(url).path in ("", "/"):
        return _whole_page(work, "full page: a site's front page is not an article")
    if og_type != "website":
        return None
    teasers = sum(1 for _ in work.iter("article"))
    if teasers >= params.listing_teasers and not linked_data(work).headline:
        return _whole_page(work, f"full page: a listing of {teasers} articles")
    return None


def _teasers(body: HtmlElement, work: HtmlElement, params: ExtractParams) -> Choice | None:
    """The whole page when the body the heuristics chose is a list of teasers.

    Search results, archives and tag pages carry no ``og:type`` or ``<article>`` teasers to
    tell them by; what the heuristics keep of them is their list of results, each opening
    with a linked headline. A roundup's items go on with a paragraph of story, so they are
    too long to count.
    """
    items = [li for li in body.iter("li") if is_short_teaser(li, params)]
    if len(items) < params.listing_items:
        return None
    if sum(map(_chars, items)) < params.listing_share * _chars(body):
        return None
    return _whole_page(work, f"full page: a list of {len(items)} teasers")


def _whole_page(work: HtmlElement, how: str) -> Choice | None:
    page_body = work.find("body")
    if page_body is None:
        return None
    whole = copy.deepcopy(page_body)
    drop_invisible(whole)
    whole.tag = "div"
    whole.attrib.clear()
    return Choice(whole, how)


def _visible_chars(work: HtmlElement) -> int:
    """Characters of the page's visible text, whitespace left out (CJK has no spaces)."""
    body = work.find("body")
    if body is None:
        return 0
    raw = sum(sum(map(len, (e.text or "").split())) for e in body.iter("script", "style"))
    hidden = raw + sum(_chars(e) for e in body.iter("noscript", "template"))
    return _chars(body) - hidden


def _matched_path(work: HtmlElement, rule: SiteRule) -> str:
    return next(p for p in rule.body if work.xpath(p))
