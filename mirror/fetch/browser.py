"""The browser-like client: libcurl through curl_cffi, presenting a current browser's TLS
ClientHello, HTTP/2 settings and headers (``fetch.impersonate``), for ``client = "browser"``.

It keeps the default client's rules, its own way:

* the address policy on the connected address: the name is resolved and every answer
  checked by the same ``guard.PolicyResolver``, the chosen address is checked again just
  before the connection (``AddressGuard.connecting``), curl is pinned to it
  (``CURLOPT_CONNECT_TO``, so it resolves nothing itself), and the address curl reports
  having connected to (``CURLINFO_PRIMARY_IP``) must be that one, or the fetch fails closed;
* curl never decodes (``CURLOPT_HTTP_CONTENT_DECODING = 0``): bodies go through the same
  bounded ``inflate.Inflater``, the raw body is capped as it arrives, and a body nobody will
  read (an error status, a wrong type) is not received at all;
* deadlines: curl's connect deadline; the header deadline kept here from the connection on
  (the longest silence, as aiohttp's read deadline); the ``Fetcher`` holds the total one;
* no cookie engine, no proxy from the environment (``CURLOPT_PROXY`` always set), only http
  and https, the impersonated browser's own User-Agent.

Transfers run on the event loop through curl's multi interface (``curl_cffi.aio``), so a
deadline cancels one at once. curl's errors become ``mirror.errors`` in ``curl_errors``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

import certifi
from curl_cffi import Curl, CurlECode, CurlError, CurlInfo, CurlOpt
from curl_cffi._wrapper import ffi, lib  # type: ignore[import-not-found]
from curl_cffi.aio import AsyncCurl
from curl_cffi.requests.impersonate import REAL_TARGET_MAP
from yarl import URL

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    ConfigError,
    OriginBroken,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
)
from mirror.fetch.guard import REFUSED, AddressGuard, PolicyResolver
from mirror.fetch.headers import Transfer
from mirror.fetch.inflate import BodyTooLarge, BrokenEncoding
from mirror.fetch.plain import PROXY_FAILED
from mirror.fetch.reply import Reply, WantsBody
from mirror.settings import FetchConfig, WayOut

BROKEN = {
    CurlECode.PARTIAL_FILE: "The page was cut short.",
    CurlECode.WEIRD_SERVER_REPLY: "The site's answer is not valid HTTP.",
    CurlECode.HTTP2: "The site's HTTP/2 answer is not valid.",
    CurlECode.HTTP2_STREAM: "The page was cut short.",
}


@contextmanager
def curl_errors(config: FetchConfig, way: WayOut, transfer: Transfer) -> Iterator[None]:
    """The one place where curl's, the resolver's and the inflater's exceptions become ours."""
    refused: list[str] = []
    token = REFUSED.set(refused)
    try:
        yield
    except CurlError as exc:
        raise _translated(exc, config, way, transfer) from exc
    except TimeoutError as exc:
        raise OriginTimeout(f"No answer within {config.header_timeout:g} s.") from exc
    except BodyTooLarge as exc:
        raise TooLarge(f"The page is over the limit of {config.max_bytes} bytes.") from exc
    except BrokenEncoding as exc:
        raise OriginBroken(f"The page is not valid: {exc}.") from exc
    except OSError as exc:
        if refused:
            raise AddressNotAllowed("The site's address is not public.") from exc
        raise OriginUnreachable(type(exc).__name__) from exc
    finally:
        REFUSED.reset(token)


def _translated(exc: CurlError, config: FetchConfig, way: WayOut, transfer: Transfer) -> Exception:
    """curl's error code as ours; its text is kept as the cause only. Through a proxy, any
    failure before the origin's answer began is the proxy's (a reset by the origin there
    cannot be told from one by the proxy)."""
    code = exc.code
    if code in BROKEN:
        return OriginBroken(BROKEN[CurlECode(code)])
    if code in {CurlECode.URL_MALFORMAT, CurlECode.UNSUPPORTED_PROTOCOL}:
        return BadRequest("That address is not a valid URL.")
    if code in {CurlECode.PEER_FAILED_VERIFICATION, CurlECode.SSL_CONNECT_ERROR}:
        return OriginUnreachable("The site's certificate or TLS handshake failed.")
    if way.proxy and not transfer.answered(tunnelled=way.proxy.startswith("http:")):
        # curl's text names the proxy and may quote its address.
        if code == CurlECode.OPERATION_TIMEDOUT:
            return OriginTimeout("The proxy did not connect in time.")
        return OriginUnreachable(PROXY_FAILED)
    if code == CurlECode.OPERATION_TIMEDOUT:
        return OriginTimeout(f"No connection within {config.connect_timeout:g} s.")
    return OriginUnreachable(f"curl error {int(code)}")


def _connected(curl: Curl) -> bool:
    """Whether curl has connected (to the origin, or to the proxy)."""
    connected = curl.getinfo(CurlInfo.CONNECT_TIME_T)
    return isinstance(connected, int) and connected > 0


