"""Attribute tests a CSS selector implies: ``.ad`` means an element whose ``class``
contains ``ad``, ``a[href^="https://x/"]`` one whose ``href`` starts with ``https://x/``.

Such a test, made on one attribute's values, is a necessary condition of the selector that
is far cheaper to check than the selector: a walk over the values of one attribute name
(``descendant-or-self::*/@class[contains(., 'ad')]``) passes over every element without
one, where the selector's own test is made on every element. ``filters.compile_selectors``
tests selectors only on the owners of the values that pass; ``hiding.HidingIndex`` checks
a page for them in one pass before trying the selectors at all.
"""

from __future__ import annotations

from functools import lru_cache

from cssselect import GenericTranslator, SelectorError, parse
from cssselect.parser import Attrib, Class, CombinedSelector, Element, Hash, Tree
from cssselect.xpath import is_safe_name

# An attribute name and an XPath test of one of its values (the context node).
Anchor = tuple[str, str]

# A test of an attribute's value that cssselect's own test of each operator implies
# (``!=`` is met by an element without the attribute, so it implies none).
_VALUE_TESTS = {
    "exists": "true()",
    "=": ". = {}",
    "^=": "starts-with(., {})",
    "|=": "starts-with(., {})",
    "$=": "contains(., {})",
    "*=": "contains(., {})",
    "~=": "contains(., {})",
}


@lru_cache(maxsize=8192)
def anchors(selector: str) -> tuple[Anchor, ...]:
    """The attribute tests that every element matching ``selector`` passes: those of its
    subject (the compound after the last combinator), outside ``:not()`` and the like; none
    for a list of selectors or one cssselect cannot read."""
    try:
        parsed = parse(selector)
    except SelectorError:
        return ()
    if len(parsed) != 1:
        return ()
    found: list[Anchor] = []
    tree: Tree = parsed[0].parsed_tree
    if isinstance(tree, CombinedSelector):
        tree = tree.subselector
    while not isinstance(tree, Element | CombinedSelector):
        if isinstance(tree, Class):
            found.append(("class", f"contains(., {_literal(tree.class_name)})"))
        elif isinstance(tree, Hash):
            found.append(("id", f". = {_literal(tree.id)}"))
        elif isinstance(tree, Attrib) and (anchor := _attribute_anchor(tree)) is not None:
            found.append(anchor)
        tree = tree.selector
    return tuple(found)


def _attribute_anchor(test: Attrib) -> Anchor | None:
    """``[name]``, ``[name="v"]``, ``[name^="v"]``... as ``name`` and a test of its value;
    None for ``!=`` and for names cssselect tests otherwise (with a namespace, or not an
    XPath name as they are)."""
    name = test.attrib.lower()
    if test.namespace or not is_safe_name(name) or test.operator not in _VALUE_TESTS:
        return None
    value = str(test.value.value) if test.value is not None else ""
    return name, _VALUE_TESTS[test.operator].format(_literal(value))


def _literal(text: str) -> str:
    return GenericTranslator.xpath_literal(text)
