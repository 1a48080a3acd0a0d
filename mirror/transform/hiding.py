"""Element hiding on a whole page: which of the lists' selectors can match it at all.

With EasyList and EasyPrivacy loaded, adblock-rust hands back some five hundred selectors
for a typical page (its per-site rules and the generic ones that are not a bare class or
id), and each one tried walks the whole page. Nearly all name something the page does not
have: a selector requires words in given attributes (``a[href^="https://ads.x/"]`` needs
``ads`` in an ``href``, ``.ad-box`` the class ``ad-box``), attributes by name
(``[data-ad-slot]``) and elements by name (``amp-ad``). Only the selectors whose
requirements the page meets are tried.

The page is read as little as the selectors need. Its classes and ids are read at once
(adblock-rust asks for them); for a few selectors, other attributes one by one, as the
selectors ask for them. For many (the lists' generic rules name some twenty attributes and
forty attribute names), every attribute is read in one pass and filed by name, and only the
values of the attributes a surviving selector names are split into words. Each selector's
requirements are checked cheapest first (classes and ids, then links, then other
attributes, then names), so most selectors are ruled out before anything more is read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from functools import cached_property, lru_cache

from lxml import etree
from lxml.html import HtmlElement

_ATTRIBUTE_VALUES = etree.XPath("//@*", smart_strings=False)
# The element names of the page, a line break, and the names of the same attributes in the
# same (document) order: an XPath result that knows its attribute's name costs a Python
# object per attribute and its element, some ten times what the values and these names
# cost together; names hold no white space.
_NAMES = etree.XSLT(
    etree.XML(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:output method="text"/><xsl:template match="/">'
        '<xsl:for-each select="//*"><xsl:value-of select="name()"/><xsl:text> </xsl:text>'
        "</xsl:for-each><xsl:text>&#10;</xsl:text>"
        '<xsl:for-each select="//@*"><xsl:value-of select="name()"/><xsl:text> </xsl:text>'
        "</xsl:for-each></xsl:template></xsl:stylesheet>"
    )
)
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
# Above this many selectors, every attribute of the page is read in one pass.
SEARCHES = 40
_READ_AT_ONCE = frozenset({"class", "id"})
# A requirement: (attribute, word, whole). The word stands in a value of the attribute,
# whole or as a part of a longer word; with no attribute, the word is an attribute's name.
Requirement = tuple[str, str, bool]


class PageAttributes:
    """What a page's elements carry, read lazily; classes and ids (as written) at once.

    With ``every_attribute`` (lists with many selectors), every attribute is read at once,
    classes and ids with the rest: two walks of the page instead of one per attribute.
    """

    def __init__(self, page: HtmlElement, every_attribute: bool = False) -> None:
        self._page = page
        self._words: dict[str, frozenset[str]] = {}
        self._names: dict[str, bool] = {}
        self._filed: dict[str, list[str]] | None = None
        self._filed_tags: frozenset[str] | None = None
        if every_attribute:
            self._file_every_attribute()
            assert self._filed is not None
            classes, ids = self._filed.get("class", []), self._filed.get("id", [])
        else:
            classes, ids = _CLASSES(page), _IDS(page)
        self.classes = frozenset(" ".join(classes).split())
        self.ids = frozenset(ids)
        self._texts = {"class": " ".join(self.classes).lower(), "id": " ".join(self.ids).lower()}

    def possible(self, selectors: Collection[str]) -> list[str]:
        """The ``selectors`` whose requirements the page meets: the others cannot match."""
        if len(selectors) > SEARCHES:
            self._file_every_attribute()
        kept = [s for s in selectors if all(map(self._meets, _checking_order(s)))]
        return [s for s in kept if required_tags(s) <= self._tags]

    @cached_property
    def _tags(self) -> frozenset[str]:
        if self._filed_tags is not None:
            return self._filed_tags
        return frozenset(str(e.tag) for e in self._page.iter(etree.Element))

    def _meets(self, requirement: Requirement) -> bool:
        attribute, word, whole = requirement
        if not attribute:
            return self._has_name(word)
        if whole:
            return word in self._words_of(attribute)
        return word in self._text_of(attribute)

    def _file_every_attribute(self) -> None:
        """Read every attribute in one pass, its values filed by its name (which tells
        every attribute name there is, too), and every element name."""
        if self._filed is None:
            tags, names = str(_NAMES(self._page)).split("\n", 1)
            self._filed_tags = frozenset(tags.split())
            values = _ATTRIBUTE_VALUES(self._page)
            filed: defaultdict[str, list[str]] = defaultdict(list)
            assert isinstance(values, list), "a node-set of attributes"
            for name, value in zip(names.split(), values, strict=True):
                filed[name].append(str(value))
            self._filed = dict(filed)

    def _has_name(self, name: str) -> bool:
        """Whether any element has an attribute ``name``: known once every attribute has
        been read, else one walk per name."""
        if self._filed is not None:
            return name in self._filed
        if name not in self._names:
            self._names[name] = _has_attribute(self._page, name)
        return self._names[name]

    def _text_of(self, attribute: str) -> str:
        if attribute not in self._texts:
            if self._filed is not None:
                values = self._filed.get(attribute, [])
            else:
                values = _attribute_values(self._page, attribute)
            self._texts[attribute] = " ".join(values).lower()
        return self._texts[attribute]

    def _words_of(self, attribute: str) -> frozenset[str]:
        if attribute not in self._words:
            self._words[attribute] = frozenset(_WORD.findall(self._text_of(attribute)))
        return self._words[attribute]


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