class BrowserClient:
    """curl handles on one multi handle; connections are reused by curl between them."""

    name = "browser"

    def __init__(self, config: FetchConfig, guard: AddressGuard, resolver: PolicyResolver) -> None:
        self._config = config
        self._guard = guard
        self._resolver = resolver
        self._target = REAL_TARGET_MAP.get(config.impersonate, config.impersonate)
        self._bundle = _trust_bundle(config.ca_file)
        self._inflating = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate")
        self._multi: AsyncCurl | None = None

    async def open(self) -> None:
        probe = Curl()
        known = probe.impersonate(self._target) == 0
        probe.close()
        if not known:
            raise ConfigError(f"fetch.impersonate: curl_cffi cannot impersonate {self._target!r}")
        self._multi = AsyncCurl(cacert=self._bundle.name)

    async def close(self) -> None:
        if self._multi is not None:
            await self._multi.close()  # type: ignore[no-untyped-call]
        self._bundle.close()
        self._inflating.shutdown(wait=False, cancel_futures=True)

    @asynccontextmanager
    async def exchange(
        self, url: str, headers: Mapping[str, str], way: WayOut, wants_body: WantsBody
    ) -> AsyncIterator[Reply]:
        transfer = Transfer(self._config.max_bytes, wants_body)
        curl = Curl(cacert=self._bundle.name)
        pins = None
        try:
            with curl_errors(self._config, way, transfer):
                self._prepare(curl, url, headers, way, transfer)
                pinned = None if way.proxy else await self._pinned_address(url)
                if pinned is not None:
                    pins = _connect_to(curl, *pinned)
                await self._perform(curl, transfer)
                if pinned is not None:
                    _check_connected(curl, pinned[0])
                yield transfer.reply(self._inflate)
        finally:
            curl.close()
            if pins is not None:
                lib.curl_slist_free_all(pins)

    def _prepare(
        self, curl: Curl, url: str, headers: Mapping[str, str], way: WayOut, transfer: Transfer
    ) -> None:
        curl.impersonate(self._target)
        curl.setopt(CurlOpt.URL, url)
        curl.setopt(CurlOpt.PROTOCOLS_STR, "http,https")
        curl.setopt(CurlOpt.FOLLOWLOCATION, 0)  # the Fetcher follows, checking each hop
        curl.setopt(CurlOpt.HTTP_CONTENT_DECODING, 0)
        curl.setopt(CurlOpt.NOSIGNAL, 1)
        curl.setopt(CurlOpt.CONNECTTIMEOUT_MS, int(self._config.connect_timeout * 1000))
        # Always set: an empty proxy turns off the proxy environment variables.
        curl.setopt(CurlOpt.PROXY, way.proxy.replace("socks5://", "socks5h://", 1))
        if way.proxy.startswith("http:"):
            curl.setopt(CurlOpt.HTTPPROXYTUNNEL, 1)
        language = self._config.accept_language
        sent = [f"{name}: {value}" for name, value in headers.items()]
        sent.append(f"Accept-Language: {language}" if language else "Accept-Language:")
        curl.setopt(CurlOpt.HTTPHEADER, [line.encode() for line in sent])
        curl.setopt(CurlOpt.HEADERFUNCTION, transfer.on_header)
        curl.setopt(CurlOpt.WRITEFUNCTION, transfer.on_body)

    async def _pinned_address(self, url: str) -> tuple[str, int]:
        """The checked address (and port) the connection for ``url`` must go to."""
        parts = URL(url)
        host, port = parts.raw_host or "", parts.port or 0
        answers = await self._resolver.resolve(host.strip("[]"), port, socket.AF_UNSPEC)
        if not answers:
            raise OSError(f"no address for {host}")
        address, connect_port = answers[0]["host"], int(answers[0]["port"])
        self._guard.connecting(address, connect_port)
        return address, connect_port

    async def _perform(self, curl: Curl, transfer: Transfer) -> None:
        """Run the transfer on the multi handle; silence past the header deadline (counted
        from the connection) ends it, as does cancellation (the total deadline)."""
        assert self._multi is not None, "BrowserClient used before open()"
        future = self._multi.add_handle(curl)
        limit = self._config.header_timeout
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=min(limit / 4, 0.25))
                if done:
                    break
                if not _connected(curl):
                    transfer.heard()
                elif time.monotonic() - transfer.last_heard > limit:
                    raise TimeoutError
        except BaseException:
            self._multi.remove_handle(curl)
            raise
        if not transfer.stopped_by(future.exception()):
            future.result()

    async def _inflate(self, transfer: Transfer) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._inflating, transfer.inflated)


def _connect_to(curl: Curl, address: str, port: int) -> object:
    """Pin every connection of ``curl`` to ``address:port`` (curl_cffi takes no list for
    ``CURLOPT_CONNECT_TO``, so the list is made here and freed after the transfer)."""
    shown = f"[{address}]" if ":" in address else address
    pins = lib.curl_slist_append(ffi.NULL, f"::{shown}:{port}".encode())
    if lib._curl_easy_setopt(curl._curl, CurlOpt.CONNECT_TO, pins) != 0:
        lib.curl_slist_free_all(pins)
        raise OSError("curl refused the connection pin")
    return pins


def _check_connected(curl: Curl, expected: str) -> None:
    """Fail closed unless curl connected to the checked address."""
    raw = curl.getinfo(CurlInfo.PRIMARY_IP)
    connected = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        same = ipaddress.ip_address(connected) == ipaddress.ip_address(expected.split("%")[0])
    except ValueError:
        same = False
    if not same:
        raise AddressNotAllowed("The connection went to an address that was not checked.")


def _trust_bundle(ca_file: str) -> IO[bytes]:
    """The CAs curl trusts: certifi's, and ``ca_file`` beside them (which must exist)."""
    extra = Path(ca_file).read_bytes() if ca_file else b""
    bundle = tempfile.NamedTemporaryFile(prefix="mirror-ca-", suffix=".pem")  # noqa: SIM115
    bundle.write(Path(certifi.where()).read_bytes() + b"\n" + extra)
    bundle.flush()
    return bundle
