"""Ways out for tests: real SOCKS5 and HTTP CONNECT proxies on loopback, each leaving from
an address of its own, so the origin can tell them apart as an origin tells proxies' IPs.

``WayOutProxy`` answers SOCKS5 (no authentication, or a user name and password, which it
records: Tor's stream isolation is told by them) and HTTP CONNECT; like a real proxy it
resolves names itself (every name goes to the origin's port on 127.0.0.1), connecting from
``source`` (any of 127.0.0.0/8 works on Linux). ``hang`` makes one that accepts a request
and never answers, as a proxy whose route went dark.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from tests.support.fetch_fixtures import pipe, socks_target


@dataclass
class WayOutProxy:
    upstream_port: int
    source: str = "127.0.0.1"
    hang: bool = False
    port: int = 0
    targets: list[str] = field(default_factory=list)
    credentials: list[tuple[str, str]] = field(default_factory=list)
    open_writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_writers.add(writer)
        try:
            if (await reader.readexactly(1)) == b"\x05":
                await self._socks(reader, writer)
            else:
                await self._connect(reader, writer)
            if self.hang:
                await reader.read()  # until the client gives up
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port, local_addr=(self.source, 0)
            )
            await asyncio.gather(
                pipe(reader, upstream_writer),
                pipe(upstream_reader, writer),
                return_exceptions=True,
            )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_writers.discard(writer)
            writer.close()

    async def _socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        methods = await reader.readexactly((await reader.readexactly(1))[0])
        if 2 in methods:
            writer.write(b"\x05\x02")
            await reader.readexactly(1)
            user = await reader.readexactly((await reader.readexactly(1))[0])
            password = await reader.readexactly((await reader.readexactly(1))[0])
            self.credentials.append((user.decode(), password.decode()))
            writer.write(b"\x01\x00")
        else:
            writer.write(b"\x05\x00")
        self.targets.append(await socks_target(reader))
        if not self.hang:
            writer.write(b"\x05\x00\x00\x01" + bytes(6))

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        self.targets.append(line.split()[1].decode())
        while (await reader.readline()).strip():
            pass
        if not self.hang:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")


@asynccontextmanager
async def running(proxy: WayOutProxy) -> AsyncIterator[WayOutProxy]:
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        for writer in list(proxy.open_writers):
            writer.close()
        await server.wait_closed()


@asynccontextmanager
async def three_ways_out(upstream_port: int) -> AsyncIterator[list[WayOutProxy]]:
    """A SOCKS5 proxy leaving from 127.0.0.2, an HTTP proxy that hangs, and a SOCKS5 proxy
    leaving from 127.0.0.4."""
    proxies = [
        WayOutProxy(upstream_port, source="127.0.0.2"),
        WayOutProxy(upstream_port, hang=True),
        WayOutProxy(upstream_port, source="127.0.0.4"),
    ]
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running(p)) for p in proxies]
