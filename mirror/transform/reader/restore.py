"""Put back markup that the boilerplate heuristics flatten: ruby, code, image sizes, formulas.

trafilatura keeps a ruby's base text but drops the ``<rt>`` reading, so a Japanese or
Chinese reader loses the pronunciation the author gave; it also nests ``<pre>`` inside
``<pre>`` for ``<pre><code>``; and it drops images' ``width``/``height``. These run on the
extracted body, with the page as reference.

Formulas are the exception, handled before extraction: MathJax's TeX sits in ``<script
type="math/tex">``, which every extractor drops, and the sanitiser drops MathML whole (its
namespace tricks are an XSS vector), so a sentence would lose its formula. Each becomes its
TeX as plain text, between ``\\( \\)`` (or ``\\[ \\]`` for a displayed one), which
readers of mathematics read and MathJax or KaTeX can typeset again.
"""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

_READING = ("rt", "rp")
_TEX = "application/x-tex"
MATH_SCRIPT_TYPE = "math/tex"
# How MathML's layout elements read in TeX, and how many children each takes.
_LAYOUT = {
    "msup": ("{0}^{{{1}}}", 2),
    "msub": ("{0}_{{{1}}}", 2),
    "msubsup": ("{0}_{{{1}}}^{{{2}}}", 3),
    "mfrac": ("\\frac{{{0}}}{{{1}}}", 2),
    "mroot": ("\\sqrt[{1}]{{{0}}}", 2),
    "mover": ("\\overset{{{1}}}{{{0}}}", 2),
    "munder": ("\\underset{{{1}}}{{{0}}}", 2),
}


def restore_ruby(page: HtmlElement, body: HtmlElement) -> int:
    """Re-wrap each of the page's ruby bases, in order, where the body kept it bare."""
    if body.find(".//ruby") is not None:
        return 0
    restored = 0
    for ruby in page.iter("ruby"):
        base = "".join(_base_text(ruby)).strip()
        if base and _wrap_first(body, base, ruby):
            restored += 1
    return restored


def untangle_code(body: HtmlElement) -> None:
    """``<pre><pre>x</pre></pre>`` (trafilatura's ``<pre><code>``) becomes ``<pre><code>``."""
    for inner in list(body.iter("pre")):
        parent = inner.getparent()
        if parent is not None and parent.tag == "pre":
            inner.tag = "code"


def restore_image_sizes(page: HtmlElement, body: HtmlElement) -> int:
    """Give kept images the width and height the page declared, which extraction drops.

    With both attributes the browser reserves an image's box before it loads (the
    stylesheet scales it to the column), so the text a reader has started does not jump.
    """
    sizes: dict[str, tuple[str, str]] = {}
    for img in page.iter("img"):
        src, width, height = img.get("src"), img.get("width", ""), img.get("height", "")
        if src and width.isdigit() and height.isdigit():
            sizes.setdefault(src, (width, height))
    restored = 0
    for img in body.iter("img"):
        size = sizes.get(img.get("src") or "")
        if size is not None and img.get("width") is None and img.get("height") is None:
            img.set("width", size[0])
            img.set("height", size[1])
            restored += 1
    return restored


def _base_text(ruby: HtmlElement) -> list[str]:
    parts = [ruby.text or ""]
    for child in ruby:
        if child.tag not in _READING:
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return parts


def _wrap_first(body: HtmlElement, base: str, ruby: HtmlElement) -> bool:
    for node in body.xpath(".//text()[not(ancestor::ruby)]"):
        index = str(node).find(base)
        if index < 0:
            continue
        markup = lxml.html.tostring(ruby, encoding="unicode", with_tail=False)
        copy = lxml.html.fragment_fromstring(markup)
        copy.tail = str(node)[index + len(base) :]
        before = str(node)[:index]
        owner = node.getparent()
        if node.is_text:
            owner.text = before
            owner.insert(0, copy)
        else:
            owner.tail = before
            owner.addnext(copy)
        return True
    return False


def has_formulas(page: HtmlElement) -> bool:
    """Whether the page holds MathML or MathJax's TeX scripts (lxml looks in C)."""
    if page.find(".//math") is not None:
        return True
    return any(MATH_SCRIPT_TYPE in (s.get("type") or "") for s in page.iter("script"))


def formulas_as_text(page: HtmlElement) -> int:
    """Replace each formula (MathML, or MathJax's TeX script) with its TeX as text."""
    replaced = 0
    for script in list(page.iter("script")):
        kind = script.get("type") or ""
        if kind.startswith(MATH_SCRIPT_TYPE):
            _as_text(script, script.text or "", "mode=display" in kind)
            replaced += 1
    for formula in list(page.iter("math")):
        if formula.getparent() is None or any(a.tag == "math" for a in formula.iterancestors()):
            continue
        tex = formula.get("alttext") or _annotation(formula) or _linear(formula)
        _as_text(formula, tex, formula.get("display") == "block")
        replaced += 1
    _unwrap_rendered(page)
    return replaced


def _unwrap_rendered(page: HtmlElement) -> None:
    """Replace each formula MathJax 3 rendered (``<mjx-container>``: glyphs drawn by CSS,
    which hold no text, and the MathML kept for screen readers, now TeX) with its TeX.

    Extractors drop the unknown elements around the formula, and the text with them.
    """
    for container in list(page.iter("mjx-container")):
        parent, tex = container.getparent(), " ".join(container.text_content().split())
        if parent is None or not tex:
            continue
        span = lxml.html.Element("span")
        span.text, span.tail = tex, container.tail
        parent.replace(container, span)


def _annotation(formula: HtmlElement) -> str:
    for note in formula.iter("annotation"):
        if note.get("encoding") == _TEX:
            return (note.text or "").strip()
    return ""


def _linear(element: HtmlElement) -> str:
    """Presentation MathML read as TeX: tokens as written, layouts as ``_LAYOUT`` says."""
    tag = element.tag
    if tag in ("annotation", "annotation-xml"):
        return ""
    parts = [_linear(child) for child in element if isinstance(child.tag, str)]
    if tag == "semantics":
        return parts[0] if parts else ""
    if tag == "msqrt":
        return "\\sqrt{" + "".join(parts) + "}"
    layout, arity = _LAYOUT.get(str(tag), ("", 0))
    if layout and len(parts) == arity:
        return layout.format(*parts)
    return (element.text or "").strip() + "".join(parts)


def _as_text(element: HtmlElement, tex: str, display: bool) -> None:
    opening, closing = ("\\[", "\\]") if display else ("\\(", "\\)")
    span = lxml.html.Element("span")
    span.text = f"{opening}{' '.join(tex.split())}{closing}"
    span.tail = element.tail
    parent = element.getparent()
    if parent is not None:
        parent.replace(element, span)
