"""The mirror as a Tor onion service: which requests came over it, and where it is announced.

Tor's hidden service (``deploy/torrc``) forwards each connection to a plain-HTTP listener
on loopback (``server.onion_listen``); the onion address itself is ``publisher.onion``.
A request is the onion service's when it arrived on that listener, whatever it says; its
``Host`` must then be the onion name, so the listener serves nothing else, and ``/metrics``
and ``/caddy/ask`` are not served there (the operator's scraper and Caddy ask the clearnet
listener). Over the onion every address the mirror writes is the onion's
(``pages.address_of``), there is no HSTS (plain HTTP, which Tor encrypts end to end), and the
alternates line stays off, so that no link leads a reader out of the onion service.
Clearnet answers name the onion service in ``Onion-Location``, which Tor Browser offers to
follow.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from mirror.errors import NotFound
from mirror.settings import Config

OVER_ONION = web.RequestKey("mirror.over_onion", bool)
ONION_HTTP_PORT = ":80"
# Tor delivers every onion reader from loopback with no forwarding header: to the ask
# endpoint they would look like Caddy on this host (``mirror.web.ask``).
OPERATOR_ONLY = frozenset({"/metrics", "/caddy/ask"})


def over_onion(config: Config, request: web.BaseRequest) -> bool:
    """Whether ``request`` arrived on the onion listener; decided on first asking and kept
    with the request, so a page and its memory key never disagree about its address.
    Without an onion listener the answer is known at once (a cache hit asks twice)."""
    if not config.server.onion_listen:
        return False
    known = request.get(OVER_ONION)
    if known is None:
        known = request[OVER_ONION] = _on_onion_listener(config, request)
    return known


def admit(config: Config, request: web.BaseRequest) -> None:
    """Over the onion: another name than the onion's is a 421, and the operator's metrics are
    a 404, as the deploy files' proxies refuse them from outside."""
    if misdirected(config, request):
        raise web.HTTPMisdirectedRequest(headers={"Cache-Control": "no-store"})
    if request.path in OPERATOR_ONLY and over_onion(config, request):
        raise NotFound


def misdirected(config: Config, request: web.BaseRequest) -> bool:
    """An onion-listener request for any name but the onion's: answered 421, unserved."""
    if not over_onion(config, request):
        return False
    return request.host.lower().removesuffix(ONION_HTTP_PORT) != config.publisher.onion


def onion_location(config: Config, request: web.BaseRequest) -> str:
    """The ``Onion-Location`` of a clearnet answer (this path on the onion); empty over the
    onion itself, or without an onion name."""
    if not config.publisher.onion or over_onion(config, request):
        return ""
    return config.publisher.onion_url + request.raw_path


def _on_onion_listener(config: Config, request: web.BaseRequest) -> bool:
    if not config.server.onion_listen or request.transport is None:
        return False
    local = request.transport.get_extra_info("sockname")
    if not isinstance(local, tuple) or local[1] != config.server.onion_port:
        return False
    return ipaddress.ip_address(local[0]) == ipaddress.ip_address(config.server.onion_host)
