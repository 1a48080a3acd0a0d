"""``/caddy/ask``: whether Caddy may get a certificate for a name, for on-demand TLS.

With on-demand TLS (``deploy/Caddyfile.on-demand``) a fresh address is a DNS record away:
Caddy obtains a certificate during the first TLS handshake for a name, once this endpoint
answers 200 for it. Whoever can point a name at the server could otherwise make Caddy ask
a certificate authority for any name at all, spending the server's rate limits there (and
getting the mirror's address logged in public certificate transparency under their name).
So only the names the operator allows are approved: exact names and ``*.suffix`` patterns
of ``alternates.ask_domains``, and the hosts of the listed https addresses. Everything
else is 403.

Who may ask: a caller presenting ``alternates.ask_key`` (``?key=``), or, with no key set, a
loopback caller that no proxy forwarded (Caddy on the same host asks directly and sends
no ``X-Forwarded-For``; a reader's request relayed by that same Caddy does). Anyone else
gets the plain 404 of a path that does not exist, so the endpoint is no oracle of which
names belong to this mirror. Caddy answers ``/caddy/`` itself with 404 from outside, too.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from mirror.addresses.alternates import AddressBook
from mirror.errors import NotFound
from mirror.settings import Config, host_name

ASK_PATH = "/caddy/ask"
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "Via")


def domain_allowed(domain: str, patterns: tuple[str, ...], hosts: frozenset[str]) -> bool:
    """Whether ``domain`` is one of the exact names or under a ``*.suffix`` of ``patterns``,
    or one of ``hosts``; matched on whole labels, after ``host_name`` normalised it."""
    name = host_name(domain)
    if name is None:
        return False
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == pattern:
            return True
    return name in hosts


def caller_allowed(request: web.Request, key: str) -> bool:
    if key:
        return hmac.compare_digest(request.query.get("key", "").encode(), key.encode())
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def add_routes(app: web.Application, config: Config, book: AddressBook) -> None:
    settings = config.alternates

    async def ask(request: web.Request) -> web.Response:
        if not caller_allowed(request, settings.ask_key):
            raise NotFound
        domain = request.query.get("domain", "")
        allowed = domain_allowed(domain, settings.ask_domains, book.hosts())
        return web.Response(
            text="allowed\n" if allowed else "not allowed\n",
            status=200 if allowed else 403,
            headers={"Cache-Control": "no-store"},
        )

    app.add_routes([web.get(ASK_PATH, ask)])
