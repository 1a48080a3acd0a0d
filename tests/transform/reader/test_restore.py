from __future__ import annotations

import lxml.html

from mirror.transform.reader.restore import (
    formulas_as_text,
    has_formulas,
    restore_image_sizes,
    restore_ruby,
    untangle_code,
)


def _html(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def test_ruby_readings_are_put_back_in_order() -> None:
    page = _html(
        "<p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby>の本と"
        "<ruby>漢<rt>かん</rt>字<rt>じ</rt></ruby>の話</p>"
    )
    body = _html("<p>漢字の本と<b>漢字</b>の話</p>")
    assert restore_ruby(page, body) == 2
    rubies = list(body.iter("ruby"))
    assert [r.findtext("rt") for r in rubies] == ["かんじ", "かん"]
    assert body.text_content() == "漢字(かんじ)の本と漢かん字じの話"
    parent = rubies[1].getparent()
    assert parent is not None
    assert parent.tag == "b"


def test_ruby_in_tail_text_and_missing_bases() -> None:
    page = _html("<p><ruby>東京<rt>とうきょう</rt></ruby> <ruby>消えた<rt>きえた</rt></ruby></p>")
    body = _html("<p><i>今日の</i>東京は晴れ</p>")
    assert restore_ruby(page, body) == 1
    italic = body.find(".//i")
    assert italic is not None
    after = italic.getnext()
    assert after is not None
    assert after.tag == "ruby"
    assert body.text_content() == "今日の東京とうきょうは晴れ"


def test_body_that_kept_its_ruby_is_left_alone() -> None:
    page = _html("<p><ruby>漢字<rt>かんじ</rt></ruby></p>")
    body = _html("<p><ruby>漢字<rt>かんじ</rt></ruby>と漢字</p>")
    assert restore_ruby(page, body) == 0
    assert len(list(body.iter("ruby"))) == 1


def test_nested_pre_becomes_pre_code() -> None:
    body = _html("<pre><pre>x = 1</pre></pre><pre>plain</pre>")
    untangle_code(body)
    assert lxml.html.tostring(body, encoding="unicode") == (
        "<div><pre><code>x = 1</code></pre><pre>plain</pre></div>"
    )


def test_image_sizes_come_back_from_the_page() -> None:
    page = lxml.html.document_fromstring(
        '<body><img src="https://a.example/a.jpg" width="1024" height="576">'
        '<img src="https://a.example/b.jpg" width="100%" height="auto">'
        '<img src="https://a.example/c.jpg" width="40" height="30"></body>'
    )
    body = lxml.html.fragment_fromstring(
        '<div><img src="https://a.example/a.jpg"><img src="https://a.example/b.jpg">'
        '<img src="https://a.example/c.jpg" width="20"></div>'
    )
    assert restore_image_sizes(page, body) == 1
    a, b, c = body.iter("img")
    assert (a.get("width"), a.get("height")) == ("1024", "576")
    assert b.get("width") is None and b.get("height") is None
    assert (c.get("width"), c.get("height")) == ("20", None)


def test_formulas_become_their_tex_as_text() -> None:
    page = _html(
        '<p>Area <math alttext="A = \\pi r^2"><mi>A</mi></math>, then '
        '<math><semantics><mi>x</mi><annotation encoding="application/x-tex">x_1</annotation>'
        '</semantics></math> and <script type="math/tex; mode=display">e^{i\\pi}</script>'
        '<math display="block"><mfrac><mi>a</mi><msqrt><mn>2</mn></msqrt></mfrac></math>'
        "<math><msubsup><mi>y</mi><mi>i</mi><mn>2</mn></msubsup></math> end.</p>"
    )
    assert has_formulas(page)
    assert formulas_as_text(page) == 5
    assert not has_formulas(page)
    assert page.text_content() == (
        "Area \\(A = \\pi r^2\\), then \\(x_1\\) and \\[e^{i\\pi}\\]"
        "\\[\\frac{a}{\\sqrt{2}}\\]\\(y_{i}^{2}\\) end."
    )


def test_a_formula_mathjax_rendered_is_its_tex_without_the_drawn_glyphs() -> None:
    page = _html(
        '<p>When <mjx-container class="MathJax"><mjx-math aria-hidden="true"><mjx-mi>'
        '<mjx-c class="mjx-c1D44E"></mjx-c></mjx-mi></mjx-math><mjx-assistive-mml>'
        "<math><mi>a</mi><mo>≠</mo><mn>0</mn></math></mjx-assistive-mml></mjx-container>,"
        " two solutions.</p>"
    )
    assert formulas_as_text(page) == 1
    assert page.find(".//mjx-container") is None
    assert page.text_content() == "When \\(a≠0\\), two solutions."


def test_a_page_without_formulas_is_left_alone() -> None:
    page = _html("<p>No <script>var math = 1;</script> formulas here.</p>")
    assert not has_formulas(page)
    assert formulas_as_text(page) == 0
