"""The default client: aiohttp, one session per way out.

The address policy holds at two points: every DNS answer (``guard.PolicyResolver``) and the
address each socket is about to connect to (``guard.AddressGuard.open_socket``, aiohttp's
``socket_factory``). Through a proxy the proxy connects (``aiohttp_socks``, names resolved by
the proxy); the ``Fetcher`` checks names first unless the proxy is ``socks5h://``. Bodies are
inflated by ``inflate.Inflater``, never by aiohttp, so the decoded size is capped. Cookies
are dropped (a dummy jar) and proxy environment variables ignored (``trust_env=False``).

aiohttp's and the proxy library's exceptions become ``mirror.errors`` in
``translated_errors`` and nowhere else.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager

import aiohttp
import aiohttp_socks
from python_socks import ProxyType
from yarl import URL

from mirror.errors import (
    AddressNotAllowed,
    BadRequest,
    OriginBroken,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
)
from mirror.fetch.guard import REFUSED, AddressGuard, PolicyResolver
from mirror.fetch.inflate import ACCEPT_ENCODING, BodyTooLarge, BrokenEncoding, Inflater
from mirror.fetch.reply import Reply, WantsBody
from mirror.settings import FetchConfig, WayOut

PROXY_FAILED = "The site could not be reached through the proxy."
CHUNK_BYTES = 64 * 1024
TOR_SESSIONS = 64  # Tor circuits (origins) with a session open at once; older ones retire


@contextmanager
def translated_errors(config: FetchConfig) -> Iterator[None]:
    """The one place where aiohttp's, the proxy's and the inflater's exceptions become ours."""
    refused: list[str] = []
    token = REFUSED.set(refused)
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise OriginTimeout(f"No connection within {config.connect_timeout:g} s.") from exc
    except aiohttp_socks.ProxyTimeoutError as exc:
        raise OriginTimeout("The proxy did not connect in time.") from exc
    except TimeoutError as exc:
        raise OriginTimeout(f"No answer within {config.header_timeout:g} s.") from exc
    except aiohttp.InvalidURL as exc:
        raise BadRequest("That address is not a valid URL.") from exc
    except aiohttp.ClientConnectorError as exc:
        if refused:
            raise AddressNotAllowed("The site's address is not public.") from exc
        raise OriginUnreachable(str(exc.os_error)) from exc
    except (aiohttp_socks.ProxyError, aiohttp_socks.ProxyConnectionError) as exc:
        # Their text names the proxy and may quote its address with the credentials.
        raise OriginUnreachable(PROXY_FAILED) from exc
    except (aiohttp.ClientPayloadError, asyncio.IncompleteReadError) as exc:
        raise OriginBroken("The page was cut short.") from exc
    except BodyTooLarge as exc:
        raise TooLarge(f"The page is over the limit of {config.max_bytes} bytes.") from exc
    except BrokenEncoding as exc:
        raise OriginBroken(f"The page is not valid: {exc}.") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise OriginUnreachable(type(exc).__name__) from exc
    finally:
        REFUSED.reset(token)


def ssl_context(config: FetchConfig) -> ssl.SSLContext:
    """The system's trust, and ``ca_file`` beside it (which must exist)."""
    context = ssl.create_default_context()
    if config.ca_file:
        context.load_verify_locations(config.ca_file)
    return context


