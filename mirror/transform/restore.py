"""Put back markup that the boilerplate heuristics flatten: ruby, code and image sizes.

trafilatura keeps a ruby's base text but drops the ``<rt>`` reading, so a Japanese or
Chinese reader loses the pronunciation the author gave; it also nests ``<pre>`` inside
``<pre>`` for ``<pre><code>``; and it drops images' ``width``/``height``. These run on the
extracted body, with the page as reference.
"""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

_READING = ("rt", "rp")


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
