"""Every error the mirror can show a reader, each with its HTTP status.

Errors are raised anywhere in the pipeline and rendered in one place (the server's error
middleware). Third-party exceptions are translated into these in the module that calls the
library, with ``raise ... from exc``: every aiohttp, socket, TLS, proxy and decompression
exception of a fetch is translated in one function per client (``fetch.plain.translated_errors``,
``fetch.browser.curl_errors``), and every exception raised while reading a page (decode →
sanitise) in one, ``reading.read_page``. A fetch or a read that fails stores nothing.

    MirrorError                      500  something went wrong on our side
    ├── ConfigError                  -    the configuration is invalid (at start-up only)
    ├── NotFound                     404  unknown route, or a tampered/unknown token
    ├── SiteNotMirrored              403  the URL is not on a configured site
    ├── BadRequest                   400  the reader asked for something malformed
    │   └── QueryRefused             400  a search too long or with no word to search for
    ├── SearchUnavailable            503  the search index failed to answer
    ├── CopyRefused                  4xx  a pushed copy or a capture that is not taken
    ├── TooComplex                   502  processing the page ran past its time, or its worker died
    ├── UnreadablePage               500  reading a page we were given raised (our fault)
    └── FetchError                   502  the origin could not give us the page
        ├── OriginUnreachable        502  DNS, TCP or TLS failed
        ├── OriginTimeout            504  a connect, header or total deadline passed
        ├── TooLarge                 502  the body (or decoded body) exceeds the limit
        ├── NotAnArticle             415  the content type is not one we mirror
        ├── AddressNotAllowed        403  the origin resolves to a refused address
        ├── TooManyRedirects         502  more than the redirect limit, or a loop
        ├── OriginBroken             502  corrupt or truncated body, unknown encoding
        ├── OriginChallenged         502  a bot wall (challenge page) answered instead
        ├── SiteRefused              502  the origin refused every way out, no source had it
        └── OriginStatus             502  an error status, or a Retry-After still running
            └── NotAtOrigin          404  the origin has no such page (404 or 410)
                └── SentToFrontPage  404  the origin redirects the page to its front page
"""

from __future__ import annotations

import traceback
from urllib.parse import urlsplit


class MirrorError(Exception):
    """Base class: ``status`` is the HTTP status, ``title`` and ``detail`` the reader's words."""

    status = 500
    title = "Something went wrong"
    hint = "Try again in a few minutes."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail


class ConfigError(MirrorError):
    """The configuration file or environment is invalid."""

    title = "Configuration error"


class NotFound(MirrorError):
    status = 404
    title = "Page not found"
    hint = "Check that the link was copied whole."


class SiteNotMirrored(MirrorError):
    status = 403
    title = "This site is not mirrored here"
    hint = "This mirror only serves the sites listed on its home page."


class BadRequest(MirrorError):
    status = 400
    title = "That address could not be read"
    hint = "Paste a full address starting with https://."


class QueryRefused(BadRequest):
    """A search the index is not asked: longer than the limit, or nothing but punctuation.
    The page never repeats the query (``detail`` stays empty)."""

    title = "This search could not be made"
    hint = "Search for one or more words, in at most 200 characters."


class SearchUnavailable(MirrorError):
    """The search index failed (a damaged file, a full disk): pages still work."""

    status = 503
    title = "Search is not available just now"
    hint = "The articles can still be read. Try searching again later."


class TooComplex(MirrorError):
    """A page's processing ran past ``server.transform_timeout`` (or killed its worker
    process): its worker is replaced, nothing is stored, and the reader is told plainly."""

    status = 502
    title = "This page is too complex to read here"
    hint = (
        "The original page takes too long to turn into a readable copy. Open it elsewhere, "
        "or try again later: the site may simplify it."
    )


class UnreadablePage(MirrorError):
    """Reading a page the mirror was given (an origin's answer, a push, a capture) raised: a
    shape of page the mirror's own code does not handle, never the origin's fault. Raised by
    ``reading.read_page`` alone, from whatever a stage raised; ``stage`` names that stage
    (``counters.READING_STAGES``) and ``cause`` is the exception as ``described`` gives it
    (types and frames, no message, which may hold the page's address), so that the server
    process can count and log it after it crossed from a transform process.

    500, because the fault is ours: not 502 or 504, which blame the origin (it answered, and
    the reader would blame their network or the filter and give up); not 503, which says the
    mirror is down or overloaded and invites a retry that fails the same way until the page
    or the mirror changes; not 422, which says the reader's request was wrong (the link is
    fine). Its own title and hint tell the reader so, distinct from "could not be reached".
    """

    title = "The mirror could not read this page"
    hint = (
        "The page was received, but this mirror failed to turn it into a readable copy. The "
        "fault is the mirror's, not your connection's: open the page elsewhere, or try again "
        "in a few days."
    )

    def __init__(self, stage: str, cause: str = "") -> None:
        super().__init__(f"Reading stopped at its {stage} stage.")
        self.stage = stage
        self.cause = cause

    def __str__(self) -> str:
        return f"{self.title}. {self.detail}"

    def __reduce__(self) -> tuple[type[UnreadablePage], tuple[str, str]]:
        """Pickled as its stage and cause, so it crosses from a transform process whole."""
        return (type(self), (self.stage, self.cause))


