"""The page parsed as lxml accepts it and a browser reads it: no XML declaration, and no
character a later stage could not set in the tree."""

from __future__ import annotations

import lxml.html
import pytest

from mirror.transform.reader.parse import parse_page


@pytest.mark.parametrize(
    "start",
    [
        '<?xml version="1.0" encoding="utf-8"?>',
        '\ufeff<?xml version="1.0" encoding="gbk"?>',
        '<?xml version="1.0"?>\n<?xml-stylesheet type="text/css" href="/s.css"?>',
        # lxml refuses any str starting "<?xml" with an encoding=, not only a declaration
        '<?xml-stylesheet type="text/xsl" encoding="utf-8" href="/s.xsl"?>',
    ],
)
def test_a_page_with_an_xml_declaration_is_read(start: str) -> None:
    page = parse_page(start + "<html><body><p>Officials declined.</p></body></html>")
    assert page.findtext(".//p") == "Officials declined."


def test_every_character_lxml_refuses_is_gone_and_the_text_stays_settable() -> None:
    refused = "".join(map(chr, (*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)))
    page = parse_page(f"<p>a{refused}b</p>")
    text = page.findtext(".//p") or ""
    element = lxml.html.fragment_fromstring("<a></a>")
    element.set("title", text)  # raises ValueError for a character lxml refuses
    element.text = text
    assert text.startswith("a\ufffd") and text.endswith("b")


@pytest.mark.parametrize("blank", ["", "   ", " \x0c\n", "\x01\x02"])
def test_a_page_of_white_space_is_an_empty_page(blank: str) -> None:
    assert parse_page(blank).findtext(".//p") is None
