"""Who the reader is, from the request alone: language, picture mode, the address
they came by, and the key their view of an article is kept under in memory."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from mirror.addresses.onion import over_onion
from mirror.errors import NotFound
from mirror.render.html import (
    Reader,
)
from mirror.settings import Config, Site
from mirror.web.appkeys import (
    CONFIG,
)

READER_CACHE = 1024  # distinct (query, Accept-Language) pairs whose parsed choices are kept
MANIFEST_PATH = "/.well-known/mirrors.json"


def reader_of(request: web.Request) -> Reader:
    """The reader's choices, from the query string and ``Accept-Language`` only."""
    return replace(choices_of(request), path=request.path)


def choices_of(request: web.Request) -> Reader:
    """The reader's choices without the page's path: all a page kept in memory depends on."""
    return reader_choices(
        request.rel_url.raw_query_string,
        request.headers.get("Accept-Language", ""),
        request.app[CONFIG].reader.default_pictures,
    )


@lru_cache(maxsize=READER_CACHE)
def reader_choices(raw_query: str, accept_language: str, pictures_default: str) -> Reader:
    """Parsed once per query and ``Accept-Language``: readers send few distinct ones, and
    negotiating a language on every cache hit cost more than answering from memory."""
    query = MultiDict(parse_qsl(raw_query, keep_blank_values=True))
    return Reader.from_request("/", query, accept_language, pictures_default)


def base_url(request: web.Request) -> str:
    """The mirror's address as readers reach it: configured, else the request's own."""
    return address_of(request.app[CONFIG], request)


def address_of(config: Config, request: web.BaseRequest) -> str:
    """The onion address over the onion service, else the configured or asked-for one."""
    if over_onion(config, request):
        return config.publisher.onion_url
    return config.server.public_url or f"{request.scheme}://{request.host}"


def html_page(text: str, cache_control: str = "no-cache") -> web.Response:
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Cache-Control": cache_control, "Vary": "Accept-Language"},
    )


def site_named(request: web.Request) -> Site:
    name = request.match_info["site"]
    for site in request.app[CONFIG].sites:
        if site.name == name:
            return site
    raise NotFound


def memory_key(
    config: Config, request: web.BaseRequest, token: str, raw_query: str
) -> tuple[Reader, str]:
    """The reader's choices, and the key of the page's rendering kept in memory for them."""
    accept_language = request.headers.get("Accept-Language", "")
    choices, view = reader_view(raw_query, accept_language, config.reader.default_pictures)
    return choices, f"{token} {view} {address_of(config, request)}"


@lru_cache(maxsize=READER_CACHE)
def reader_view(raw_query: str, accept_language: str, pictures_default: str) -> tuple[Reader, str]:
    """The reader's choices and their ``view_key``, made once per query and language."""
    choices = reader_choices(raw_query, accept_language, pictures_default)
    return choices, view_key(choices)


def view_key(reader: Reader) -> str:
    """What of the reader's choices a rendered page depends on, as part of its memory key."""
    return (
        f"{reader.language.tag} {reader.pictures} "
        f"{reader.explicit_language:d}{reader.explicit_pictures:d}"
    )
