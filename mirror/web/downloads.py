"""Sharing and downloading an article: the share page, and the signed single-file HTML
and EPUB made once per stored version."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from mirror.links import Kind
from mirror.pool import off_loop
from mirror.render.html import (
    Reader,
    render_share,
)
from mirror.resources import static_bytes
from mirror.share.download import (
    Download,
    content_disposition,
    download_images,
    unsigned_single_file,
)
from mirror.share.epub import MEDIA_TYPE, epub_entries, pack_epub
from mirror.share.feeds import (
    FeedLinks,
)
from mirror.share.signature import sign_html
from mirror.web.appkeys import (
    CONFIG,
    DOWNLOADS,
    LINKS,
    MIRROR,
    POOL,
    SIGNING_KEY,
)
from mirror.web.article import fresh_until_for, served_for
from mirror.web.readers import MANIFEST_PATH, base_url, choices_of, html_page, memory_key
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
    config = request.app[CONFIG]
    mirror = request.app[MIRROR]
    links = request.app[LINKS]
    url, served = await served_for(request)
    stored = served.stored
    site = config.site_for(url)
    base = base_url(request)
    details = Download(
        stored=stored,
        share_url=base + links.path(url, Kind.PAGE),
        manifest_url=f"{base}{MANIFEST_PATH}",
        key=request.app[SIGNING_KEY],
        site_name=site.display_name if site else stored.article.site_name,
    )
    # The small files (the light mode's widest WebP), so the budget holds more pictures.
    images = await download_images(
        stored.article, mirror.pictures.small_file, config.reader.download_image_bytes
    )

    href_for = FeedLinks(base, links, config.is_mirrored).page
    extension = request.match_info["format"]
    pool = request.app.get(POOL)
    disposition = content_disposition(stored.article.title, extension)
    fresh_until = fresh_until_for(config, url, served)
    # The transform process renders the file from the details without the key; it is
    # signed here, where the key stays (a signature is a hash and one Ed25519 operation).
    unsigned = details.unsigned()
    if extension == "epub":
        entries = await off_loop(
            pool, epub_entries, reader, unsigned, stored.article.body, images, href_for
        )
        return Attachment(pack_epub(entries, details), MEDIA_TYPE, disposition, fresh_until)
    css = static_bytes("mirror.css").decode("utf-8")
    page = await off_loop(
        pool, unsigned_single_file, reader, unsigned, stored.article.body, images, css, href_for
    )
    signed = sign_html(page, stored, details.key)
    return Attachment(signed, "text/html", disposition, fresh_until)
