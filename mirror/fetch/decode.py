"""Bytes to text the way a browser does it (WHATWG Encoding Standard order).

1. a byte order mark wins;
2. then the charset in the HTTP Content-Type header;
3. then the prescan of the first 1024 bytes: an XML declaration written in UTF-16, a
   ``<meta charset>`` / ``<meta http-equiv>``, else the ``encoding`` of an XML declaration
   at the very start (HTML's "get an XML encoding", which browsers run for ``text/html``
   too, so an XHTML page reads as they read it);
4. then statistical detection (charset-normalizer);
5. then windows-1252, the web's default.

Labels are mapped as the standard maps them, which differs from Python's codecs in ways
that matter for Chinese pages: ``gb2312`` and ``gbk`` decode as GB18030 (Python's
``gb2312`` codec fails on real pages), ``big5`` as Big5-HKSCS, and ``iso-8859-1`` and
``ascii`` as windows-1252. UTF-7 is refused, as browsers refuse it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

PRESCAN_BYTES = 1024

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)

# WHATWG label → Python codec, where Python's name or behaviour differs.
WHATWG_LABELS: dict[str, str] = {
    **dict.fromkeys(
        [
            "gb2312",
            "gbk",
            "x-gbk",
            "chinese",
            "csgb2312",
            "csiso58gb231280",
            "gb_2312",
            "gb_2312-80",
            "iso-ir-58",
            "gb18030",
        ],
        "gb18030",
    ),
    **dict.fromkeys(["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"], "big5hkscs"),
    **dict.fromkeys(
        [
            "iso-8859-1",
            "iso8859-1",
            "latin1",
            "l1",
            "ascii",
            "us-ascii",
            "windows-1252",
            "cp1252",
            "x-cp1252",
            "ansi_x3.4-1968",
            "cp819",
            "csisolatin1",
            "ibm819",
            "iso-ir-100",
            "iso_8859-1",
            "iso88591",
            "iso_8859-1:1987",
        ],
        "cp1252",
    ),
    **dict.fromkeys(["utf-16", "utf-16le"], "utf-16-le"),
    "utf-16be": "utf-16-be",
    **dict.fromkeys(["shift_jis", "sjis", "ms_kanji", "x-sjis", "windows-31j"], "cp932"),
    **dict.fromkeys(["euc-kr", "ks_c_5601-1987", "windows-949"], "cp949"),
    **dict.fromkeys(["iso-8859-9", "latin5"], "cp1254"),
    **dict.fromkeys(["tis-620", "iso-8859-11"], "cp874"),
}
# Encodings whose bytes are rarely all valid by chance, so that validity is evidence.
MULTI_BYTE = frozenset(("gb18030", "big5hkscs", "cp932", "cp949", "euc_jp"))
REFUSED_LABELS = frozenset({"utf-7", "unicode-1-1-utf-7", "csunicode11utf7", "x-user-defined"})

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE
)
# The prescan skips comments, as browsers do; an unclosed one hides the rest.
_COMMENT = re.compile(rb"<!--.*?(-->|$)", re.DOTALL)
# "Get an XML encoding": ``<?xml`` at byte 0 up to the first ``>`` (so ``<?xml-stylesheet``
# counts, as in browsers), its first ``encoding``, then ``=`` and a quoted label.
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*>")
_XML_ENCODING_VALUE = re.compile(rb"[\t\n\f\r ]*=[\t\n\f\r ]*([\"'])(.*?)\1", re.DOTALL)
# An XML declaration's first bytes in UTF-16 without a BOM: the prescan's first step.
UTF16_DECLARATIONS = ((b"<\0?\0x\0", "utf-16-le"), (b"\0<\0?\0x", "utf-16-be"))


def codec_for_label(label: str | None) -> str | None:
    """The Python codec for a WHATWG encoding label, or None if unknown or refused."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in REFUSED_LABELS:
        return None
    name = WHATWG_LABELS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_encoding(body: bytes, http_charset: str | None) -> str:
    """The codec a browser would pick for ``body``."""
    for bom, bom_codec in BOMS:
        if body.startswith(bom):
            return bom_codec
    header_codec = codec_for_label(http_charset)
    if header_codec is not None:
        return header_codec
    return _prescan(body[:PRESCAN_BYTES]) or _detect(body)


def decode_html(body: bytes, http_charset: str | None) -> str:
    """Decode ``body``; undecodable bytes become U+FFFD, as in a browser, unless the bytes
    refute the declared encoding (``reconsidered``)."""
    codec = reconsidered(body, sniff_encoding(body, http_charset), http_charset)
    text = body.decode(codec, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def _prescan(head: bytes) -> str | None:
    """The codec the prescan finds: a UTF-16 XML declaration, ``<meta>``, else the XML
    declaration's ``encoding`` (HTML's fallback encoding, so ``<meta>`` wins)."""
    for start, utf16 in UTF16_DECLARATIONS:
        if head.startswith(start):
            return utf16
    for label in (_prescan_meta(head), _xml_encoding(head)):
        codec = codec_for_label(label)
        if codec is not None:
            # A page declaring UTF-16 in bytes that are not UTF-16 is wrong by definition.
            return "utf-8" if codec.startswith("utf-16") else codec
    return None


def _xml_encoding(head: bytes) -> str | None:
    """The label in the ``encoding`` of an XML declaration at byte 0, as HTML's "get an XML
    encoding" reads it: the first ``encoding`` only, no label holding white space."""
    declaration = _XML_DECLARATION.match(head)
    if declaration is None:
        return None
    text = declaration.group()
    at = text.find(b"encoding")
    if at < 0:
        return None
    value = _XML_ENCODING_VALUE.match(text, at + len(b"encoding"))
    if value is None or any(byte <= 0x20 for byte in value.group(2)):
        return None
    return value.group(2).decode("ascii", "replace")


def _prescan_meta(head: bytes) -> str | None:
    match = _META_CHARSET.search(_COMMENT.sub(b"", head))
    return match.group(1).decode("ascii", "replace") if match else None


def _detect(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(body[: 64 * 1024]).best()
        codec = codec_for_label(best.encoding if best else None)
        return codec or "cp1252"
    return "utf-8"


def reconsidered(body: bytes, codec: str, http_charset: str | None) -> str:
    """``codec``, or what the page is in when its bytes show the declaration wrong.

    Two wrong declarations are common on legacy Chinese pages, and a browser shows them as
    mojibake: a template's ``utf-8`` on a page in GBK or Big5, which the bytes refute (they
    are not valid UTF-8): then detection decides; and a server's default ``ISO-8859-1``
    header on a page whose own ``<meta>`` names a multi-byte encoding that the bytes are
    valid in (rarely by chance): then the ``<meta>`` does.
    """
    if codec == "utf-8" and not _valid(body, codec):
        return _detect(body)
    if codec == "cp1252" and codec_for_label(http_charset) == codec:
        meta = codec_for_label(_prescan_meta(body[:PRESCAN_BYTES]))
        if meta in MULTI_BYTE and _valid(body, str(meta)):
            return str(meta)
    return codec


def _valid(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
