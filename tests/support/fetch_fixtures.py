"""Test seams for the fetcher: a table-driven DNS, a socket-layer connection counter, bombs,
proxies that tunnel and proxies that fail.

``Attempts`` wraps the running event loop's ``sock_connect`` (which aiohttp's happy-eyeballs
connect calls for every TCP connection): it records each attempt and refuses any that is not
to loopback, so a test can count attempts and no packet can leave the machine.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import brotli
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from backports.zstd import ZstdCompressor

from tests.conftest import Origin

MIB = 1024 * 1024


class TableResolver(AbstractResolver):
    """Answers names from a table; a list of answer lists is played in turn (rebinding)."""

    def __init__(self, table: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self._table = {name: list(answers) for name, answers in table.items()}
        self.queries: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.queries.append(host)
        answers = self._table.get(host.lower().rstrip("."))
        if not answers:
            raise OSError(errno.ENOENT, f"no such name {host}")
        current = answers.pop(0) if len(answers) > 1 else answers[0]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in current
        ]

    async def close(self) -> None:
        return None


@dataclass
class Attempts:
    """Every TCP connect attempted on the loop: (address, port)."""

    made: list[tuple[str, int]] = field(default_factory=list)

    def to(self, address: str) -> list[tuple[str, int]]:
        return [a for a in self.made if a[0] == address]


@pytest.fixture(name="attempts")
async def attempts_fixture() -> AsyncIterator[Attempts]:
    async with watch_sockets() as record:
        yield record


@asynccontextmanager
async def watch_sockets() -> AsyncIterator[Attempts]:
    """Record every TCP connect on the running loop, and stop any not to loopback."""
    loop = asyncio.get_running_loop()
    record = Attempts()
    real = loop.sock_connect

    async def counted(sock: socket.socket, address: Any) -> None:
        record.made.append((str(address[0]), int(address[1])))
        if address[0] not in {"127.0.0.1", "::1"}:
            raise OSError(errno.ENETUNREACH, "the test sandbox only reaches loopback")
        await real(sock, address)

    loop.sock_connect = counted  # type: ignore[method-assign]
    yield record
    del loop.sock_connect


def gzip_bomb(inflated: int) -> bytes:
    """Concatenated gzip members of zeros, about 1/1000 of ``inflated`` on the wire."""
    member_size = 16 * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    member = compressor.compress(bytes(member_size)) + compressor.flush()
    return member * (inflated // member_size)


def brotli_bomb(inflated: int) -> bytes:
    compressor = brotli.Compressor(quality=1)
    block = bytes(16 * MIB)
    parts = [compressor.process(block) for _ in range(inflated // len(block))]
    ending: bytes = compressor.finish()
    return b"".join(parts) + ending


def zstd_bomb(inflated: int) -> bytes:
    frame = ZstdCompressor().compress(bytes(16 * MIB), ZstdCompressor.FLUSH_FRAME)
    return frame * (inflated // (16 * MIB))


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass
class TunnelProxy:
    """A tiny HTTP CONNECT and SOCKS5 proxy on loopback, mapping names to one local port.

    Like a real proxy it resolves names itself (here: every name goes to ``port`` on
    127.0.0.1); it records the targets it was asked for.
    """

    port: int
    targets: list[str] = field(default_factory=list)
    listen_port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.readexactly(1)
        if first == b"\x05":
            await self._socks_greeting(reader, writer)
        else:
            line = first + await reader.readline()
            self.targets.append(line.split()[1].decode())
            while (await reader.readline()).strip():
                pass
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)
        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )

    async def _socks_greeting(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        methods = await reader.readexactly((await reader.readexactly(1))[0])
        assert 0 in methods, "the fetcher offers no-authentication"
        writer.write(b"\x05\x00")
        self.targets.append(await socks_target(reader))
        writer.write(b"\x05\x00\x00\x01" + bytes(6))


@dataclass
class InFlight:
    """An origin route's requests in flight at once: ``hold`` keeps one open a moment, and
    ``most`` is the most there were at one time (the limit a test checks)."""

    now: int = 0
    most: int = 0

    async def hold(self, seconds: float = 0.05) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(seconds)
        self.now -= 1


async def socks_target(reader: asyncio.StreamReader) -> str:
    """The ``host:port`` a SOCKS5 CONNECT request names (read after the method choice)."""
    _, _, _, kind = await reader.readexactly(4)
    if kind == 3:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
    else:
        raw = await reader.readexactly(4 if kind == 1 else 16)
        host = socket.inet_ntop(socket.AF_INET if kind == 1 else socket.AF_INET6, raw)
    port = int.from_bytes(await reader.readexactly(2), "big")
    return f"{host}:{port}"


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture(name="tunnel_proxy")
async def tunnel_proxy_fixture(origin: Origin) -> AsyncIterator[TunnelProxy]:
    proxy = TunnelProxy(port=origin.port)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.listen_port = server.sockets[0].getsockname()[1]
    yield proxy
    server.close()
    await server.wait_closed()


@asynccontextmanager
async def failing_proxy(behaviour: str) -> AsyncIterator[int]:
    """The port of a proxy that fails as real ones do: ``refuse`` the credentials (HTTP 407,
    or a SOCKS5 authentication failure), ``hang up`` on the request, or be ``closed``."""
    if behaviour == "closed":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield port
        return
    server = await asyncio.start_server(
        _refuse if behaviour == "refuse" else _hang_up, "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if await reader.readexactly(1) == b"\x05":
        await reader.readexactly((await reader.readexactly(1))[0])
        writer.write(b"\x05\x02")  # user name and password, please
        await reader.readexactly(1)
        await reader.readexactly((await reader.readexactly(1))[0])
        await reader.readexactly((await reader.readexactly(1))[0])
        writer.write(b"\x01\x01")  # wrong
    else:
        while (await reader.readline()).strip():
            pass
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    await writer.drain()
    writer.close()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readline()
    writer.close()