class CopyRefused(MirrorError):
    """A copy sent to the mirror (a publisher's push, a contributor's capture) that is not
    stored: ``status`` says why (401 unsigned or stale, 403 not allowed, 409 older than the
    stored copy, 413 too large, 415 not HTML), ``detail`` in plain words."""

    status = 400
    title = "This copy was not accepted"
    hint = "Nothing was stored. Check the address, the file and the key, then send it again."

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class FetchError(MirrorError):
    status = 502
    title = "The original site could not be reached"
    hint = "The site may be down or blocked from this mirror too. Try again later."


class OriginUnreachable(FetchError):
    pass


class OriginTimeout(FetchError):
    status = 504
    title = "The original site took too long to answer"


class TooLarge(FetchError):
    title = "The page is too large to mirror"
    hint = "This mirror limits the size of pages it copies."


class NotAnArticle(FetchError):
    status = 415
    title = "This address is not a web page"
    hint = "Only web pages and images can be read through this mirror."


class AddressNotAllowed(FetchError):
    status = 403
    title = "This address is not allowed"
    hint = "The mirror only fetches pages from public addresses."


class TooManyRedirects(FetchError):
    title = "The original site redirected too many times"


class OriginBroken(FetchError):
    title = "The original site sent a broken page"


class OriginChallenged(FetchError):
    """The origin (or its CDN) answered with a bot wall instead of the page: nothing the
    mirror can read, and never to be stored as if it were the article."""

    title = "The original site asked the mirror to prove it is a person"
    hint = "The protection of the site blocks this mirror. Try again later."


class SiteRefused(FetchError):
    """The origin refused the mirror (a 401, 403, 429 or 451, or a bot wall) through every
    way out it may use, and none of the site's other sources had the article: the reader is
    told that the site refused, not that it could not be reached, and offered what may
    still have the page. ``url`` is the article asked for; ``detail`` the last refusal's."""

    title = "%(site)s refused this mirror"
    hint = (
        "The site turned the mirror away, and no other copy of this page was found. "
        "Someone who can open it may send the mirror a copy."
    )

    def __init__(self, url: str, detail: str = "") -> None:
        super().__init__(detail)
        self.url = url

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class OriginStatus(FetchError):
    title = "The original site answered with an error"

    def __init__(self, origin_status: int, detail: str = "") -> None:
        super().__init__(detail or f"The site answered with status {origin_status}.")
        self.origin_status = origin_status


class NotAtOrigin(OriginStatus):
    """The origin says the page does not exist: the reader's link is wrong or the article
    was removed, so the honest answer is a 404 naming the site, not "could not be reached"."""

    status = 404
    title = "This article is not on %(site)s"
    hint = (
        "The site has no page at this address: the link may be incomplete, or the article "
        "was moved or removed. Look for it in the list of articles of this site on the "
        "start page."
    )

    def __init__(self, origin_status: int, url: str, detail: str = "") -> None:
        super().__init__(origin_status, detail)
        self.url = url

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class SentToFrontPage(NotAtOrigin):
    """The origin redirects the article's address to its front page, as many sites do with
    a post they took down: the article is not there, though the last answer was a 200."""

    def __init__(self, url: str) -> None:
        super().__init__(200, url, "The site sends this address to its front page.")


MAX_CHAINED = 8  # causes described beyond the exception itself; a longer chain is cut


def described(exc: BaseException) -> str:
    """What an operator needs to find a bug, and nothing a reader sent: the type of ``exc``
    and of its causes, each with its frames (file, line, function), no message and no
    source line (either may hold a URL, a token, an address or a key)."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) <= MAX_CHAINED:
        parts.append(_type_name(current) + _frames(current))
        current = _cause(current)
    return "\ncaused by ".join(parts)


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _frames(exc: BaseException) -> str:
    """The traceback's frames, outermost first; source lines are not read (nor logged)."""
    frames = traceback.StackSummary.extract(
        traceback.walk_tb(exc.__traceback__), lookup_lines=False
    )
    return "".join(f'\n  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames)


def _cause(exc: BaseException) -> BaseException | None:
    """The exception ``exc`` was raised from or while handling, as a traceback shows it."""
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__
