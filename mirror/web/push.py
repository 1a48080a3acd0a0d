"""Copies sent to the mirror: publishers' signed pushes and contributors' captures.

- ``POST /api/push``: a site's publishing system sends an article (JSON, ``mirror.signedpush``)
  signed with an Ed25519 key listed in the site's ``push_keys``. Refused, with nothing stored:
  a key the site does not list (403), a wrong signature (401), a timestamp further than
  ``push.window_seconds`` from our clock (401), a nonce already seen in that window (401).
  Stored as a fresh copy with source ``publisher``.
- ``GET /contribute`` and ``POST /contribute``: a plain form (no script: the CSP forbids them)
  where a contributor uploads a page saved in their browser (a single-file HTML capture) for
  an address of a configured site; ``POST /api/capture`` takes the same fields and answers
  JSON. The contributor's key is checked against the SHA-256 hashes in ``[[contributors]]``
  (a ``revoked`` one is refused); the capture is stored with source ``contributor``, dated
  by the capture (never later than now), and never over a copy saved at or after that date.

Both go through ``Mirror.accept``: the same pipeline as an origin's page, so a pushed page is
stripped and sanitised like any other. Bodies are read here under ``push.max_bytes``, never
whole into memory first.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web

from mirror import counters
from mirror.errors import CopyRefused, MirrorError
from mirror.links import Kind
from mirror.render.html import render_page
from mirror.settings import Config
from mirror.signedpush import Push, PushInvalid, check_signature
from mirror.store.base import StoreUnavailable
from mirror.web.appkeys import AFTER_COPIES, CONFIG, DOWNLOADS, LINKS, MIRROR, RENDERED
from mirror.web.readers import base_url, html_page, reader_of

CHUNK_BYTES = 64 * 1024
FIELD_BYTES = 8192  # url, key, date: short text fields of the capture form
MAX_PARTS = 8
JSON_OVERHEAD = 2  # escaping can double the HTML's size inside a JSON string
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,86}")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)

NO_STORE = {"Cache-Control": "no-store"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.post("/api/push", _json_errors(push)),
            web.post("/api/capture", _json_errors(capture_api)),
            web.get("/contribute", contribute_form),
            web.post("/contribute", contribute),
        ]
    )


def _json_errors(handler: Handler) -> Handler:
    """API errors as JSON (a CMS hook or a script reads them), not as reader pages."""

    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except MirrorError as error:
            counters.count("copy_refused")
            body = {"error": error.title, "detail": error.detail}
            return web.json_response(body, status=error.status, headers=NO_STORE)

    return answer


async def push(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    limit = config.push.max_bytes * JSON_OVERHEAD + FIELD_BYTES
    try:
        sent = Push.from_json(await _read_capped(request, limit))
    except PushInvalid as exc:
        raise CopyRefused(exc.status, exc.reason) from exc
    if len(sent.html) > config.push.max_bytes:
        raise CopyRefused(413, f"The page is over the limit of {config.push.max_bytes} bytes.")
    site = config.site_for(sent.url)
    if site is None:
        raise CopyRefused(403, "The address is not on a site mirrored here.")
    if sent.key not in site.push_keys:
        raise CopyRefused(403, "The key is not one of this site's push keys.")
    if not _NONCE.fullmatch(sent.nonce):
        raise CopyRefused(400, "The nonce is not 16 to 64 random bytes in base64url.")
    try:
        check_signature(sent)
    except PushInvalid as exc:
        raise CopyRefused(exc.status, exc.reason) from exc
    window = config.push.window_seconds
    if abs(time.time() - sent.timestamp) > window:
        raise CopyRefused(401, f"The timestamp is more than {window} s from the mirror's clock.")
    if not await _first_use(request, f"push {sent.nonce}", 2 * window):
        raise CopyRefused(401, "This nonce was used already: the push is a replay.")
    await request.app[MIRROR].accept(sent.url, sent.html, "utf-8", "publisher", time.time())
    _after_copy(request, sent.url)
    counters.count("publisher_push")
    return _stored_json(request, sent.url, "publisher")


async def capture_api(request: web.Request) -> web.Response:
    url = await _capture(request)
    return _stored_json(request, url, "contributor")


async def contribute_form(request: web.Request) -> web.Response:
    return html_page(render_page(reader_of(request), "contribute.html", stored=""))


async def contribute(request: web.Request) -> web.Response:
    """The form's upload; errors are the reader pages every error is."""
    try:
        url = await _capture(request)
    except MirrorError:
        counters.count("copy_refused")
        raise
    reader = reader_of(request)
    link = reader.link(request.app[LINKS].path(url, Kind.PAGE))
    return html_page(render_page(reader, "contribute.html", stored=link), "no-store")


