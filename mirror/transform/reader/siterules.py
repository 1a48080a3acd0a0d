"""Site rules: per-site hints for reader mode, as data operators can edit.

The format is the one of fivefilters' ``ftr-site-config`` (one file per host, named after it,
``directive: value`` lines, ``#`` comments), so the thousands of rules written for Full-Text
RSS read here unchanged. The directives used:

- ``body:``, ``title:``, ``author:``, ``date:`` XPath to the part (the first that matches wins)
- ``strip:`` XPath of elements to remove; ``strip_id_or_class:`` a class or id fragment to
  remove; ``strip_image_src:`` a fragment of the ``src`` of images to remove
- ``prune: no`` keeps the ``body:`` element whole instead of passing it through the
  boilerplate heuristics (the default, ``yes``, matches Full-Text RSS)
- ``test_url:`` a page the rule was written for (the tests read them)

Other directives of the format (``single_page_link:``, ``tidy:`` ...) are accepted and ignored.
A file named ``example.com.txt`` applies to ``example.com`` and ``www.example.com``;
``.example.com.txt`` to every subdomain. Rules in the data dir's ``site-rules/`` replace the
packaged ones of the same name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from mirror.errors import ConfigError

XPATH_DIRECTIVES = ("title", "body", "author", "date", "strip")
LIST_DIRECTIVES = (*XPATH_DIRECTIVES, "strip_id_or_class", "strip_image_src", "test_url")
RULE_SUFFIX = ".txt"


@dataclass(frozen=True)
class SiteRule:
    """One site's rule, parsed from an ftr-site-config file."""

    name: str
    title: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    date: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    strip_id_or_class: tuple[str, ...] = ()
    strip_image_src: tuple[str, ...] = ()
    test_url: tuple[str, ...] = ()
    prune: bool = True

    def strip_from(self, page: HtmlElement) -> int:
        """Remove what the rule says to strip from ``page`` in place; how many elements."""
        doomed: list[HtmlElement] = []
        for path in self._strip_paths():
            doomed.extend(e for e in page.xpath(path) if isinstance(e, HtmlElement))
        removed = 0
        for element in doomed:
            if element.getparent() is not None:
                element.drop_tree()
                removed += 1
        return removed

    def first(self, page: HtmlElement, paths: tuple[str, ...]) -> list[object]:
        """The nodes of the first XPath in ``paths`` that matches anything."""
        for path in paths:
            found = page.xpath(path)
            if isinstance(found, list) and found:
                return list(found)
        return []

    def _strip_paths(self) -> Iterable[str]:
        yield from self.strip
        for fragment in self.strip_id_or_class:
            literal = _xpath_literal(fragment)
            yield f"//*[contains(@class, {literal}) or contains(@id, {literal})]"
        for fragment in self.strip_image_src:
            yield f"//img[contains(@src, {_xpath_literal(fragment)})]"


@dataclass(frozen=True)
class ReaderModeRules:
    """Every known rule, by the host pattern its file is named after."""

    rules: dict[str, SiteRule] = field(default_factory=dict)

    def for_url(self, url: str) -> SiteRule | None:
        """The rule for ``url``'s host: exact name (``www.`` ignored), then ``.parent`` ones."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        bare = host.removeprefix("www.")
        for name in (host, bare):
            if name in self.rules:
                return self.rules[name]
        labels = host.split(".")
        for i in range(1, len(labels) - 1):
            wildcard = "." + ".".join(labels[i:])
            if wildcard in self.rules:
                return self.rules[wildcard]
        return None


def parse_rule(name: str, text: str) -> SiteRule:
    """A rule from the text of an ftr-site-config file; bad XPath raises ``ValueError``."""
    values: dict[str, list[str]] = {d: [] for d in LIST_DIRECTIVES}
    prune = True
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        directive, _, value = line.partition(":")
        directive, value = directive.strip().lower(), value.strip()
        if directive == "prune":
            prune = value.lower() != "no"
        elif directive in values and value:
            if directive in XPATH_DIRECTIVES:
                _check_xpath(value, f"{name} line {number}")
            values[directive].append(value)
    return SiteRule(name=name, prune=prune, **{d: tuple(v) for d, v in values.items()})


def load_site_rules(data_dir: Path | None = None) -> ReaderModeRules:
    """The packaged rules, with the data dir's ``site-rules/*.txt`` replacing same-named ones."""
    rules = dict(packaged_rules().rules)
    folder = data_dir / "site-rules" if data_dir is not None else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob(f"*{RULE_SUFFIX}")):
            name = path.name.removesuffix(RULE_SUFFIX)
            rules[name] = _parse_or_fail(name, path.read_text("utf-8"), str(path))
    return ReaderModeRules(rules)


@cache
def packaged_rules() -> ReaderModeRules:
    """The rules shipped in ``mirror/transform/data/site-rules``."""
    folder = files("mirror.transform").joinpath("data", "site-rules")
    rules = {}
    for entry in folder.iterdir():
        if entry.name.endswith(RULE_SUFFIX):
            name = entry.name.removesuffix(RULE_SUFFIX)
            rules[name] = _parse_or_fail(name, entry.read_text("utf-8"), entry.name)
    return ReaderModeRules(rules)


def _parse_or_fail(name: str, text: str, where: str) -> SiteRule:
    try:
        return parse_rule(name, text)
    except ValueError as exc:
        raise ConfigError(f"site rule {where}: {exc}") from exc


def _check_xpath(path: str, where: str) -> None:
    try:
        etree.XPath(path)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"{where}: invalid XPath {path!r}: {exc}") from exc


def _xpath_literal(text: str) -> str:
    """``text`` as an XPath 1.0 string literal (which has no escapes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = ', "\'", '.join(f"'{p}'" for p in text.split("'"))
    return f"concat({parts})"
