from __future__ import annotations

import codecs

import pytest

from mirror.fetch.decode import codec_for_label, decode_html, sniff_encoding
from tests.support.paths import CDT

UYGHUR = "بىز ئۆز تىلىمىزدا ئوقۇشنى خالايمىز"


def test_gb18030_fixture_declared_gb2312_in_meta_only() -> None:
    body = (CDT / "article-zh-gb18030.html").read_bytes()
    assert sniff_encoding(body, None) == "gb18030"
    text = decode_html(body, None)
    assert "新疆" in text
    assert UYGHUR in text
    assert "\ufffd" not in text


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("big5", "big5hkscs"),
        ("iso-8859-1", "cp1252"),
        ("ascii", "cp1252"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("shift_jis", "cp932"),
        ("utf-7", None),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_labels_map_as_whatwg_says(label: str | None, codec: str | None) -> None:
    assert codec_for_label(label) == codec


def test_bom_beats_header_and_meta() -> None:
    body = codecs.BOM_UTF8 + '<meta charset="gbk"><p>é</p>'.encode()
    assert sniff_encoding(body, "iso-8859-1") == "utf-8"
    assert decode_html(body, "iso-8859-1") == '<meta charset="gbk"><p>é</p>'


def test_header_beats_meta() -> None:
    body = '<meta charset="utf-8"><p>é</p>'.encode("cp1252")
    assert decode_html(body, "windows-1252").endswith("é</p>")


def test_meta_http_equiv_is_found() -> None:
    body = '<meta http-equiv="Content-Type" content="text/html; charset=big5"><p>臺灣</p>'
    assert decode_html(body.encode("big5"), None).endswith("臺灣</p>")


def test_meta_after_1024_bytes_is_ignored() -> None:
    body = b"<!--" + b" " * 1100 + b'--><meta charset="gbk">' + "中文".encode()
    assert sniff_encoding(body, None) == "utf-8"


def test_undeclared_legacy_chinese_is_detected() -> None:
    text = "<p>" + "中国数字时代报道新疆的再教育营。" * 20 + "</p>"
    assert "新疆" in decode_html(text.encode("gb18030"), None)


def test_utf7_header_is_not_honoured() -> None:
    assert sniff_encoding(b"<p>+ADw-script+AD4-</p>", "utf-7") == "utf-8"


def test_meta_inside_a_comment_is_ignored() -> None:
    body = '<!-- <meta charset="big5"> --><meta charset="gbk"><p>中文</p>'.encode("gbk")
    assert sniff_encoding(body, None) == "gb18030"
    assert sniff_encoding(b'<!-- <meta charset="big5">', None) == "utf-8"


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("gb2312", "维吾尔族 €"),
        ("big5", "臺灣 香港"),
        ("iso-8859-1", "café “quoted”"),
        ("ascii", "naïve \u2013 dash"),
        ("shift_jis", "日本語"),
        ("euc-kr", "한국어"),
        ("koi8-r", "Свобода"),
    ],
)
def test_header_only_charsets_decode_as_browsers_do(label: str, text: str) -> None:
    codec = codec_for_label(label)
    assert codec is not None
    assert decode_html(f"<p>{text}</p>".encode(codec), label) == f"<p>{text}</p>"


RUSSIAN = "<html><body><p>Свобода слова</p></body></html>"


def declared(encoding: str, rest: str = RUSSIAN) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?>\n{rest}'


def test_the_xml_declaration_names_the_encoding_when_nothing_else_does() -> None:
    body = declared("windows-1251").encode("cp1251")
    assert sniff_encoding(body, None) == "cp1251"
    assert "Свобода слова" in decode_html(body, None)


def test_a_bom_before_the_xml_declaration_wins() -> None:
    body = codecs.BOM_UTF8 + declared("windows-1251").encode()
    assert sniff_encoding(body, None) == "utf-8"
    assert decode_html(body, None).startswith("<?xml")


@pytest.mark.parametrize(
    ("header", "meta"),
    [("koi8-r", ""), (None, '<meta charset="koi8-r">')],
    ids=["http-header", "meta"],
)
def test_the_header_and_meta_beat_a_disagreeing_xml_declaration(
    header: str | None, meta: str
) -> None:
    body = declared("windows-1251", meta + RUSSIAN).encode("koi8-r")
    assert sniff_encoding(body, header) == codec_for_label("koi8-r")
    assert "Свобода слова" in decode_html(body, header)


def test_an_xml_stylesheet_after_the_declaration_leaves_its_encoding() -> None:
    rest = '<?xml-stylesheet type="text/css" href="/style.css"?>\n' + RUSSIAN
    assert sniff_encoding(declared("windows-1251", rest).encode("cp1251"), None) == "cp1251"


def test_an_xml_stylesheet_alone_declares_no_encoding() -> None:
    body = ('<?xml-stylesheet type="text/xsl" href="/a.xsl"?>\n' + RUSSIAN).encode("cp1251")
    assert sniff_encoding(body, None) != "utf-8"  # detected, not declared
    assert "Свобода слова" in decode_html(body, None)


@pytest.mark.parametrize(
    "start",
    [
        ' <?xml version="1.0" encoding="windows-1251"?>',  # not at byte 0
        '<?xml version="1.0" encoding="windows 1251"?>',  # white space in the label
        '<?xml version="1.0" encoding= windows-1251?>',  # no quotes
        '<?xml version="1.0"?><p encoding="windows-1251">',  # past the declaration
    ],
)
def test_an_xml_encoding_is_only_read_where_browsers_read_it(start: str) -> None:
    assert sniff_encoding((start + "<p>plain ascii</p>").encode(), None) == "utf-8"


def test_an_xml_declaration_in_utf16_without_a_bom_is_utf16() -> None:
    page = declared("utf-16")
    assert sniff_encoding(page.encode("utf-16-le"), None) == "utf-16-le"
    assert sniff_encoding(page.encode("utf-16-be"), None) == "utf-16-be"
    assert "Свобода слова" in decode_html(page.encode("utf-16-le"), None)


def test_an_xml_declaration_naming_utf16_in_ascii_bytes_is_utf8() -> None:
    assert sniff_encoding(declared("utf-16").encode(), None) == "utf-8"


def test_a_utf8_declaration_the_bytes_refute_yields_to_detection() -> None:
    text = (
        '<meta charset="utf-8"><p>'
        + "县教育局宣布为三所山区小学开通两条新的校车线路。" * 20
        + "</p>"
    )
    assert "校车线路" in decode_html(text.encode("gbk"), None)
    assert "校车线路" in decode_html(text.encode("gbk"), "utf-8")
    assert decode_html(text.encode("utf-8"), None) == text


def test_a_default_latin1_header_yields_to_a_multibyte_meta_the_bytes_fit() -> None:
    body = '<meta charset="big5"><p>賣麵茶賣了整整五十年</p>'
    assert decode_html(body.encode("big5"), "iso-8859-1") == body
    latin = '<meta charset="big5"><p>café</p>'
    assert decode_html(latin.encode("cp1252"), "iso-8859-1") == latin