async def _capture(request: web.Request) -> str:
    """Check and store one capture; the article URL it was stored under."""
    config = request.app[CONFIG]
    fields = await _form_fields(request, config.push.max_bytes)
    _check_contributor(config, fields.get("key", b"").decode("utf-8", "replace"))
    url = fields.get("url", b"").decode("utf-8", "replace").strip()
    if urlsplit(url).scheme not in {"http", "https"} or config.site_for(url) is None:
        raise CopyRefused(403, "The address is not on a site mirrored here.")
    html = fields.get("html", b"")
    if not html:
        raise CopyRefused(400, "No file was sent.")
    if b"\0" in html[:1024] or not _HTML_START.search(html[:4096]):
        raise CopyRefused(415, "The file is not an HTML page.")
    captured = _capture_time(fields.get("captured", b"").decode("ascii", "replace"))
    await request.app[MIRROR].accept(url, html, None, "contributor", captured)
    _after_copy(request, url)
    counters.count("contributor_capture")
    return url


def _after_copy(request: web.Request, url: str) -> None:
    """The copy is stored: readers get it, and the published copies soon."""
    _forget_renderings(request, url)
    request.app[AFTER_COPIES].copied()


def _forget_renderings(request: web.Request, url: str) -> None:
    """Readers of this process get the new copy at once, not the page or the downloads made
    from the old one (other workers keep theirs until their freshness ends, as after a
    refresh)."""
    token = request.app[LINKS].seal(url, Kind.PAGE) + " "
    request.app[RENDERED].forget(token)
    request.app[DOWNLOADS].forget(token)


def _check_contributor(config: Config, key: str) -> None:
    """The key must hash to a listed contributor's that is not revoked. Who sent a capture
    is not kept with it: the copy says only that a contributor captured it."""
    if not key:
        raise CopyRefused(401, "A contributor key is needed to send a capture.")
    digest = hashlib.sha256(key.strip().encode("utf-8")).hexdigest()
    for contributor in config.contributors:
        if hmac.compare_digest(contributor.key_sha256, digest):
            if contributor.revoked:
                raise CopyRefused(403, "This contributor key was revoked.")
            return
    raise CopyRefused(403, "This contributor key is not known here.")


def _capture_time(text: str) -> float:
    """When the page was captured (ISO 8601, UTC unless it says otherwise); now if empty.
    A date ahead of the mirror's clock would let a capture outrank copies still to come."""
    now = time.time()
    if not text.strip():
        return now
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CopyRefused(400, "The capture date is not a date (YYYY-MM-DD).") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if moment.timestamp() > now:
        raise CopyRefused(400, "The capture date is in the future.")
    return moment.timestamp()


async def _form_fields(request: web.Request, max_bytes: int) -> dict[str, bytes]:
    """The multipart form's fields, each read under its own cap (the file under
    ``max_bytes``, the others under ``FIELD_BYTES``), at most ``MAX_PARTS`` of them."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError) as exc:
        raise CopyRefused(400, "Send the capture as a multipart form.") from exc
    fields: dict[str, bytes] = {}
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            return fields
        if not isinstance(part, BodyPartReader) or not part.name:
            raise CopyRefused(400, "The form holds an unexpected part.")
        cap = max_bytes if part.name == "html" else FIELD_BYTES
        fields[part.name] = await _read_part(part, cap)
    raise CopyRefused(400, "The form holds too many parts.")


async def _read_part(part: BodyPartReader, cap: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK_BYTES):
        data += chunk
        if len(data) > cap:
            raise CopyRefused(413, f"The file is over the limit of {cap} bytes.")
    return bytes(data)


async def _read_capped(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise CopyRefused(413, f"The push is over the limit of {limit} bytes.")
    data = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        data += chunk
        if len(data) > limit:
            raise CopyRefused(413, f"The push is over the limit of {limit} bytes.")
    return bytes(data)


async def _first_use(request: web.Request, name: str, seconds: int) -> bool:
    try:
        return await request.app[MIRROR].claim(name, seconds)
    except StoreUnavailable as exc:
        raise CopyRefused(503, "The mirror cannot check for replays just now.") from exc


def _stored_json(request: web.Request, url: str, source: str) -> web.Response:
    link = base_url(request) + request.app[LINKS].path(url, Kind.PAGE)
    body = {"stored": url, "source": source, "link": link}
    return web.json_response(body, status=201, headers=NO_STORE)
