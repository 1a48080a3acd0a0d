"""Every tunable choice of reader mode, in one place, each with why it is what it is.

``bench/extraction.py --folds 5`` picks among candidate values on four fifths of both
development sets and scores the pick on the fifth left out, so a value that only fits the
pages it was tuned on shows up there; a value that gains on its folds and not on the
held-out ones is not taken. The modules of ``mirror.transform.reader`` read their
thresholds from an ``ExtractParams`` handed down by ``extract_article``, never from a
constant of their own, so what the benchmark moves is what the reader does.

The tag sets below are definitions, not tunables: what counts as a block of text, a
heading, a container. One of each, so that the stages agree on what a paragraph is.
"""

from __future__ import annotations

from dataclasses import dataclass

# Subheadings inside a story (``h1`` is the headline, which the reader prints itself).
HEADINGS = ("h2", "h3", "h4", "h5")
# Blocks of text a reader reads one after the other: the units bodies are compared,
# counted, anchored and tidied by.
TEXT_BLOCKS = ("p", "li", "blockquote", "pre", "table", "dl", *HEADINGS)
# Elements that hold blocks and lines of text loose between them.
CONTAINERS = ("div", "section", "article", "main", "body", "figure")
# The tidying steps of ``mirror.transform.reader.tidy``, in the order they run.
TIDY_STEPS = ("toggles", "link_lists", "repeats", "tail_calls", "bare_urls", "layout_columns")


@dataclass(frozen=True)
class ExtractParams:
    """The reader's tunable choices; each field says why in the line above it."""

    # Below this many words (CJK characters each one), a sentence or two, a body is not
    # the article: the whole page is served, since a dropped article is worse than a noisy
    # one. Counted in words, not characters: a CJK story says as much in far fewer.
    min_words: int = 40
    # Below this share of the page's visible text, likewise: a caption, not the story.
    min_share: float = 0.015
    # trafilatura's body is weak below this many characters: readability-lxml is asked.
    weak_chars: int = 500
    # ... or below this share of the page's visible text.
    weak_share: float = 0.05
    # readability-lxml's body replaces a weak one with this many times its text ...
    second_opinion_gain: float = 1.5
    # ... or with this share of its text and more blocks (structure trafilatura flattened).
    same_text: float = 0.9
    # At least this many short teasers (list items opening with a link) ...
    listing_items: int = 5
    # ... holding this share of the body's text make it a listing: the whole page is served.
    listing_share: float = 0.6
    # A page with this many ``<article>`` teasers, ``og:type`` website and no schema.org
    # article is a listing; real articles with a wrong ``og:type`` have at most one.
    listing_teasers: int = 3
    # trafilatura kept this share of the page's text or more: it fell back to the page.
    whole_page_share: float = 0.99
    # Add back story chunks that repeat the class of the element holding the paragraphs.
    continuations: bool = True
    # How far up from that element continuation chunks are looked for (parent, grandparent).
    continuation_depth: int = 2
    # Put back pictures and list headings left out between kept paragraphs.
    left_out: bool = True
    # The tidying steps run (``TIDY_STEPS``).
    tidy_steps: frozenset[str] = frozenset(TIDY_STEPS)
    # Tidying that takes more than this share of the body's text is undone: it is then
    # cutting the story, not its leftovers (1.0: never undone).
    max_tidy_loss: float = 0.5
    # A second look when the body left out this share of the page's prose between its
    # first and last kept passages (above 1.0: never) ...
    second_look: float = 0.1
    # ... or this share of its text lies beyond the element holding its paragraphs.
    outside_look: float = 0.2
    # readability's body is the core of ours when this share of it is in ours ...
    core_inside: float = 0.95
    # ... and less than this share of ours is in it ...
    core_extra: float = 0.9
    # ... but at least this share: choosing it never gives up half of the text.
    core_floor: float = 0.5
    # A paragraph readability found in the gap is merged with this many words or more.
    merge_min_words: int = 20
    # A block of the second body is new when more than this share of its shingles are.
    new_share: float = 0.5
    # Words per shingle: three words in a row rarely repeat by chance within a page.
    shingle_words: int = 3
    # A run of text this long (characters) is a sentence of prose, not a label, a byline
    # or a button: a passage, an anchor paragraph, a caption worth comparing.
    prose_chars: int = 40
    # A block with more of its text in links than this is navigation, not story.
    max_link_density: float = 0.5
    # A list or line with this much of its text in links is nothing but links.
    link_list_density: float = 0.9
    # A list of links is a menu from this many items (two links are a "see also").
    link_list_items: int = 3
    # A teaser list has at least this many items, all short and opening with a link.
    teaser_items: int = 2
    # Items repeating a class this many times are a list (a gallery's slides).
    list_items: int = 3
    # A block this long (characters) is the story's prose: nothing before it is a tail.
    tail_block_chars: int = 250
    # A caption written twice is looked for in this many characters after an image.
    max_caption_chars: int = 1000
    # A heading is the title when it is in the title and this long a part of it.
    title_part: float = 0.6
    # An ``h1`` is the headline in other words when it shares this share of its words ...
    headline_share: float = 0.5
    # ... and has this many: a one-word heading is a section, not the headline.
    headline_min_words: int = 4


DEFAULT_PARAMS = ExtractParams()
