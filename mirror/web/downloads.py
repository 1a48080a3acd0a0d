"""Sharing and downloading an article: the share page, and the signed single-file HTML
and EPUB made once per stored version."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from mirror.links import Kind
from mirror.render.html import (
    Reader,
    render_share,
)
from mirror.share.download import content_disposition
from mirror.share.signedfiles import FORMATS, SignedFiles
from mirror.web.appkeys import (
    CONFIG,
    DOWNLOADS,
    LINKS,
    MIRROR,
    POOL,
    SIGNING_KEY,
)
from mirror.web.article import fresh_until_for, served_for
from mirror.web.readers import base_url, choices_of, html_page, memory_key
from mirror.web.responses import Attachment


async def share(request: web.Request) -> web.Response:
    """``POST /share/<token>``: a page with a link to the article made for this share alone.

    Pages carry no script and the article's rendering is kept for every reader, so a link
    that is new each time cannot sit in the page itself: the article's "new link" button
    posts here, and the answer, rendered for this request and never stored by any cache
    (POST, ``no-store``), shows a fresh share token (``LinkBuilder.seal_fresh``). Nothing is
    kept per link: the token carries its URL, and opening it lands on the article's one
    kept rendering. The page's own links lead to the article's page link, not back here.
    """
    links = request.app[LINKS]
    url = links.open(request.match_info["token"], Kind.PAGE)
    page_path = links.path(url, Kind.PAGE)
    reader = replace(choices_of(request), path=page_path)
    fresh = f"{base_url(request)}/{Kind.PAGE.value}/{links.seal_fresh(url, Kind.PAGE)}"
    return html_page(render_share(reader, fresh, page_path), cache_control="no-store")


async def download(request: web.Request) -> web.Response:
    """The article as one HTML file or an EPUB, images inside, named after its title: made
    once per stored version, reader view and format, then answered from memory."""
    app = request.app
    extension = request.match_info["format"]
    url = app[LINKS].open(request.match_info["token"], Kind.PAGE)
    token = app[LINKS].seal(url, Kind.PAGE)
    choices, key = memory_key(app[CONFIG], request, token, request.rel_url.raw_query_string)
    key = f"{token} {extension} {key.removeprefix(token + ' ')}"
    attachment = app[DOWNLOADS].get(key)
    if attachment is None:
        attachment = await _made_download(request, replace(choices, path=request.path))
        app[DOWNLOADS].put(key, attachment)
    return web.Response(
        body=attachment.body,
        content_type=attachment.content_type,
        charset="utf-8" if attachment.content_type.startswith("text/") else None,
        headers={"Content-Disposition": attachment.disposition, "Cache-Control": "no-cache"},
    )


async def _made_download(request: web.Request, reader: Reader) -> Attachment:
    app = request.app
    url, served = await served_for(request)
    stored = served.stored
    extension = request.match_info["format"]
    # The small files (the light mode's widest WebP), so the budget holds more pictures.
    small = app[MIRROR].pictures.small_file
    files = SignedFiles(app[CONFIG], app[LINKS], app[SIGNING_KEY], small, app.get(POOL))
    body = await files.make(reader, base_url(request), url, stored, extension)
    disposition = content_disposition(stored.article.title, extension)
    fresh_until = fresh_until_for(app[CONFIG], url, served)
    return Attachment(body, FORMATS[extension], disposition, fresh_until)
