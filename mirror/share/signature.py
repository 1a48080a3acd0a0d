"""Downloads anyone can verify: every file carries its article's canonical form, signed.

A copy that travels hand to hand (a chat attachment, a USB stick, a re-post) can be forged: a
sentence changed, a date moved, words put in a reporter's mouth, and passed on as "what the
mirror saved". Every single-file HTML and EPUB the mirror makes is therefore signed with the
mirror's manifest key (Ed25519, ``manifest.key`` in the data dir, whose public half is
published in ``/.well-known/mirrors.json``), so that ``mirror verify FILE --public-key=KEY``
tells a reader who got the file from a friend whether it came from this mirror unchanged.

What is signed is the stored version's canonical form, as canonical JSON
(``keys.canonical_json``)::

    {"body_sha256": "<hex>", "format": "html" | "epub", "public_key": "<base64url>",
     "published": "<the article's date>", "saved_at": "2026-12-02T16:00:00Z",
     "source": "origin" | "removed" | "archive" | "publisher" | "contributor",
     "title": "...", "url": "...", "version": 1}

``saved_at`` is when the copy was saved (``StoredPage.fetched_at``) and ``source`` its standing
(``StoredPage.provenance``). The *body* is the article as the file carries it, every byte:
for HTML, the whole file but the signature element; for an EPUB, every entry but the
signature, each by name and SHA-256. Changing a word, the title shown, the stylesheet or an
inlined picture all fail the check.

The signature is made when the download is made, not when the version is stored, because
the file's body is not the stored body: images are inlined (``data:`` URIs, EPUB entries) and
links point at this mirror's address, and a verifier can only hash what the file holds.
Ed25519 signatures are deterministic (RFC 8032), so one stored version downloaded the same way
twice is signed identically, just as if the signature had been made once when it was stored;
and the store keeps no signatures that would have to follow a change of key.

Where the signature sits:

- HTML: the last element of ``<body>`` is ``<template id="mirror-signature">…</template>``
  (inert: browsers never show or run it) holding the signed document in base64url;
- EPUB: ``META-INF/mirror-signature.json``, the signed document itself.

The signed document is canonical JSON ``{"signature": "<base64url>", "signed": {...}}``,
checked byte for byte like the manifest, so no byte of it can change either.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from io import BytesIO
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror.article import StoredPage
from mirror.errors import MirrorError
from mirror.keys import (
    b64encode,
    canonical_json,
    parse_public_key,
    public_key_text,
    read_canonical_json,
    strict_b64decode,
)

VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EPUB_ENTRY = "META-INF/mirror-signature.json"
HTML_TAIL = b"</body>\n</html>"
HTML_ELEMENT = re.compile(
    rb'<template id="mirror-signature">([A-Za-z0-9_-]*)</template>\n(?=</body>\n</html>\Z)'
)
ZIP_MAGIC = b"PK\x03\x04"
HASH_CHUNK = 1 << 16
MAX_DOCUMENT_BYTES = 1 << 16  # a signed document is a few hundred bytes; a title, a URL at most

Format = Literal["html", "epub"]


class SignatureInvalid(MirrorError):
    """A file that is unsigned, malformed, changed after signing, or signed by another key."""

    title = "Invalid signature"


@dataclass(frozen=True)
class Signed:
    """The canonical form of one stored version, as one file of it carries it."""

    version: int
    format: str
    url: str
    title: str
    published: str
    saved_at: str
    source: str
    body_sha256: str
    public_key: str

    @classmethod
    def of(
        cls, stored: StoredPage, form: Format, body_sha256: str, key: Ed25519PrivateKey
    ) -> Signed:
        saved = datetime.datetime.fromtimestamp(int(stored.fetched_at), datetime.UTC)
        return cls(
            version=VERSION,
            format=form,
            url=stored.article.url,
            title=stored.article.title,
            published=stored.article.published,
            saved_at=saved.strftime(TIME_FORMAT),
            source=stored.provenance,
            body_sha256=body_sha256,
            public_key=public_key_text(key),
        )

    @classmethod
    def from_dict(cls, raw: Any) -> Signed:
        """The fields of a signed document, exactly: none missing, none added, right types."""
        names = {field.name for field in fields(cls)}
        if not isinstance(raw, dict) or set(raw) != names:
            raise SignatureInvalid("the signed fields are not the mirror's")
        if raw["version"] != VERSION or not all(
            isinstance(raw[name], str) for name in names - {"version"}
        ):
            raise SignatureInvalid("unknown version or malformed signed fields")
        return cls(**raw)


@dataclass(frozen=True)
class Verified:
    """A file that passed: what it says, and whether the key came from the file itself."""

    signed: Signed
    key_from_file: bool


def sign_html(page: str, stored: StoredPage, key: Ed25519PrivateKey) -> bytes:
    """``page`` (ending ``</body></html>``) with the signature element before its end."""
    data = page.encode("utf-8")
    if not data.endswith(HTML_TAIL):
        raise ValueError("a signed page must end with </body></html>, as download.html does")
    signed = Signed.of(stored, "html", hashlib.sha256(data).hexdigest(), key)
    element = f'<template id="mirror-signature">{b64encode(_document(signed, key))}</template>\n'
    return data[: -len(HTML_TAIL)] + element.encode("ascii") + HTML_TAIL


def sign_epub(
    entries: list[tuple[str, bytes]], stored: StoredPage, key: Ed25519PrivateKey
) -> tuple[str, bytes]:
    """The signature entry for an EPUB of ``entries`` (name, content; in archive order)."""
    digest = _entries_digest((name, [data]) for name, data in entries)
    return EPUB_ENTRY, _document(Signed.of(stored, "epub", digest, key), key)


def verify(data: bytes, trusted: Ed25519PublicKey | None) -> Verified:
    """What the file ``data`` (HTML or EPUB) says, if its article is unchanged since a signing
    by ``trusted``; with no trusted key, by the key the file names (which proves only that
    the file is whole, not who made it)."""
    if data.startswith(ZIP_MAGIC):
        document, digest, form = _epub_parts(data)
    else:
        document, digest, form = _html_parts(data)
    return _check(document, digest, form, trusted)


def _document(signed: Signed, key: Ed25519PrivateKey) -> bytes:
    body = asdict(signed)
    return canonical_json({"signed": body, "signature": b64encode(key.sign(canonical_json(body)))})


def _html_parts(data: bytes) -> tuple[bytes, str, Format]:
    found = HTML_ELEMENT.search(data)
    if found is None:
        raise SignatureInvalid("no mirror signature at the end of the file")
    try:
        document = strict_b64decode(found.group(1).decode("ascii"))
    except ValueError as exc:
        raise SignatureInvalid("the signature element is malformed") from exc
    unsigned = data[: found.start()] + data[found.end() :]
    return document, hashlib.sha256(unsigned).hexdigest(), "html"


def _epub_parts(data: bytes) -> tuple[bytes, str, Format]:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            infos = archive.infolist()
            signatures = [info for info in infos if info.filename == EPUB_ENTRY]
            if len(signatures) != 1:
                raise SignatureInvalid("the book has no single mirror signature")
            with archive.open(signatures[0]) as entry:
                document = entry.read(MAX_DOCUMENT_BYTES + 1)
            if len(document) > MAX_DOCUMENT_BYTES:
                raise SignatureInvalid("the signature entry is too large to be the mirror's")
            others = [info for info in infos if info.filename != EPUB_ENTRY]
            digest = _entries_digest((info.filename, _chunks(archive, info)) for info in others)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise SignatureInvalid(f"the book is damaged: {type(exc).__name__}") from exc
    return document, digest, "epub"


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterable[bytes]:
    """An entry's content in pieces (checked against its CRC at the end), so a hostile book
    that inflates to gigabytes costs time, never memory."""
    with archive.open(info) as entry:
        while chunk := entry.read(HASH_CHUNK):
            yield chunk


def _entries_digest(entries: Iterable[tuple[str, Iterable[bytes]]]) -> str:
    """SHA-256 of the canonical list of ``[name, SHA-256 of content]``, in archive order."""
    listing = []
    for name, chunks in entries:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        listing.append([name, digest.hexdigest()])
    return hashlib.sha256(canonical_json(listing)).hexdigest()


def _check(
    document: bytes, body_sha256: str, form: Format, trusted: Ed25519PublicKey | None
) -> Verified:
    try:
        parsed = read_canonical_json(document)
    except ValueError as exc:
        raise SignatureInvalid(f"the signature document is {exc}") from exc
    if set(parsed) != {"signed", "signature"} or not isinstance(parsed["signature"], str):
        raise SignatureInvalid("the signature document is malformed")
    signed = Signed.from_dict(parsed["signed"])
    if signed.format != form:
        raise SignatureInvalid(f"signed as {signed.format}, found in an {form} file")
    key = trusted if trusted is not None else _named_key(signed.public_key)
    if not hmac.compare_digest(signed.public_key, public_key_text(key)):
        raise SignatureInvalid("signed by another key than the trusted one")
    try:
        key.verify(strict_b64decode(parsed["signature"]), canonical_json(parsed["signed"]))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureInvalid("the signature does not match its fields") from exc
    if not hmac.compare_digest(signed.body_sha256, body_sha256):
        raise SignatureInvalid("the article was changed after the mirror signed it")
    return Verified(signed, key_from_file=trusted is None)


def _named_key(text: str) -> Ed25519PublicKey:
    try:
        return parse_public_key(text)
    except ValueError as exc:
        raise SignatureInvalid("the key the file names is not an Ed25519 key") from exc
