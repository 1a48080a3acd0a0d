"""Element hiding on a whole page: which of the lists' selectors can match it at all.

With EasyList and EasyPrivacy loaded, adblock-rust hands back some five hundred selectors
for a typical page (its per-site rules and the generic ones that are not a bare class or
id), and each one tried walks the whole page. Nearly all name something the page does not
have: a selector requires words in given attributes (``a[href^="https://ads.x/"]`` needs
``ads`` in an ``href``, ``.ad-box`` the class ``ad-box``), attributes by name
(``[data-ad-slot]``) and elements by name (``amp-ad``). Only the selectors whose
requirements the page meets are tried.

The generic selectors are the same for every page, so they are filed once per set of lists
(``HidingIndex``), each under one requirement; a page is then checked once per kind of
requirement, not once per selector: the words of its classes, ids and links against the
words filed, the tests of other attributes filed (``anchors``, all made in one walk of its
attributes) against its attributes, and so on. Only the few selectors found that way, and
the per-site ones, are checked requirement by requirement.

The page is read as little as that takes: its classes and ids at once (adblock-rust asks
for them), its links' words once, other attributes one by one as the selectors to check
ask for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from functools import lru_cache

from cssselect.xpath import is_safe_name
from lxml import etree
from lxml.html import HtmlElement
from lxml.html.defs import tags as HTML_TAGS

from mirror.transform.anchors import Anchor, anchors

_CLASSES = etree.XPath("//@class", smart_strings=False)
_IDS = etree.XPath("//@id", smart_strings=False)
_WORD = re.compile(r"[\w-]+")
_PARENTHESISED = re.compile(r"\([^()]*\)")
_CLASS = re.compile(r"\.([\w-]+)")
_ID = re.compile(r"#([\w-]+)")
_TYPE = re.compile(r"(?:^|[\s>+~])([A-Za-z][\w-]*)")
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
# A word as ``_WORD`` has it, when it is long enough to be required.
_LONG_WORD = re.compile(rf"[\w-]{{{MIN_WORD},}}")
_READ_AT_ONCE = frozenset({"class", "id"})
# A requirement: (attribute, word, whole). The word stands in a value of the attribute,
# whole or as a part of a longer word; with no attribute, the word is an attribute's name.
Requirement = tuple[str, str, bool]


class PageAttributes:
    """What a page's elements carry, read lazily; classes and ids (as written) at once."""

    def __init__(self, page: HtmlElement) -> None:
        self._page = page
        self._words: dict[str, frozenset[str]] = {}
        self._names: dict[str, bool] = {}
        self._tags: dict[str, bool] = {}
        self.classes = frozenset(" ".join(_CLASSES(page)).split())
        self.ids = frozenset(_IDS(page))
        self._texts = {"class": " ".join(self.classes).lower(), "id": " ".join(self.ids).lower()}

    def possible(self, selectors: AbstractSet[str], index: HidingIndex) -> list[str]:
        """The ``selectors`` that may match the page, sorted: those filed in ``index`` are
        found through it, the rest checked one by one."""
        checked = [s for s in index.candidates(self) if s in selectors]
        checked += selectors - index.selectors
        found = {s for s in index.found(self) if s in selectors}
        return sorted(found.union(filter(self.meets, checked)))

    def meets(self, selector: str) -> bool:
        """Whether the page has everything ``selector`` requires."""
        return all(map(self._meets, _checking_order(selector))) and all(
            map(self.has_tag, required_tags(selector))
        )

    def words_of(self, attribute: str) -> frozenset[str]:
        """The words (lower case) of the values of ``attribute``, those long enough to be
        required (``MIN_WORD``)."""
        if attribute not in self._words:
            self._words[attribute] = frozenset(_LONG_WORD.findall(self.text_of(attribute)))
        return self._words[attribute]

    def text_of(self, attribute: str) -> str:
        """Each distinct value of ``attribute`` (a page repeats its links), in lower case,
        joined by spaces."""
        if attribute not in self._texts:
            values = set(_attribute_values(self._page, attribute))
            self._texts[attribute] = " ".join(values).lower()
        return self._texts[attribute]

    def passes(self, search: AttributeSearch) -> set[Anchor]:
        """The tests of ``search`` that a value of the page's attributes passes."""
        return search.passed(self._page)

    def has_name(self, name: str) -> bool:
        """Whether any element has an attribute ``name``: one walk per name not known."""
        if name not in self._names:
            self._names[name] = _has_attribute(self._page, name)
        return self._names[name]

    def tags_among(self, tags: AbstractSet[str]) -> frozenset[str]:
        """Those of the element names ``tags`` that the page has, in one walk (in lxml's
        C code, which yields only elements of those names)."""
        found = frozenset(str(e.tag) for e in self._page.iter(*tags)) if tags else frozenset()
        self._tags.update((tag, tag in found) for tag in tags)
        return found

    def has_tag(self, tag: str) -> bool:
        """Whether any element is a ``tag``; a common one is found at once."""
        if tag not in self._tags:
            self._tags[tag] = next(self._page.iter(tag), None) is not None
        return self._tags[tag]

    def _meets(self, requirement: Requirement) -> bool:
        attribute, word, whole = requirement
        if not attribute:
            return self.has_name(word)
        if whole:
            return word in self.words_of(attribute)
        return word in self.text_of(attribute)


