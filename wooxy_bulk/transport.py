"""HTTP/1.1 for the API client: keep-alive connections on asyncio, answers parsed by httptools.

Why not aiohttp: measured side by side (benchmarks.compare, 3,000 messages at 50 ms latency,
medians of 5), the whole send path, journal included, took 0.182 ms of CPU a message over a bare
`aiohttp.ClientSession` and 0.084 over this; ten bare aiohttp workers doing nothing else took
0.128. In instructions (valgrind): 560k a message before, 224k after, the aiohttp workers 425k.
The parser is httptools (llhttp, Node.js's parser, which uvicorn uses too); TLS is asyncio's.

Its scope is what the Send SMS API needs: POST a body to an http(s) URL, one request at a time on
each connection, at most `limit` connections, kept alive between requests (a connection idle for
`idle_s` or closed by the server is replaced before a request, so nothing is written into a dead
one). Answers may be sized, chunked or read to the close. https goes through an http:// proxy
(CONNECT: proxy.py) where `proxy_for` names one (`proxy.environment_proxy`: HTTPS_PROXY and
NO_PROXY, as curl reads them). No redirects, no cookies.

Failures say whether the request went out: `ConnectFailed` (nothing was written: safe to try
again) or `NoAnswer` / `TimeoutError` (written, with no complete answer: it may have arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from urllib.parse import urlsplit

import httptools

from .proxy import TunnelFailed, open_tunnel, proxy_url

Reply = tuple[int, bytes, dict[str, str]]  # status, body, headers (names in lower case)
Post = Callable[[bytes], Awaitable[Reply]]
Origin = tuple[str, int, bool, str | None]  # host, port, TLS, the proxy to tunnel through
MAX_ANSWER = 1 << 20  # bytes of headers and body: the API's answers are a few dozen


class ConnectFailed(Exception):
    """No connection could be made; the request was not written. The cause is chained."""


class ConnectTimeout(ConnectFailed):
    """The connection (TLS handshake included) took longer than the timeout."""


class NoAnswer(Exception):
    """The request was written and no complete answer came: the server may have acted on it."""


class ServerClosed(NoAnswer):
    """The server closed the connection before its answer was complete."""


class BadAnswer(NoAnswer):
    """The answer was not valid HTTP."""


class HttpPool:
    """Keep-alive connections to one or more origins, at most `limit` open at any time.

    Use it as ``async with HttpPool(...) as pool`` and post through ``pool.poster(url, headers)``.
    """

    def __init__(
        self,
        *,
        timeout_s: float,
        limit: int,
        ssl_context: ssl.SSLContext | None = None,
        idle_s: float = 4.0,
        proxy_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self._ssl = ssl_context
        self._idle_s = idle_s
        self._proxy_for = proxy_for
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def __aenter__(self) -> HttpPool:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection; requests still running fail with `ServerClosed`."""
        for connection in list(self._open):
            connection.close(abort=False)
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing

    def poster(self, url: str, headers: Mapping[str, str]) -> Post:
        """A function that POSTs a body to `url` with `headers`; raises ValueError for a bad URL
        or header (which it names; header values are never shown)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("a user name or password in the URL is not supported")
        tls = parts.scheme == "https"
        try:
            port = parts.port or (443 if tls else 80)
        except ValueError:
            raise ValueError(f"{url!r} has an invalid port") from None
        host = parts.hostname
        authority = f"[{host}]" if ":" in host else host
        if port != (443 if tls else 80):
            authority += f":{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not (target.isascii() and target.isprintable()) or " " in target:
            raise ValueError(f"{url!r} holds spaces or characters to percent-encode first")
        lines = [f"POST {target} HTTP/1.1", f"Host: {authority}", "Accept-Encoding: identity"]
        for name, value in headers.items():
            if any(c in name + value for c in "\r\n\0") or not name.isascii():
                raise ValueError(f"the {name!r} header holds a line break or a non-ASCII name")
            lines.append(f"{name}: {value}")
        try:
            head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("a header value holds characters HTTP cannot carry") from None
        proxy = self._proxy_for(host) if tls and self._proxy_for else None
        if proxy is not None:
            proxy = proxy_url(proxy)
        origin = (host, port, tls, proxy)

        async def post(body: bytes) -> Reply:
            return await self._request(origin, b"%s%d\r\n\r\n%s" % (head, len(body), body))

        return post

    async def _request(self, origin: Origin, request: bytes) -> Reply:
        async with self._slots:
            connection = self._idle_connection(origin) or await self._connect(origin)
            answer = await connection.exchange(request, self.timeout_s)
            if connection.reusable:
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close(abort=False)
            return answer

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.fresh(self._idle_s):
                return connection
            connection.close(abort=False)
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        host, port, tls, proxy = origin
        loop = asyncio.get_running_loop()
        context = (self._ssl or ssl.create_default_context()) if tls else None
        try:
            async with asyncio.timeout(self.timeout_s):
                if proxy is not None and context is not None:
                    return await self._through(proxy, host, port, context)
                _, connection = await loop.create_connection(
                    lambda: _Connection(self._open), host, port, ssl=context
                )
        except TimeoutError as exc:
            raise ConnectTimeout(f"no connection to {host}:{port} in {self.timeout_s:g} s") from exc
        except TunnelFailed as exc:
            raise ConnectFailed(str(exc)) from exc
        except OSError as exc:  # refused, unreachable, no such host, TLS refused
            raise ConnectFailed(f"{host}:{port}: {exc}") from exc
        return connection

    async def _through(
        self, proxy: str, host: str, port: int, context: ssl.SSLContext
    ) -> _Connection:
        """TLS to host:port inside the proxy's CONNECT tunnel."""
        raw = await open_tunnel(proxy, host, port)
        connection = _Connection(self._open)
        loop = asyncio.get_running_loop()
        try:
            secure = await loop.start_tls(raw, connection, context, server_hostname=host)
        except BaseException:
            raw.abort()
            raise
        if secure is None:
            raise TunnelFailed(f"the proxy closed the tunnel to {host}:{port} during TLS")
        connection.connection_made(secure)
        return connection


