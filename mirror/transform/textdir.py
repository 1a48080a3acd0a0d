"""Scripts and directions: which way the text runs, and a language when none is declared.

Direction is what the page declares (``dir`` on ``<html>``/``<body>``, or CSS ``direction``
in a ``style`` attribute or ``<style>`` block, which browsers honour but the extracted body
would lose), else what most strong letters say. Blocks of right-to-left text inside a
left-to-right article (a Uyghur quote in a Chinese story) get their own ``dir="rtl"``.
"""

from __future__ import annotations

import re
import unicodedata

from lxml.html import HtmlElement

RTL_SHARE = 0.3
_RTL_BIDI = frozenset({"R", "AL"})
_CSS_DIRECTION = re.compile(r"direction\s*:\s*(rtl|ltr)", re.IGNORECASE)
_ROOT_SELECTOR = re.compile(r"(?:^|[\s,])(?:html|body|:root)", re.IGNORECASE)
_RTL_CHAR = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_BLOCKS = ("p", "blockquote", "li", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "td", "th")
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
)
SCRIPT_SHARE = 0.2
SAMPLE_CHARS = 4000


def text_direction(text: str, declared: str = "") -> str:
    """``rtl`` when the page says so or most strong letters are right-to-left."""
    if declared.lower() in {"rtl", "ltr"}:
        return declared.lower()
    if not _RTL_CHAR.search(text):
        return "ltr"
    letters = [c for c in text[:SAMPLE_CHARS] if c.isalpha()]
    strong = [unicodedata.bidirectional(c) for c in letters]
    strong = [b for b in strong if b in _RTL_BIDI or b == "L"]
    if strong and sum(b in _RTL_BIDI for b in strong) / len(strong) > RTL_SHARE:
        return "rtl"
    return "ltr"


def declared_direction(page: HtmlElement) -> str:
    """``rtl``/``ltr`` as the page sets it on its root or body, in markup or CSS; else ``""``."""
    body = page.find("body")
    roots = [page] if body is None else [page, body]
    for element in roots:
        if (element.get("dir") or "").lower() in {"rtl", "ltr"}:
            return element.get("dir", "").lower()
    for element in roots:
        match = _CSS_DIRECTION.search(element.get("style") or "")
        if match:
            return match.group(1).lower()
    for style in page.iter("style"):
        css = style.text or ""
        for match in _CSS_DIRECTION.finditer(css) if "direction" in css else ():
            if _ROOT_SELECTOR.search(_selector_of(css, match.start())):
                return match.group(1).lower()
    return ""


def _selector_of(css: str, position: int) -> str:
    """The selector of the CSS rule whose block holds ``position`` ("" outside any block).

    Searching the few ``direction`` declarations and looking back from each is linear in
    the stylesheet; matching every rule with a pattern is not, on a framework's 200 KB.
    """
    opening = css.rfind("{", 0, position)
    if opening < 0 or css.rfind("}", 0, position) > opening:
        return ""
    return css[css.rfind("}", 0, opening) + 1 : opening]


def mark_rtl_blocks(body: HtmlElement) -> None:
    """Give ``dir="rtl"`` to blocks whose own text is mostly right-to-left; a body with no
    right-to-left letter at all (most) is searched once, not block by block."""
    if not _RTL_CHAR.search(body.text_content()):
        return
    for block in body.iter(*_BLOCKS):
        if block.get("dir"):
            continue
        text = block.text_content()
        if _RTL_CHAR.search(text) and text_direction(text) == "rtl":
            block.set("dir", "rtl")


def guess_language(text: str) -> str:
    """``ja``, ``ko`` or ``zh`` when that script fills the text; ``""`` otherwise.

    Only scripts that name one language are guessed: Arabic letters may be Arabic, Persian
    or Uyghur, and Latin ones anything, so those stay unlabelled rather than mislabelled.
    """
    letters = [c for c in text[:SAMPLE_CHARS] if c.isalpha()]
    if not letters:
        return ""
    sample = "".join(letters)
    for lang, script in _SCRIPTS:
        if len(script.findall(sample)) / len(sample) > SCRIPT_SHARE:
            return lang
    return ""