class AttributeSearch:
    """Which of some attribute tests (``anchors``) a page passes, in one walk over its
    attributes: an XSLT template per attribute name writes the number of each test that a
    value passes. One walk per name, or a Python string per value, costs several times more.
    """

    def __init__(self, tests: Iterable[Anchor]) -> None:
        self.tests = tuple(sorted(set(tests)))
        self._walk = _test_walk(self.tests) if self.tests else None

    def passed(self, page: HtmlElement) -> set[Anchor]:
        """The tests that a value of an attribute of ``page`` passes."""
        if self._walk is None:
            return set()
        return {self.tests[int(n)] for n in set(str(self._walk(page)).split())}


_XSL = "http://www.w3.org/1999/XSL/Transform"


def _test_walk(tests: tuple[Anchor, ...]) -> etree.XSLT:
    """An XSLT that writes, for every attribute, the numbers of the ``tests`` it passes."""
    sheet = etree.Element(f"{{{_XSL}}}stylesheet", version="1.0", nsmap={"xsl": _XSL})
    etree.SubElement(sheet, f"{{{_XSL}}}output", method="text")
    start = etree.SubElement(sheet, f"{{{_XSL}}}template", match="/")
    etree.SubElement(start, f"{{{_XSL}}}apply-templates", select="//@*")
    etree.SubElement(sheet, f"{{{_XSL}}}template", match="@*")
    templates: dict[str, etree._Element] = {}
    for number, (name, test) in enumerate(tests):
        if name not in templates:
            templates[name] = etree.SubElement(sheet, f"{{{_XSL}}}template", match=f"@{name}")
        passed = etree.SubElement(templates[name], f"{{{_XSL}}}if", test=test)
        etree.SubElement(passed, f"{{{_XSL}}}text").text = f"{number} "
    return etree.XSLT(sheet)


@dataclass(frozen=True, eq=False)
class HidingIndex:
    """Selectors every page is given (the lists' generic ones), each filed under the one of
    its requirements cheapest to check on every page (``_filing_order``). A selector is a
    candidate on a page that meets its filed requirement; one with none (a list,
    ``div > span``) always is.

    A page is checked once per kind of requirement: the words of its classes, ids and links
    against the words filed (sets, intersected), the custom elements filed against those it
    has (one walk in C), the parts of words filed by a search each. A selector that names
    another attribute (``[data-ad-slot]``, ``[aria-label="Advertisement"]``) is filed under
    the test of it that it implies (``anchors``); all such tests are made in one walk, and
    a selector whose test some attribute passes is tried with no more checks.
    """

    selectors: frozenset[str]
    words: dict[str, dict[str, list[str]]]
    tested: dict[Anchor, list[str]]
    tags: dict[str, list[str]]
    parts: dict[tuple[str, str], list[str]]
    always: tuple[str, ...]
    search: AttributeSearch

    @classmethod
    def of(cls, selectors: Iterable[str]) -> HidingIndex:
        index = cls(frozenset(selectors), {}, {}, {}, {}, (), AttributeSearch(()))
        always: list[str] = []
        for selector in sorted(index.selectors):
            requirement = min(requirements(selector), key=_filing_order, default=None)
            rank = _UNFILED if requirement is None else _filing_order(requirement)
            test = _test_of(selector, requirement if rank == _NAME else None)
            rare = sorted(required_tags(selector) - HTML_TAGS)
            if requirement is not None and rank < _NAME:
                filed = index.words.setdefault(requirement[0], {})
                filed.setdefault(requirement[1], []).append(selector)
            elif test is not None:
                index.tested.setdefault(test, []).append(selector)
            elif rare and rank > _RARE_TAG:
                index.tags.setdefault(rare[0], []).append(selector)
            elif requirement is None or rank == _NAME:
                always.append(selector)
            else:
                index.parts.setdefault(requirement[:2], []).append(selector)
        return replace(index, always=tuple(always), search=AttributeSearch(index.tested))

    def candidates(self, page: PageAttributes) -> Iterator[str]:
        """The selectors whose filed requirement ``page`` meets, to be checked further."""
        for attribute, filed in self.words.items():
            for word in filed.keys() & page.words_of(attribute):
                yield from filed[word]
        for tag in page.tags_among(self.tags.keys()):
            yield from self.tags[tag]
        for (attribute, word), selectors in self.parts.items():
            if word in page.text_of(attribute):
                yield from selectors
        yield from self.always

    def found(self, page: PageAttributes) -> Iterator[str]:
        """The selectors whose attribute test ``page`` passes: worth trying as they are."""
        for test in page.passes(self.search):
            yield from self.tested[test]


