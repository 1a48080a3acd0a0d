"""What publishers and readers use to find and link this mirror.

- ``/s/<site>/<path>``: an article by its path on the origin, so a publisher can link any
  article without minting a token (``/m/<token>`` links stay the opaque form for readers);
- ``/link-to-us``: a ready snippet and badge, and the manifest's public key to pin;
- ``/.well-known/mirrors.json``: the signed manifest of this mirror's addresses, re-signed
  daily so it never expires while the mirror runs;
- on every page, "if this address is blocked, try: …" with the alternate addresses. Pages
  read them from a context variable that the server's middleware sets per request, so
  templates rendered outside a request (tests, ``mirror extract``) show nothing.

Both follow the live list of ``mirror.addresses.alternates`` without a restart.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses import manifest
from mirror.addresses.alternates import AddressBook, all_addresses
from mirror.addresses.onion import over_onion
from mirror.errors import NotFound
from mirror.render.html import environment, render_page
from mirror.settings import Config, public_url
from mirror.web.appkeys import SIGNING_KEY
from mirror.web.readers import MANIFEST_PATH, reader_of

RESIGN_AFTER = datetime.timedelta(days=1)

PageResponder = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def add_routes(
    app: web.Application, config: Config, book: AddressBook, respond_with_page: PageResponder
) -> None:
    """Publisher routes; ``/s/{site}/{path}`` is added last so exact ``/s/`` routes win."""
    signing_key = app[SIGNING_KEY]
    signed = _ManifestCache(signing_key, config, book)
    sites = {site.name: site for site in config.sites}

    async def site_page(request: web.Request) -> web.StreamResponse:
        site = sites.get(request.match_info["site"])
        if site is None:
            raise NotFound
        url = f"{site.origin}/{quote(request.match_info['path'], safe='/%:@!$&()*+,;=-._~')}"
        if request.query_string:
            url += "?" + request.query_string
        return await respond_with_page(request, url)

    async def link_to_us(request: web.Request) -> web.Response:
        page = render_page(
            reader_of(request),
            "link_to_us.html",
            base=config.publisher.onion_url if over_onion(config, request) else public_url(config),
            sites=config.sites,
            public_key=manifest.public_key_text(signing_key),
        )
        return web.Response(text=page, content_type="text/html")

    async def badge(request: web.Request) -> web.Response:
        svg = environment().get_template("badge.svg").render()
        return web.Response(
            text=svg, content_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    async def mirrors_json(request: web.Request) -> web.Response:
        return web.Response(
            body=signed.current(),
            content_type="application/json",
            headers={"Cache-Control": "max-age=3600", "Access-Control-Allow-Origin": "*"},
        )

    app.add_routes(
        [
            web.get("/link-to-us", link_to_us),
            web.get("/badge.svg", badge),
            web.get(MANIFEST_PATH, mirrors_json),
            web.get("/s/{site}/{path:.+}", site_page),
        ]
    )


class _ManifestCache:
    """The signed manifest, re-signed when a day old or when the addresses shown changed."""

    def __init__(self, key: Ed25519PrivateKey, config: Config, book: AddressBook) -> None:
        self._key = key
        self._config = config
        self._book = book
        self._mirrors: list[str] = []
        self._days = config.publisher.manifest_days
        self._signed_at = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        self._document = b""

    def current(self) -> bytes:
        now = datetime.datetime.now(datetime.UTC)
        mirrors = all_addresses(self._config, self._book)
        if now - self._signed_at > RESIGN_AFTER or mirrors != self._mirrors:
            self._document = manifest.sign(self._key, mirrors, self._days, now)
            self._signed_at, self._mirrors = now, mirrors
        return self._document
