"""HTTP(S) to the API: one aiohttp session, and every failure told apart by whether the request
went out.

`open_post` yields a `Post`: ``await post(url, body, headers)`` gives ``(status, body, headers)``
or raises `PostError`. The session verifies TLS against `trusted_context()`, reaches the API
through the proxy that HTTPS_PROXY names unless NO_PROXY lists its host (`env_proxy`), holds at
most `concurrency` connections and closes idle ones before servers do. The proxy is read once per
host with the stdlib's `urllib.request` rules, the ones aiohttp's `trust_env` applies; not
`trust_env` itself, which reads them and ~/.netrc in a thread for every request and would proxy
loopback too. Loopback (the sandbox) is never proxied.

A request "went out" once its headers were handed to the connection (aiohttp's trace signal):
a failure before that is safe to retry; after it, the API may have taken the message. The timeout
does not count time the process was stopped (SIGSTOP, a laptop's lid): answers that arrived
meanwhile are read before any timeout is declared.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp
import certifi
from yarl import URL

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})  # this machine: plain http allowed
KEEPALIVE_S = 3.0  # idle connections close before servers close them (uvicorn: 5 s, nginx: 75 s)
MAX_ANSWER = 1 << 20  # an answer larger than this is no answer of the API's
_SLICE_S = 1.0  # the timeout counts in slices; one that wakes this much late was a stall

Reply = tuple[int, bytes, Mapping[str, str]]
Post = Callable[[str, bytes, Mapping[str, str]], Awaitable[Reply]]


class PostError(Exception):
    """A request that got no usable HTTP answer; the message is one line, for the row's error.

    `went_out`: the request may have reached the server (never send it again blindly);
    `fatal`: every request would fail alike (an untrusted certificate, a URL aiohttp refuses).
    """

    def __init__(self, message: str, *, went_out: bool, fatal: bool = False) -> None:
        super().__init__(message)
        self.went_out, self.fatal = went_out, fatal


def trusted_context() -> ssl.SSLContext:
    """Certificates verified against Mozilla's CA bundle (certifi) and the system's own store.

    The system store is where a company's TLS-inspecting proxy puts its CA, and OpenSSL's
    SSL_CERT_FILE / SSL_CERT_DIR variables point it elsewhere, as for curl, git and pip.
    """
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return context


@asynccontextmanager
async def open_post(*, timeout_s: float, concurrency: int) -> AsyncIterator[Post]:
    """A `Post` over one aiohttp session, for the duration of the ``async with``."""
    connector = aiohttp.TCPConnector(
        limit=concurrency, keepalive_timeout=KEEPALIVE_S, ssl=trusted_context()
    )
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_mark_sent)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),  # ours (stall-proof) applies instead
        trace_configs=[trace],
    ) as session:
        yield _Poster(session, timeout_s)


async def _mark_sent(session: Any, context: SimpleNamespace, params: Any) -> None:
    context.trace_request_ctx.went_out = True


def env_proxy(url: URL) -> tuple[URL | None, dict[str, str] | None]:
    """The proxy the environment names for `url`'s scheme (HTTPS_PROXY, HTTP_PROXY; lower case
    first, as curl and urllib read them) and the headers for it: Proxy-Authorization from the
    proxy URL's ``user:password@``. None for loopback or a host NO_PROXY lists."""
    host = url.host or ""
    named = urllib.request.getproxies().get(url.scheme)
    if not named or host in LOOPBACK or urllib.request.proxy_bypass(host):
        return None, None
    proxy = URL(named)
    if proxy.raw_user is None and proxy.raw_password is None:
        return proxy, None
    auth = aiohttp.encode_basic_auth(proxy.user or "", proxy.password or "")
    return proxy.with_user(None), {"Proxy-Authorization": auth}


