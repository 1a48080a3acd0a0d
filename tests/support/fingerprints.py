"""A test origin that refuses clients as bot-protecting CDNs do: by the TLS ClientHello they
send, and by how fast they ask.

The listening socket is ours: each accepted connection's first TLS record is peeked
(``MSG_PEEK``, nothing consumed) and read as a ClientHello, then the socket is handed to
aiohttp's server with TLS on top (``loop.connect_accepted_socket``). The handler finds the
hello by the peer's address and answers 403 to a client that sends no GREASE values (the
random reserved cipher and extension codes every Chromium and Safari sends, and OpenSSL
never does: the simplest of the rules CDNs apply), and 429 with ``Retry-After`` to a
browser-like client asking again sooner than ``min_gap`` seconds on the injected clock.

``ja3`` is the JA3 string's MD5 (TLS version, ciphers, extensions, groups, point formats,
GREASE left out), and ``ja4_like`` the same with ciphers and extensions sorted, which is
stable across Chrome's extension shuffling.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

CHALLENGE = b"<html><title>Just a moment...</title><p>Checking your browser.</p></html>"


def is_grease(value: int) -> bool:
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass(frozen=True)
class ClientHello:
    version: int
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    groups: tuple[int, ...] = ()
    point_formats: tuple[int, ...] = ()

    @property
    def greases(self) -> bool:
        return any(is_grease(v) for v in (*self.ciphers, *self.extensions))

    def _fields(self, ordered: bool) -> str:
        def listed(values: tuple[int, ...]) -> str:
            kept = [v for v in values if not is_grease(v)]
            return "-".join(str(v) for v in (sorted(kept) if ordered else kept))

        parts = (self.ciphers, self.extensions, self.groups, self.point_formats)
        return ",".join([str(self.version), *(listed(p) for p in parts)])

    @property
    def ja3(self) -> str:
        return hashlib.md5(self._fields(False).encode(), usedforsecurity=False).hexdigest()

    @property
    def ja4_like(self) -> str:
        return hashlib.sha256(self._fields(True).encode()).hexdigest()[:24]


def _u16s(data: bytes) -> tuple[int, ...]:
    return tuple(struct.unpack(f">{len(data) // 2}H", data[: len(data) // 2 * 2]))


def parse_client_hello(record: bytes) -> ClientHello | None:
    """The ClientHello in a TLS record (handshake type 1), or None if it is not one."""
    if len(record) < 9 or record[0] != 0x16 or record[5] != 0x01:
        return None
    body = record[9:]
    version = int.from_bytes(body[0:2], "big")
    at = 2 + 32
    at += 1 + body[at]  # session id
    length = int.from_bytes(body[at : at + 2], "big")
    ciphers = _u16s(body[at + 2 : at + 2 + length])
    at += 2 + length
    at += 1 + body[at]  # compression methods
    end = at + 2 + int.from_bytes(body[at : at + 2], "big")
    at += 2
    extensions: list[int] = []
    groups: tuple[int, ...] = ()
    formats: tuple[int, ...] = ()
    while at + 4 <= min(end, len(body)):
        kind, size = struct.unpack(">HH", body[at : at + 4])
        data = body[at + 4 : at + 4 + size]
        extensions.append(kind)
        if kind == 10:
            groups = _u16s(data[2:])
        elif kind == 11:
            formats = tuple(data[1:])
        at += 4 + size
    return ClientHello(version, ciphers, tuple(extensions), groups, formats)


@dataclass
class FingerprintOrigin:
    """The refusing origin's state: every hello seen, and what it answered."""

    port: int = 0
    min_gap: float = 1.0
    clock: Callable[[], float] = field(default=lambda: 0.0)
    hellos: dict[tuple[str, int], ClientHello] = field(default_factory=dict)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (ja3, status)
    _last: dict[str, float] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        hello = self.hellos.get(request.transport.get_extra_info("peername")[:2])
        status, headers = self._judge(hello)
        self.answers.append((hello.ja3 if hello else "", status))
        if status == 200:
            return web.Response(text="<p>The article.</p>", content_type="text/html")
        return web.Response(status=status, body=CHALLENGE, headers=headers)

    def _judge(self, hello: ClientHello | None) -> tuple[int, dict[str, str]]:
        if hello is None or not hello.greases:
            return 403, {"Content-Type": "text/html"}
        now, last = self.clock(), self._last.get(hello.ja4_like)
        self._last[hello.ja4_like] = now
        if last is not None and now - last < self.min_gap:
            return 429, {"Retry-After": f"{self.min_gap:g}", "Content-Type": "text/html"}
        return 200, {}


async def _peek_hello(sock: socket.socket) -> bytes:
    """The first TLS record, peeked (left in the socket for the TLS layer to read)."""
    loop = asyncio.get_running_loop()
    for _ in range(200):
        ready = loop.create_future()
        loop.add_reader(sock.fileno(), ready.set_result, None)
        try:
            await asyncio.wait_for(ready, 5)
        finally:
            loop.remove_reader(sock.fileno())
        data = sock.recv(16384 + 5, socket.MSG_PEEK)
        if not data or (len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big")):
            return data
        await asyncio.sleep(0.005)
    return b""


@asynccontextmanager
async def fingerprint_origin(
    context: ssl.SSLContext, clock: Callable[[], float]
) -> AsyncIterator[FingerprintOrigin]:
    """The refusing origin on a loopback port, serving every path with ``handle``."""
    state = FingerprintOrigin(clock=clock)
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    assert runner.server is not None
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    state.port = listener.getsockname()[1]
    loop = asyncio.get_running_loop()

    server = runner.server
    connections: set[asyncio.Task[None]] = set()

    async def serve(sock: socket.socket, peer: tuple[str, int]) -> None:
        hello = parse_client_hello(await _peek_hello(sock))
        if hello is not None:
            state.hellos[peer] = hello
        await loop.connect_accepted_socket(server, sock, ssl=context)

    async def accept() -> None:
        while True:
            sock, peer = await loop.sock_accept(listener)
            connection = asyncio.create_task(serve(sock, peer[:2]))
            connections.add(connection)
            connection.add_done_callback(connections.discard)

    task = asyncio.create_task(accept())
    try:
        yield state
    finally:
        for running in (task, *connections):
            running.cancel()
        await asyncio.gather(task, *connections, return_exceptions=True)
        listener.close()
        await runner.cleanup()
