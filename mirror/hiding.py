"""Element hiding on a whole page: which of the lists' selectors can match it at all.

With EasyList and EasyPrivacy loaded, adblock-rust hands back some five hundred selectors
for a typical page (its per-site rules and the generic ones that are not a bare class or
id), and each one tried walks the whole page. Nearly all name something the page does not
have: a selector names words that any element it matches carries in its attributes
(``a[href^="https://ads.x/"]`` needs ``ads``, ``[data-ad-slot]`` an attribute of that
name). The page's attribute names and values are cut into words once; a whole word is then
a set lookup and a part of a word one search in the page's distinct words, and only the
selectors whose words are all there are tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

_ATTRIBUTES = etree.XPath("//@*")
_CLASSES = etree.XPath("//@class", smart_strings=False)
_IDS = etree.XPath("//@id", smart_strings=False)
_WORD = re.compile(r"[\w-]+")
_PARENTHESISED = re.compile(r"\([^()]*\)")
_NAMED = re.compile(r"[.#]([\w-]+)")
_ATTRIBUTE_TEST = re.compile(
    r"\[\s*([\w-]+)\s*(?:([~|^$*]?=)\s*(?:\"([^\"]*)\"|'([^']*)'|([^\]\s]*)))?\s*[iIsS]?\s*\]"
)
# Words on nearly every page: requiring them would rule nothing out.
_EVERYWHERE = frozenset(
    {"href", "src", "class", "style", "title", "alt", "rel", "type", "name", "http", "https"}
    | {"www", "com", "net", "org", "html", "div", "span"}
)
# Where an attribute operator pins the value's edge, a word at that edge is whole.
_ANCHORS_START = frozenset({"=", "^=", "~=", "|="})
_ANCHORS_END = frozenset({"=", "$=", "~="})
MIN_WORD = 3
# Above this many selectors, the page's words are collected once rather than searched for.
SEARCHES = 40


@dataclass(frozen=True)
class PageWords:
    """A page's classes and ids (as written), and its attribute names and values as text."""

    classes: frozenset[str]
    ids: frozenset[str]
    text: str

    def possible(self, selectors: Collection[str]) -> list[str]:
        """The ``selectors`` whose required words the page has: the others cannot match.

        A few selectors are checked with a search each; for many, cutting the text into
        words first (a set) is cheaper than searching it again and again.
        """
        has: Callable[[str], bool]
        has_part: Callable[[str], bool]
        if len(selectors) > SEARCHES:
            words = set(_WORD.findall(self.text))
            has = words.__contains__
            has_part = " ".join(words).__contains__
        else:
            has = self._stands_alone
            has_part = self.text.__contains__
        return [
            selector
            for selector in selectors
            if all((has if whole else has_part)(w) for w, whole in required_words(selector))
        ]

    def _stands_alone(self, word: str) -> bool:
        """Whether ``word`` occurs in the text with no word character before or after it.

        The pattern starts with the word itself, which the regex engine finds fast; the
        character before each find is checked apart (a look-behind first would be slow).
        """
        if word not in self.text:
            return False
        for found in _word_then_boundary(word).finditer(self.text):
            start = found.start()
            if start == 0 or not _WORD.match(self.text, start - 1):
                return True
        return False


def page_words(page: HtmlElement) -> PageWords:
    """Read the attributes of ``page`` once; lxml collects them in C."""
    attributes = _ATTRIBUTES(page)
    names = {a.attrname for a in attributes}
    return PageWords(
        classes=frozenset(" ".join(_CLASSES(page)).split()),
        ids=frozenset(_IDS(page)),
        text=" ".join(names.union(attributes)).lower(),
    )


@lru_cache(maxsize=8192)
def _word_then_boundary(word: str) -> re.Pattern[str]:
    return re.compile(re.escape(word) + r"(?![\w-])")


@lru_cache(maxsize=8192)
def required_words(selector: str) -> tuple[tuple[str, bool], ...]:
    """The words (lower case) that any element matching ``selector`` carries in an attribute
    name or value, each with whether it stands whole there or may be part of a longer word.

    Words inside parentheses (``:not(...)``, ``:has(...)``) are not required, so they are
    cut first; a list of selectors (``a, b``) requires nothing, and is always tried.
    """
    outer = selector
    while _PARENTHESISED.search(outer):
        outer = _PARENTHESISED.sub("", outer)
    if "," in outer:
        return ()
    found: list[tuple[str, bool]] = []
    for test in _ATTRIBUTE_TEST.finditer(outer):
        name, operator = test.group(1), test.group(2) or ""
        found.append((name, True))
        value = next((g for g in test.groups()[2:] if g is not None), "")
        for word in _WORD.finditer(value):
            left = word.start() > 0 or operator in _ANCHORS_START
            right = word.end() < len(value) or operator in _ANCHORS_END
            found.append((word.group(), left and right))
    found += [(name, True) for name in _NAMED.findall(_ATTRIBUTE_TEST.sub("", outer))]
    usable = {(w.lower(), whole) for w, whole in found if len(w) >= MIN_WORD}
    return tuple(sorted((w, whole) for w, whole in usable if w not in _EVERYWHERE))