class _Connection(asyncio.Protocol):
    """One connection: writes a request, parses its answer, and knows if it can be reused."""

    def __init__(self, registry: set[_Connection]) -> None:
        self._registry = registry
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Reply] | None = None
        self._new_answer()
        self.reusable = True
        self._last_used = self._loop.time()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._registry.add(self)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing was asked: a confused server
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:  # callbacks' errors included (_grow's)
            if self._size > MAX_ANSWER:
                self._fail(BadAnswer(f"the answer is larger than {MAX_ANSWER >> 20} MiB"))
            else:
                self._fail(BadAnswer(f"the answer was not valid HTTP ({exc})"))
        except httptools.HttpParserUpgrade:
            self._fail(BadAnswer("the answer was not valid HTTP (it switched protocols)"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._registry.discard(self)
        if self._waiter is None or self._waiter.done():
            return
        if self._status and not ({"content-length", "transfer-encoding"} & self._headers.keys()):
            self._complete()  # an answer delimited by the close of the connection
        else:
            reason = f": {exc}" if exc else ""
            self._fail(ServerClosed(f"the server closed the connection{reason}"))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value))
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._grow(len(body))
        self._body.append(body)

    def _grow(self, size: int) -> None:
        """Count `size` more bytes of the answer; past MAX_ANSWER, stop reading it."""
        self._size += size
        if self._size > MAX_ANSWER:
            raise OverflowError  # feed_data stops, raising HttpParserCallbackError

    def on_message_complete(self) -> None:
        if self._waiter is None:  # a second answer to one request: a confused server
            self.close()
            return
        if 100 <= self._status < 200:  # informational: the real answer follows
            self._new_answer()
            return
        if not self._parser.should_keep_alive():
            self.reusable = False
        self._complete()

    # -- use ---------------------------------------------------------------------------------

    def _new_answer(self) -> None:
        """Forget the answer read so far: a request is starting, or a 1xx answer ended."""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0  # bytes of the answer read so far
        self._status = 0  # of the answer being read; 0 until its headers are complete

    def fresh(self, idle_s: float) -> bool:
        """Open, not closing, and used within `idle_s` (before a server would drop it)."""
        transport = self._transport
        return (
            self.reusable
            and transport is not None
            and not transport.is_closing()
            and self._loop.time() - self._last_used < idle_s
        )

    async def exchange(self, request: bytes, timeout_s: float) -> Reply:
        """Write `request` and wait up to `timeout_s` for its whole answer."""
        assert self._transport is not None and self._waiter is None
        waiter = self._waiter = self._loop.create_future()
        self._new_answer()
        self._transport.write(request)
        timer = self._loop.call_later(timeout_s, _expire, waiter)
        try:
            answer = await waiter
        except BaseException:  # timed out, cancelled, failed: the answer may still come
            self.close()
            raise
        finally:
            timer.cancel()
            self._waiter = None
        self._last_used = self._loop.time()
        return answer

    def close(self, *, abort: bool = True) -> None:
        """Close at once (`abort`: whatever is buffered is dropped) or after the buffer is sent."""
        self.reusable = False
        if self._transport is not None:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()

    def _complete(self) -> None:
        body = b"".join(self._body)
        if self._headers.get("content-encoding", "identity").lower() in ("gzip", "deflate"):
            # left as it came if it does not inflate: the classifier reports an unreadable answer
            with contextlib.suppress(zlib.error):
                body = zlib.decompress(body, wbits=47)  # gzip or zlib, by its header
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, body, self._headers))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()


def _expire(waiter: asyncio.Future[Reply]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
