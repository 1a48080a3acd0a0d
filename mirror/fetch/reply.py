"""What the two fetch clients share: the ``Client`` interface the ``Fetcher`` drives, and the
``Reply`` each gives for one request.

A client makes one request at a time, never following a redirect and never decoding the
body itself: the ``Fetcher`` checks the URL, follows and checks redirects, reads statuses and
holds the politeness limits, for both clients alike. A client's own job is the connection
(the address policy on the connected address), the deadlines, the capped body inflated by
``inflate.Inflater``, and translating its library's exceptions into ``mirror.errors``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from email.message import Message
from typing import Protocol

from multidict import CIMultiDictProxy

from mirror.settings import WayOut

# Whether a request's body is wanted, told from its status and headers: a client may stop
# receiving a body nobody will read.
WantsBody = Callable[[int, "CIMultiDictProxy[str]"], bool]


@dataclass(frozen=True)
class Reply:
    """An origin's status and headers; ``body()`` reads the body, capped and inflated."""

    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: Callable[[], Awaitable[bytes]]

    @property
    def content_type(self) -> str:
        return content_type(self.headers.get("Content-Type", ""))[0]

    @property
    def charset(self) -> str | None:
        return content_type(self.headers.get("Content-Type", ""))[1]


def content_type(header: str) -> tuple[str, str | None]:
    """A ``Content-Type`` header's media type (lowercase) and charset, as aiohttp reads it:
    no header is ``application/octet-stream``."""
    if not header:
        return "application/octet-stream", None
    message = Message()
    message["Content-Type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


class Client(Protocol):
    """One way to speak HTTP to origins (``plain.PlainClient``, ``browser.BrowserClient``)."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def exchange(
        self, url: str, headers: Mapping[str, str], way: WayOut, wants_body: WantsBody
    ) -> AbstractAsyncContextManager[Reply]:
        """One GET of ``url`` by ``way``, redirects not followed; errors are ours."""
        ...
