from __future__ import annotations

import secrets

import lxml.html

from mirror.keys import KeyRing
from mirror.links import Kind, LinkBuilder
from mirror.transform.rewrite import rewrite_body

SITE = "https://chinadigitaltimes.net/"


def links() -> LinkBuilder:
    return LinkBuilder(KeyRing.of([secrets.token_bytes(64)]))


def on_site(url: str) -> bool:
    return url.startswith(SITE)


def test_links_and_images_become_mirror_paths() -> None:
    builder = links()
    body = (
        f'<p><a href="{SITE}a/">in</a> <a href="https://www.reuters.com/x">out</a> '
        '<a href="#n">frag</a> <a href="mailto:a@example.org">mail</a></p>'
        f'<img src="{SITE}i.jpg" srcset="{SITE}i.jpg 1024w, {SITE}s.jpg 300w">'
        f'<picture><source srcset="{SITE}w.webp 1x"><img src="{SITE}p.jpg"></picture>'
    )
    tree = lxml.html.fragment_fromstring(rewrite_body(body, builder, on_site), create_parent="div")
    anchors = list(tree.iter("a"))
    assert anchors[0].get("href") == builder.path(f"{SITE}a/", Kind.PAGE)
    assert anchors[1].get("href") == "https://www.reuters.com/x"
    assert anchors[1].get("rel") == "noopener noreferrer"
    assert anchors[1].get("class") == "external"
    assert anchors[2].get("href") == "#n"
    assert anchors[3].get("href") == "mailto:a@example.org"
    images = list(tree.iter("img"))
    assert images[0].get("src") == builder.path(f"{SITE}i.jpg", Kind.IMAGE)
    assert images[0].get("srcset") == (
        f"{builder.path(f'{SITE}i.jpg', Kind.IMAGE)} 1024w, "
        f"{builder.path(f'{SITE}s.jpg', Kind.IMAGE)} 300w"
    )
    assert images[0].get("loading") == "lazy"
    source = next(tree.iter("source"))
    assert source.get("srcset") == f"{builder.path(f'{SITE}w.webp', Kind.IMAGE)} 1x"


def test_text_is_untouched_and_empty_body_is_empty() -> None:
    body = "lead text <p>para <a href='https://x.example/'>Source</a></p> tail"
    out = rewrite_body(body, links(), on_site)
    assert lxml.html.fragment_fromstring(out, create_parent="div").text_content() == (
        "lead text para Source tail"
    )
    assert rewrite_body("  ", links(), on_site) == ""


def test_poster_and_inline_images() -> None:
    builder = links()
    png = "data:image/png;base64,iVBORw0KGgo="
    body = f'<video poster="{SITE}p.jpg"></video><img src="{png}"><img src="ftp://x/y.png">'
    tree = lxml.html.fragment_fromstring(rewrite_body(body, builder, on_site), create_parent="div")
    video = next(tree.iter("video"))
    assert video.get("poster") == builder.path(f"{SITE}p.jpg", Kind.IMAGE)
    images = list(tree.iter("img"))
    assert images[0].get("src") == png
    assert images[1].get("src") is None