class _Poster:
    """The `Post` of `open_post`: one request, its timeout, its failure classified."""

    def __init__(self, session: aiohttp.ClientSession, timeout_s: float) -> None:
        self._session, self._timeout_s = session, timeout_s
        self._proxies: dict[tuple[str, str], tuple[URL | None, dict[str, str] | None]] = {}

    def _proxy(self, url: URL) -> tuple[URL | None, dict[str, str] | None]:
        """`env_proxy(url)`, read once per scheme and host."""
        key = (url.scheme, url.host or "")
        if key not in self._proxies:
            self._proxies[key] = env_proxy(url)
        return self._proxies[key]

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        request = SimpleNamespace(went_out=False)
        try:
            async with asyncio.timeout(None) as deadline:
                with _Watchdog(deadline, self._timeout_s):
                    return await self._request(url, body, headers, request)
        except TimeoutError:
            phase = "read" if request.went_out else "connect"
            error = f"{phase} timeout after {self._timeout_s:g} s"
            raise PostError(error, went_out=request.went_out) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise post_error(exc, went_out=request.went_out) from None

    async def _request(
        self, url: str, body: bytes, headers: Mapping[str, str], request: SimpleNamespace
    ) -> Reply:
        target = URL(url)
        proxy, proxy_headers = self._proxy(target)
        async with self._session.post(
            target,
            data=body,
            headers=headers,
            proxy=proxy,
            proxy_headers=proxy_headers,
            allow_redirects=False,
            trace_request_ctx=request,
        ) as response:
            content = bytearray()
            async for chunk in response.content.iter_any():
                content += chunk
                if len(content) > MAX_ANSWER:
                    raise PostError("the answer was larger than 1 MiB", went_out=True)
            return response.status, bytes(content), response.headers


class _Watchdog:
    """Moves `deadline` to now once `timeout_s` seconds of the process's own time have passed.

    It wakes every slice; a slice that wakes far later than asked means the process was stopped
    (SIGSTOP, a laptop's lid), so that slice does not count and the answers that arrived
    meanwhile are read (I/O runs before timers in the loop's next step) before any timeout.
    """

    def __init__(self, deadline: asyncio.Timeout, timeout_s: float) -> None:
        self._deadline, self._left = deadline, timeout_s
        self._loop = asyncio.get_running_loop()
        self._arm()

    def _arm(self) -> None:
        self._step = min(self._left, _SLICE_S)
        self._due = self._loop.time() + self._step
        self._timer = self._loop.call_at(self._due, self._wake)

    def _wake(self) -> None:
        if self._loop.time() - self._due < _SLICE_S:  # not a stall: the slice counts
            self._left -= self._step
        if self._left > 0:
            self._arm()
        else:
            self._deadline.reschedule(self._loop.time())

    def __enter__(self) -> _Watchdog:
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def post_error(exc: BaseException, *, went_out: bool) -> PostError:
    """The PostError for an exception aiohttp raised, `went_out` as its trace saw it."""
    if isinstance(exc, PostError):
        return exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return PostError(
            one_line(f"TLS certificate verification failed: {exc}"), went_out=False, fatal=True
        )
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return PostError(one_line(f"cannot send to {exc}"), went_out=False, fatal=True)
    if not went_out or _never_written(exc):
        return PostError(one_line(_not_sent(exc)), went_out=False)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return PostError("the server closed the connection without an answer", went_out=True)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return PostError(one_line(f"the answer was cut short ({exc})"), went_out=True)
    if isinstance(exc, aiohttp.ClientResponseError):
        return PostError(one_line(f"the answer was not valid HTTP ({exc.message})"), went_out=True)
    error = f"connection lost mid-request ({type(exc).__name__}: {exc})"
    return PostError(one_line(error), went_out=True)


def _never_written(exc: BaseException) -> bool:
    """Whether aiohttp found the connection closing when it came to write the request (a
    keep-alive connection the server closed meanwhile, say while this process was stopped):
    then not one byte went out."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.ClientConnectionResetError) and "closing" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _not_sent(exc: BaseException) -> str:
    """What kept a request from going out."""
    if _never_written(exc):
        return "the server had closed the connection before the request was written"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"host name not found: {exc.host}"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"the proxy refused the connection: HTTP {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"cannot connect to the proxy {exc.host}:{exc.port}: {exc.strerror or exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.errno == errno.ECONNREFUSED:
            return "connection refused"
        return f"cannot connect to {exc.host}:{exc.port}: {exc.strerror or exc}"
    return f"cannot connect ({type(exc).__name__}: {exc})"


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, made one space."""
    return " ".join(text.split())
