"""One curl transfer as it arrives: status lines and headers read, the raw body kept under
the cap, and the reply made of them (``browser.BrowserClient``'s half that needs no curl).

curl hands over every header block it receives (a proxy's ``CONNECT`` answer, ``100
Continue``, then the origin's): each status line starts a new block, so only the last is
the answer. At the end of a block, the body is judged wanted or not (``WantsBody``); an
unwanted one is not received (the transfer is stopped), and a wanted one whose
``Content-Length`` is over the cap is refused before it is read.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from multidict import CIMultiDict, CIMultiDictProxy

from mirror.fetch.inflate import BodyTooLarge, Inflater
from mirror.fetch.reply import Reply, WantsBody


class BodyNotWanted(Exception):
    """Raised in curl's write callback to stop receiving a body nobody will read."""


class Transfer:
    """The state of one transfer, fed by curl's header and write callbacks (on the loop)."""

    def __init__(self, limit: int, wants_body: WantsBody) -> None:
        self._limit = limit
        self._wants_body = wants_body
        self.status = 0
        self.reason = ""
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._wanted = False
        self._chunks: list[bytes] = []
        self._received = 0
        self._blocks = 0
        self.last_heard = time.monotonic()

    def heard(self) -> None:
        self.last_heard = time.monotonic()

    def on_header(self, line: bytes) -> int:
        self.heard()
        text = line.decode("latin-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            self._start_block(text)
        elif text:
            name, _, value = text.partition(":")
            self._headers.add(name.strip(), value.strip())
        else:
            self._end_block()
        return len(line)

    def _start_block(self, status_line: str) -> None:
        parts = status_line.split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.reason = parts[2].strip() if len(parts) > 2 else ""
        if not self.reason and self.status in HTTPStatus._value2member_map_:
            self.reason = HTTPStatus(self.status).phrase
        self._headers = CIMultiDict()

    def _end_block(self) -> None:
        self._blocks += 1
        headers = CIMultiDictProxy(self._headers)
        self._wanted = self._wants_body(self.status, headers)
        length = headers.get("Content-Length", "")
        if self._wanted and length.isdigit() and int(length) > self._limit:
            raise BodyTooLarge

    def on_body(self, chunk: bytes) -> int:
        self.heard()
        if not self._wanted:
            raise BodyNotWanted
        self._received += len(chunk)
        if self._received > self._limit:
            raise BodyTooLarge
        self._chunks.append(chunk)
        return len(chunk)

    def answered(self, tunnelled: bool) -> bool:
        """Whether the origin's answer began (past an HTTP proxy's own ``CONNECT`` one)."""
        return self._blocks > (1 if tunnelled else 0)

    def stopped_by(self, error: BaseException | None) -> bool:
        """Whether the transfer ended because its body was not wanted (not a failure)."""
        return isinstance(error, BodyNotWanted)

    def inflated(self) -> bytes:
        """The body as received, with its Content-Encoding undone under the cap."""
        inflater = Inflater(self._headers.get("Content-Encoding", ""), self._limit)
        body = b"".join(inflater.feed(chunk) for chunk in self._chunks)
        inflater.finish()
        self._chunks = []
        return body

    def reply(self, inflate: Callable[[Transfer], Awaitable[bytes]]) -> Reply:
        return Reply(
            self.status, self.reason, CIMultiDictProxy(self._headers), lambda: inflate(self)
        )