def _test_of(selector: str, name: Requirement | None) -> Anchor | None:
    """The test to file ``selector`` under: one that it implies, of an attribute whose
    words are not read, the most specific; else, for a ``name`` required, that there is
    such an attribute."""
    tests = [a for a in anchors(selector) if a[0] not in _WORD_SETS]
    if tests:
        return max(tests, key=lambda test: len(test[1]))
    if name is not None and is_safe_name(name[1]):
        return name[1], "true()"
    return None


# Filing ranks: whole words of classes and ids (read with the page), of links (which most
# generic selectors name); attribute tests (one walk for all); custom elements (one walk);
# parts of words of classes and ids (a search in a short text), of links (a long one), any
# word of another attribute (that attribute read, and searched); nothing to file under.
_NAME, _RARE_TAG, _OTHER_ATTRIBUTE, _UNFILED = 2, 3, 6, 7
# The attributes whose words are filed as whole words; a word of another is searched for.
_WORD_SETS = frozenset({"class", "id", "href"})


def _filing_order(requirement: Requirement) -> int:
    attribute, _, whole = requirement
    if not attribute:
        return _NAME
    if attribute in _READ_AT_ONCE:
        return 0 if whole else 4
    if attribute == "href":
        return 1 if whole else 5
    return _OTHER_ATTRIBUTE


def _attribute_values(page: HtmlElement, name: str) -> list[str]:
    path = _values_path(name)
    found = path(page) if path is not None else []
    return [str(v) for v in found] if isinstance(found, list) else []


def _has_attribute(page: HtmlElement, name: str) -> bool:
    path = _values_path(name)
    return path is None or bool(path(page))


@lru_cache(maxsize=1024)
def _values_path(name: str) -> etree.XPath | None:
    """The values of attribute ``name`` everywhere; None for a name XPath cannot say."""
    try:
        return etree.XPath(f"//@{name}", smart_strings=False)
    except etree.XPathSyntaxError:
        return None


@lru_cache(maxsize=8192)
def _checking_order(selector: str) -> tuple[Requirement, ...]:
    """``requirements(selector)``, cheapest to check first: classes and ids (read with the
    page), then links (the words most of the lists' selectors need), other attributes'
    words, and attribute names last (a walk of the page each, when read one by one)."""

    def cost(requirement: Requirement) -> int:
        attribute = requirement[0]
        if attribute in _READ_AT_ONCE:
            return 0
        return 1 if attribute == "href" else 2 if attribute else 3

    return tuple(sorted(requirements(selector), key=cost))


@lru_cache(maxsize=8192)
def required_tags(selector: str) -> frozenset[str]:
    """The element names (lower case, as lxml has them) that ``selector`` requires on the
    page, outside parentheses; a list of selectors requires none."""
    outer = _outside_parentheses(selector)
    if "," in outer:
        return frozenset()
    return frozenset(t.lower() for t in _TYPE.findall(_ATTRIBUTE_TEST.sub("", outer)))


@lru_cache(maxsize=8192)
def requirements(selector: str) -> tuple[Requirement, ...]:
    """What any element matching ``selector`` carries: words in its attribute values and
    attributes by name, all lower case.

    Words inside parentheses (``:not(...)``, ``:has(...)``) are not required, so they are
    cut first; a list of selectors (``a, b``) requires nothing, and is always tried.
    """
    outer = _outside_parentheses(selector)
    if "," in outer:
        return ()
    found: list[Requirement] = []
    for test in _ATTRIBUTE_TEST.finditer(outer):
        name, operator = test.group(1).lower(), test.group(2) or ""
        found.append(("", name, True))
        value = next((g for g in test.groups()[2:] if g is not None), "")
        for word in _WORD.finditer(value):
            left = word.start() > 0 or operator in _ANCHORS_START
            right = word.end() < len(value) or operator in _ANCHORS_END
            found.append((name, word.group(), left and right))
    rest = _ATTRIBUTE_TEST.sub("", outer)
    found += [("class", name, True) for name in _CLASS.findall(rest)]
    found += [("id", name, True) for name in _ID.findall(rest)]
    usable = {(a, w.lower(), whole) for a, w, whole in found if len(w) >= MIN_WORD}
    return tuple(sorted(r for r in usable if r[1] not in _EVERYWHERE))


def _outside_parentheses(selector: str) -> str:
    outer = selector
    while _PARENTHESISED.search(outer):
        outer = _PARENTHESISED.sub("", outer)
    return outer
