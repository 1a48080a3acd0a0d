from __future__ import annotations

import lxml.html

from mirror.transform.reader.params import TIDY_STEPS
from mirror.transform.reader.tidy import STEPS, drop_title_heading, normal, tidy

STORY = "A long paragraph of the story that goes on and on about what happened. " * 5


def _body(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def _text(body: lxml.html.HtmlElement) -> str:
    return normal(body.text_content())


def test_link_only_lists_go_and_lists_with_text_stay() -> None:
    links = "".join(f"<li><a href='/{i}'>Other story {i}</a></li>" for i in range(4))
    short = "<ul><li><a href='/a'>One</a></li><li><a href='/b'>Two</a></li></ul>"
    steps = "<ul><li>Mix <a href='/flour'>flour</a> and water</li><li>Bake</li><li>Eat</li></ul>"
    body = _body(f"<p>{STORY}</p><ul>{links}</ul>{short}{steps}<p>{STORY}</p>")
    assert tidy(body) == 1
    text = _text(body)
    assert "Other story" not in text
    assert "One" in text
    assert "Mix flour and water" in text


def test_repeated_captions_go_and_repeated_prose_stays() -> None:
    caption = "The minister, left, shakes hands with the visitor in the capital on Monday."
    line = "Portion Fix Containers: 1 Green, 1 Red, 1 Yellow, 1 teaspoon of oil."
    body = _body(
        f"<img src='a.jpg'><p>{caption}</p><p>{STORY}</p><figure><img src='b.jpg'>"
        f"<figcaption>{caption}</figcaption></figure><p>{line}</p><p>{STORY}</p><p>{line}</p>"
    )
    assert tidy(body) == 1
    assert _text(body).count(caption) == 1
    assert _text(body).count(line) == 2


def test_calls_to_action_go_only_after_the_story() -> None:
    body = _body(
        "<p>Subscribe to the newsletter, said the headline of the protest sign.</p>"
        f"<p>{STORY}</p><p>Follow us on Twitter</p><p>Reporting by A. Writer</p>"
        "<p><a href='/x'>Another story</a></p><p>Copyright 2019 Example. All rights reserved.</p>"
    )
    assert tidy(body) == 3
    text = _text(body)
    assert text.startswith("Subscribe to the newsletter, said")
    assert text.endswith("Reporting by A. Writer")


def test_plain_text_urls_go_and_linked_ones_stay() -> None:
    body = _body(
        "<p>https://example.com/print/story-1</p>"
        "<p><a href='https://example.com/report.pdf'>https://example.com/report.pdf</a></p>"
        f"<p>{STORY}</p>"
    )
    assert tidy(body) == 1
    assert "print/story-1" not in _text(body)
    assert "report.pdf" in _text(body)


def test_a_headline_in_other_words_goes_and_section_headings_stay() -> None:
    body = _body(
        "<h1>High School Roundup: Viera defeats Rockledge to remain undefeated</h1><p>x</p>"
        "<h1>Roundup</h1><h1>What the coaches said about Viera</h1>"
        "<h2>Viera defeats Rockledge to remain undefeated</h2>"
    )
    drop_title_heading(body, "HS Roundup: Viera defeats Rockledge to remain undefeated")
    assert [h.text_content() for h in body.iter("h1", "h2")] == [
        "Roundup",
        "What the coaches said about Viera",
    ]


def test_headings_that_repeat_the_title_go() -> None:
    body = _body("<h1>Rain in Spain</h1><p>x</p><h2>Rain</h2><h2>What comes next</h2>")
    drop_title_heading(body, "Rain in Spain - Times")
    assert [h.text_content() for h in body.iter("h1", "h2")] == ["Rain", "What comes next"]


def test_loose_urls_go_and_urls_in_sentences_stay() -> None:
    body = _body(
        "<img src='logo.png'>\n  https://example.com/news/story-1.php\n"
        f"<p>{STORY}</p><p>The report is at <b>the site</b> https://example.com/r.pdf</p>"
    )
    assert tidy(body) == 1
    text = _text(body)
    assert "story-1.php" not in text
    assert "https://example.com/r.pdf" in text


def test_toggles_that_lead_nowhere_go_with_the_truncated_caption() -> None:
    caption = "The minister, left, shakes hands with the visitor in the capital on Monday."
    shown = caption[:50]
    body = _body(
        f"<ul><li><img src='a.jpg'>{caption}<a href=''> less</a>{shown}<a href=''> ... more</a>"
        f" Photo: A. Photographer</li></ul><p><a href='#'>less</a></p>"
        f"<p>{STORY} Read <a href='/more'>more</a> or <a href=''>the filing</a>.</p>"
    )
    assert tidy(body) == 3
    text = _text(body)
    assert text.count(shown) == 1
    assert caption in text and "Photo: A. Photographer" in text
    assert "less" not in text
    assert text.endswith("Read more or the filing.")
    assert not [p for p in body.iter("p") if not p.text_content().strip()]


def test_teaser_lists_go_after_the_story_and_roundups_stay() -> None:
    teasers = "".join(
        f"<li><a href='/{i}'>Other story {i}</a><h4>What happened in story {i}</h4></li>"
        for i in range(3)
    )
    pair = "".join(
        f"<li><a href='/p{i}'>Pair story {i}</a><h4>What it says</h4></li>" for i in (1, 2)
    )
    body = _body(f"<p>{STORY}</p><ul>{teasers}</ul><ul>{pair}</ul>")
    assert tidy(body) == 5
    assert "Other story" not in _text(body)
    assert "Pair story" not in _text(body)

    items = "".join(
        f"<li><strong><a href='/{i}'>Headline {i}</a>.</strong> {STORY}</li>" for i in range(3)
    )
    short = "".join(f"<li><a href='/s{i}'>Short news {i}</a> and a line.</li>" for i in range(3))
    roundup = _body(f"<p>Good morning!</p><ul>{items}{short}</ul>")
    assert tidy(roundup) == 0
    assert "Short news 2" in _text(roundup)

    alone = _body(f"<p>Good morning!</p><ul>{short}</ul>")
    assert tidy(alone) == 0


def test_copies_of_a_caption_go_and_a_doubled_caption_is_written_once() -> None:
    caption = "A long row of unsold sports-utility vehicles sits at a dealership in Colorado."
    body = _body(
        f"<ul><li><img src='a.jpg'><p>{caption}</p></li></ul><p>{caption}</p>"
        f"<ul><li><img src='b.jpg'>\n {caption}{caption}Photo: A. Photographer</li></ul>"
        f"<p>{STORY}</p>"
    )
    assert tidy(body) == 2
    text = _text(body)
    assert text.count(caption) == 2
    assert f"{caption}Photo: A. Photographer" in text
    assert text.endswith(normal(STORY))


def test_only_the_named_steps_run() -> None:
    links = "".join(f"<li><a href='/{i}'>Other story {i}</a></li>" for i in range(4))
    body = _body(f"<p>{STORY}</p><ul>{links}</ul><p>{STORY}</p>")
    assert tidy(body, {"repeats", "tail_calls"}) == 0
    assert "Other story 3" in _text(body)
    assert tidy(body, {"link_lists"}) == 1
    assert "Other story" not in _text(body)


def test_the_parameters_name_every_tidying_step_in_order() -> None:
    assert tuple(STEPS) == TIDY_STEPS


def test_link_columns_of_a_one_row_layout_table_go_and_data_rows_stay() -> None:
    menu = "<td>" + "<br>".join(f"<a href='/{i}'>Section {i}</a>" for i in range(5)) + "</td>"
    layout = _body(f"<table><tr>{menu}<td>{STORY}</td>{menu}</tr></table>")
    assert tidy(layout, {"layout_columns"}) == 2
    assert _text(layout) == normal(STORY)
    data = _body(f"<table><tr>{menu}<td>Short note</td></tr></table>")
    assert tidy(data, {"layout_columns"}) == 0
    rows = _body(f"<table><tr>{menu}<td>{STORY}</td></tr><tr><td>a</td><td>b</td></tr></table>")
    assert tidy(rows, {"layout_columns"}) == 0
