from __future__ import annotations

import lxml.html

from mirror.transform.reader.leftout import page_paragraphs, restore_left_out

STORY = "A paragraph of the story, long enough to be recognised again in the page."


def _html(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def _tags(body: lxml.html.HtmlElement) -> list[str]:
    return [str(e.tag) for e in body]


def test_pictures_and_list_headings_between_kept_paragraphs_come_back_in_place() -> None:
    slides = "".join(
        f"<div class='slide'><h2>Item {i}</h2><img src='/{i}.jpg'><p>{STORY} {i}</p></div>"
        for i in range(3)
    )
    page = _html(f"<div><h2>Before</h2><p>{STORY} intro</p>{slides}<h3>Related</h3></div>")
    body = _html("".join(f"<p>{STORY} {i}</p>" for i in ("intro", 0, 1, 2)))
    assert restore_left_out(page_paragraphs(page), body) == 6
    assert _tags(body) == ["p"] + ["h2", "img", "p"] * 3
    assert [h.text for h in body.iter("h2")] == ["Item 0", "Item 1", "Item 2"]
    assert "Before" not in body.text_content()
    assert "Related" not in body.text_content()


def test_a_subheading_outside_a_list_stays_out() -> None:
    page = _html(
        f"<div><p>{STORY} 1</p><h2>Subhead</h2><figure><img src='/a.jpg'>"
        f"<figcaption>Caption</figcaption></figure><p>{STORY} 2</p></div>"
    )
    body = _html(f"<p>{STORY} 1</p><p>{STORY} 2</p>")
    assert restore_left_out(page_paragraphs(page), body) == 1
    assert _tags(body) == ["p", "img", "p"]


def test_what_the_body_has_and_links_stay_out() -> None:
    page = _html(
        f"<div><p>{STORY} 1</p><img src='/a.jpg'><h2><a href='/x'>Another story</a></h2>"
        f"<img src='data:image/gif;base64,R0lGOD'><h2>Kept already</h2><p>{STORY} 2</p></div>"
    )
    body = _html(f"<p>{STORY} 1</p><img src='/a.jpg'><h2>Kept already</h2><p>{STORY} 2</p>")
    assert restore_left_out(page_paragraphs(page), body) == 0


def test_one_kept_paragraph_is_no_evidence() -> None:
    page = _html(f"<div><h2>Title</h2><p>{STORY}</p><h2>Other</h2></div>")
    body = _html(f"<p>{STORY}</p>")
    assert restore_left_out(page_paragraphs(page), body) == 0