class PlainClient:
    """aiohttp sessions, one per way out (and per isolated origin over Tor)."""

    name = "default"

    def __init__(self, config: FetchConfig, guard: AddressGuard, resolver: PolicyResolver) -> None:
        self._config = config
        self._guard = guard
        self._resolver = resolver
        self._context = ssl_context(config)
        self._inflating = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate")
        # Most recently used last, so the oldest Tor circuit is the first to retire.
        self._sessions: OrderedDict[tuple[str, str], aiohttp.ClientSession] = OrderedDict()
        self._tor_keys: set[tuple[str, str]] = set()
        self._retired: dict[aiohttp.ClientSession, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        for timer in self._retired.values():
            timer.cancel()
        for session in [*self._sessions.values(), *self._retired]:
            await session.close()
        await asyncio.gather(*self._closing)
        self._inflating.shutdown(wait=False, cancel_futures=True)

    @asynccontextmanager
    async def exchange(
        self, url: str, headers: Mapping[str, str], way: WayOut, wants_body: WantsBody
    ) -> AsyncIterator[Reply]:
        session = self._session(way)
        with translated_errors(self._config):
            async with session.get(url, allow_redirects=False, headers=headers) as response:
                yield Reply(
                    response.status,
                    response.reason or "",
                    response.headers,
                    lambda: self._read_capped(response),
                )

    def _session(self, way: WayOut) -> aiohttp.ClientSession:
        """The way out's session: over Tor one per set of SOCKS credentials (a circuit per
        origin, ``egress.Health.route``), so two origins never share a circuit."""
        key = (way.name, way.proxy)
        if key in self._sessions:
            self._sessions.move_to_end(key)
            return self._sessions[key]
        session = self._sessions[key] = self._new_session(way)
        if way.tor:
            self._tor_keys.add(key)
            self._retire_oldest_circuit()
        return session

    def _retire_oldest_circuit(self) -> None:
        """Past ``TOR_SESSIONS``, the least recently used Tor session leaves the table and is
        closed once a fetch still using it has had its whole time (``fetch.timeout``): the
        sessions stay bounded and an origin that comes back gets a session of its own."""
        if len(self._tor_keys) <= TOR_SESSIONS:
            return
        oldest = next(key for key in self._sessions if key in self._tor_keys)
        self._tor_keys.discard(oldest)
        session = self._sessions.pop(oldest)
        loop = asyncio.get_running_loop()
        self._retired[session] = loop.call_later(self._config.timeout, self._close_retired, session)

    def _close_retired(self, session: aiohttp.ClientSession) -> None:
        del self._retired[session]
        task = asyncio.ensure_future(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _new_session(self, way: WayOut) -> aiohttp.ClientSession:
        headers = {
            "User-Agent": self._config.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if self._config.accept_language:
            headers["Accept-Language"] = self._config.accept_language
        return aiohttp.ClientSession(
            connector=self._connector(way),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers=headers,
            # Waiting for a free connection (per-origin limit) counts against the total
            # deadline only: the connect deadline is for opening one connection, and the
            # header deadline runs from the request, as a read deadline (which also ends a
            # body that stops arriving; one that trickles ends at the total deadline).
            timeout=aiohttp.ClientTimeout(
                sock_connect=self._config.connect_timeout,
                sock_read=self._config.header_timeout,
            ),
            auto_decompress=False,
        )

    def _connector(self, way: WayOut) -> aiohttp.TCPConnector:
        """A direct connector, or one that tunnels every connection through the proxy."""
        per_origin = self._config.per_origin_connections
        if not way.proxy:
            return aiohttp.TCPConnector(
                resolver=self._resolver,
                socket_factory=self._guard.open_socket,
                ssl=self._context,
                limit_per_host=per_origin,
                use_dns_cache=False,
            )
        url = URL(way.proxy)
        return aiohttp_socks.ProxyConnector(
            proxy_type=ProxyType.HTTP if url.scheme == "http" else ProxyType.SOCKS5,
            host=url.host or "",
            port=url.port or 1080,
            username=url.user,
            password=url.password,
            rdns=True,
            ssl=self._context,
            limit_per_host=per_origin,
        )

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, refused as soon as it (or any encoded layer) passes the cap."""
        limit = self._config.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise BodyTooLarge
        inflater = Inflater(response.headers.get("Content-Encoding", ""), limit)
        chunks: list[bytes] = []
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            # Inflating is CPU work (zlib, brotli and zstd release the GIL): a thread keeps
            # the event loop serving everyone else while a large page is decoded. One
            # thread, not a pool: more threads fight the loop for the GIL (bench/loop_lag.py).
            if inflater.compressed:
                loop = asyncio.get_running_loop()
                chunks.append(await loop.run_in_executor(self._inflating, inflater.feed, chunk))
            else:
                chunks.append(inflater.feed(chunk))
        inflater.finish()
        return b"".join(chunks)
