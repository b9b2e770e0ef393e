"""The HTTP/1.1 pool over loopback: request shape, answer framings, keep-alive, limits, failures."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import closed_port, self_signed_certificate, sized

from wooxy_bulk import transport
from wooxy_bulk.transport import HttpPool

HEADERS = {"Access-Token": "tok", "Content-Type": "application/json"}


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def event_loop_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test on asyncio's own loop and on uvloop (which the CLI runs)."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        yield request.param
    finally:
        asyncio.set_event_loop_policy(None)


# A script answers the n-th request (counted from 0 over the whole server) with bytes to write,
# after an optional delay; None hangs up without a word.
Script = Callable[[int, bytes], Awaitable[bytes | None]]


@dataclass
class Server:
    """A scripted loopback HTTP server that records each request and connection."""

    script: Script
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    active: int = 0
    peak: int = 0
    port: int = 0

    def url(self, path: str = "/v3/sms/send", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                number = len(self.requests)
                self.requests.append(request)
                self.active += 1
                self.peak = max(self.peak, self.active)
                answer = await self.script(number, request)
                self.active -= 1
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                    break
        writer.close()


@contextlib.asynccontextmanager
async def serving(script: Script, context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(script)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=context)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


def answering(answer: bytes, delay: float = 0.0) -> Script:
    async def script(number: int, request: bytes) -> bytes | None:
        await asyncio.sleep(delay)
        return answer

    return script


def run(coroutine: Awaitable[object]) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, 20))  # type: ignore[arg-type]


def test_the_request_is_one_post_with_host_length_and_headers() -> None:
    """The bytes on the wire: request line with the query, Host with the port, the headers."""

    async def scenario() -> tuple[Server, object]:
        async with (
            serving(answering(sized(b"{}"))) as server,
            HttpPool(timeout_s=5, limit=1) as pool,
        ):
            answer = await pool.poster(server.url("/v3/sms/send?a=1"), HEADERS)(b'{"x":1}')
        return server, answer

    server, answer = run(scenario())  # type: ignore[misc]
    assert server.requests == [
        b"POST /v3/sms/send?a=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port
        + b"Accept-Encoding: identity\r\nAccess-Token: tok\r\nContent-Type: application/json\r\n"
        + b'Content-Length: 7\r\n\r\n{"x":1}'
    ]
    assert answer == (200, b"{}", {"content-type": "application/json", "content-length": "2"})


CHUNKED = (
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
)
ZIPPED = gzip.compress(b'{"a": 1}')


@pytest.mark.parametrize(
    ("answer", "connections"),
    [
        (sized(b'{"a": 1}'), 1),
        (CHUNKED, 1),
        (sized(ZIPPED, b"Content-Encoding: gzip\r\n"), 1),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + sized(b'{"a": 1}'), 1),
        (sized(b'{"a": 1}', b"Connection: close\r\n"), 2),  # not reused: a new one each time
        (b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a": 1}', 2),  # delimited by the close
        (b'HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\n{"a": 1}', 2),  # HTTP/1.0: no keep-alive
    ],
    ids=["sized", "chunked", "gzip", "100-continue", "connection-close", "read-to-close", "1.0"],
)
def test_answer_framings_are_read_whole(answer: bytes, connections: int) -> None:
    """Each framing gives the whole body, and a connection is reused only when HTTP allows."""

    async def scenario() -> tuple[Server, list]:
        async with serving(answering(answer)) as server, HttpPool(timeout_s=5, limit=1) as pool:
            post = pool.poster(server.url(), HEADERS)
            answers = [await post(b"{}"), await post(b"{}")]
        return server, answers

    server, answers = run(scenario())  # type: ignore[misc]
    assert [(status, body) for status, body, _ in answers] == [(200, b'{"a": 1}')] * 2
    assert server.connections == connections


def test_connections_are_kept_alive_and_never_exceed_the_limit() -> None:
    """Twelve requests at once through a pool of three: three connections, at most three open."""

    async def scenario() -> tuple[Server, list]:
        async with (
            serving(answering(sized(b"{}"), delay=0.02)) as server,
            HttpPool(timeout_s=5, limit=3) as pool,
        ):
            post = pool.poster(server.url(), HEADERS)
            answers = await asyncio.gather(*(post(b"{}") for _ in range(12)))
        return server, answers

    server, answers = run(scenario())  # type: ignore[misc]
    assert [status for status, _, _ in answers] == [200] * 12
    assert (len(server.requests), server.connections, server.peak) == (12, 3, 3)


def test_a_connection_the_server_closed_is_replaced_before_anything_is_written() -> None:
    """The server drops a kept-alive connection: the next request goes out once, on a new one."""
    requests: list[bytes] = []

    async def answer_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n{}"))
        writer.write(sized(b"{}"))  # no "Connection: close": an idle timeout, in effect
        await writer.drain()
        writer.close()

    async def scenario() -> list:
        listener = await asyncio.start_server(answer_then_drop, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener, HttpPool(timeout_s=5, limit=1) as pool:
            post = pool.poster(f"http://127.0.0.1:{port}/", HEADERS)
            first = await post(b"{}")
            await asyncio.sleep(0.1)
            return [first, await post(b"{}")]

    answers = run(scenario())
    assert [status for status, _, _ in answers] == [200, 200]  # type: ignore[attr-defined]
    assert len(requests) == 2


def test_an_idle_connection_is_replaced_after_idle_s() -> None:
    """A connection unused for longer than idle_s is not trusted with a request."""

    async def scenario() -> Server:
        async with (
            serving(answering(sized(b"{}"))) as server,
            HttpPool(timeout_s=5, limit=1, idle_s=0.05) as pool,
        ):
            post = pool.poster(server.url(), HEADERS)
            await post(b"{}")
            await post(b"{}")  # at once: reused
            await asyncio.sleep(0.1)
            await post(b"{}")  # after idle_s: a new connection
        return server

    server = run(scenario())
    assert (len(server.requests), server.connections) == (3, 2)  # type: ignore[attr-defined]


def test_a_late_answer_never_reaches_the_next_request() -> None:
    """A timed-out request's connection is closed at once, so its late answer cannot be misread."""
    first_closed: asyncio.Future[bool] | None = None
    connections = 0

    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        number, connections = connections, connections + 1
        await reader.readuntil(b"\r\n\r\n{}")
        if number == 0:  # wait for the client to give up on it, then answer anyway
            try:
                closed = await asyncio.wait_for(reader.read(), 1.0) == b""
            except ConnectionError:
                closed = True
            except TimeoutError:
                closed = False
            assert first_closed is not None
            first_closed.set_result(closed)
        with contextlib.suppress(ConnectionError):
            writer.write(sized(b'{"n": %d}' % number))
            await writer.drain()
            await reader.read()
        writer.close()

    async def scenario() -> tuple[BaseException | None, tuple, bool]:
        nonlocal first_closed
        first_closed = asyncio.get_running_loop().create_future()
        listener = await asyncio.start_server(slow_first, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener, HttpPool(timeout_s=0.2, limit=1) as pool:
            post = pool.poster(f"http://127.0.0.1:{port}/", HEADERS)
            failure = None
            try:
                await post(b"{}")
            except TimeoutError as exc:
                failure = exc
            second = await post(b"{}")
            return failure, second, await first_closed

    failure, (status, body, _), closed = run(scenario())  # type: ignore[misc]
    assert isinstance(failure, TimeoutError)
    assert (status, body) == (200, b'{"n": 1}')
    assert closed  # at the timeout, not left open until the pool closes


def test_a_cancelled_request_frees_its_slot_and_connection() -> None:
    """Cancelling a request mid-wait closes its connection and lets the next one through."""

    async def silent_first(number: int, request: bytes) -> bytes | None:
        if number == 0:
            await asyncio.sleep(10)
        return sized(b"{}")

    async def scenario() -> tuple[Server, tuple]:
        async with serving(silent_first) as server, HttpPool(timeout_s=5, limit=1) as pool:
            post = pool.poster(server.url(), HEADERS)
            stuck = asyncio.ensure_future(post(b"{}"))
            await asyncio.sleep(0.1)
            stuck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stuck
            return server, await post(b"{}")

    server, (status, _, _) = run(scenario())  # type: ignore[misc]
    assert status == 200
    assert server.connections == 2


async def _hang_up(number: int, request: bytes) -> bytes | None:
    return None


@pytest.mark.parametrize(
    ("answer", "failure", "message"),
    [
        (_hang_up, transport.ServerClosed, "the server closed the connection"),
        (answering(b"hello there\r\n\r\n"), transport.BadAnswer, "the answer was not valid HTTP"),
        (
            answering(b"HTTP/1.1 101 Switching\r\nUpgrade: ws\r\nConnection: Upgrade\r\n\r\n"),
            transport.BadAnswer,
            "the answer was not valid HTTP (it switched protocols)",
        ),
        (
            answering(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}"),
            TimeoutError,  # the server keeps the connection open and never finishes
            "",
        ),
        (answering(sized(b"x" * (1 << 20) + b"y")), transport.BadAnswer, "the answer is larger"),
        (
            answering(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: %s\r\n" % (b"p" * 1024) * 1025),
            transport.BadAnswer,
            "the answer is larger than 1 MiB",
        ),
    ],
    ids=["hang-up", "not-http", "upgrade", "short-body", "too-large", "headers-too-large"],
)
def test_failures_after_the_request_went_out(
    answer: Script, failure: type[BaseException], message: str
) -> None:
    """No complete answer after the request was written: NoAnswer (or a timeout), never a guess."""

    async def scenario() -> BaseException:
        async with serving(answer) as server, HttpPool(timeout_s=0.3, limit=1) as pool:
            with pytest.raises(failure) as caught:
                await pool.poster(server.url(), HEADERS)(b"{}")
            return caught.value

    assert str(run(scenario())).startswith(message)


def test_a_truncated_answer_then_close_is_no_answer() -> None:
    """Content-Length promises more than comes before the close: ServerClosed, not a short body."""

    async def scenario() -> None:
        async def short_then_close(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}")
            await w.drain()
            w.close()

        listener = await asyncio.start_server(short_then_close, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener, HttpPool(timeout_s=5, limit=1) as pool:
            with pytest.raises(transport.ServerClosed):
                await pool.poster(f"http://127.0.0.1:{port}/", HEADERS)(b"")

    run(scenario())


def test_a_refused_connection_fails_before_anything_is_written() -> None:
    """ConnectFailed, with the refusal's errno in its cause."""

    async def scenario() -> BaseException:
        async with HttpPool(timeout_s=5, limit=1) as pool:
            with pytest.raises(transport.ConnectFailed) as caught:
                await pool.poster(f"http://127.0.0.1:{closed_port()}/", HEADERS)(b"")
            return caught.value

    failure = run(scenario())
    assert isinstance(failure.__cause__, OSError)  # type: ignore[union-attr]
    assert failure.__cause__.errno == errno.ECONNREFUSED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "headers", "message"),
    [
        ("ftp://h/x", {}, "'ftp://h/x' is not an http(s) URL"),
        ("http:///x", {}, "is not an http(s) URL"),
        ("https://u:p@h/x", {}, "a user name or password in the URL is not supported"),
        ("https://h:99999/x", {}, "'https://h:99999/x' has an invalid port"),
        ("https://h/v3 x", {}, "holds spaces or characters to percent-encode first"),
        ("https://h/vé", {}, "holds spaces or characters to percent-encode first"),
        ("https://h/x", {"Access-Token": "se\r\ncret"}, "the 'Access-Token' header holds"),
        ("https://h/x", {"Access-Token": "sécret€"}, "a header value holds characters"),
    ],
)
def test_poster_refuses_what_http_cannot_carry(url: str, headers: dict, message: str) -> None:
    """A bad URL or header is a ValueError at once, naming the header but never its value."""
    pool = HttpPool(timeout_s=5, limit=1)
    with pytest.raises(ValueError) as caught:
        pool.poster(url, headers)
    assert message in str(caught.value)
    assert "cret" not in str(caught.value)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_tls_to_a_trusted_certificate_keeps_the_connection_alive(
    certificate: tuple[Path, Path],
) -> None:
    """https with a certificate the pool's context trusts: answers, one connection reused."""
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> tuple[Server, list]:
        async with (
            serving(answering(sized(b"{}")), server_side) as server,
            HttpPool(timeout_s=5, limit=1, ssl_context=trusting) as pool,
        ):
            post = pool.poster(server.url(scheme="https"), HEADERS)
            return server, [await post(b"{}"), await post(b"{}")]

    server, answers = run(scenario())  # type: ignore[misc]
    assert [status for status, _, _ in answers] == [200, 200]
    assert server.connections == 1


def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    """A server that accepts TCP and never speaks TLS: ConnectTimeout, nothing written."""

    async def scenario() -> BaseException:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()
            writer.close()

        listener = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener, HttpPool(timeout_s=0.3, limit=1) as pool:
            with pytest.raises(transport.ConnectTimeout) as caught:
                await pool.poster(f"https://127.0.0.1:{port}/", HEADERS)(b"")
            return caught.value

    assert "in 0.3 s" in str(run(scenario()))


@dataclass
class Proxy:
    """A loopback CONNECT proxy that records each request head, or answers `refuse` and hangs up
    (an empty `refuse` with `hang_up`: hangs up without a word)."""

    refuse: bytes = b""
    hang_up: bool = False
    heads: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        if self.refuse or self.hang_up:
            writer.write(self.refuse)
            writer.close()
            return
        host, port = head.split(b" ")[1].rsplit(b":", 1)
        up_reader, up_writer = await asyncio.open_connection(host.decode(), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def _through(
    proxy: Proxy, proxy_url: str, certificate: tuple[Path, Path], trusted: bool = True
) -> tuple:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with (
        listener,
        serving(answering(sized(b"{}")), server_side) as server,
        HttpPool(
            timeout_s=5,
            limit=1,
            ssl_context=ssl.create_default_context(cafile=str(cert) if trusted else None),
            proxy_for=lambda host: proxy_url.format(port=port),
        ) as pool,
    ):
        post = pool.poster(server.url(scheme="https"), HEADERS)
        return server, [await post(b"{}"), await post(b"{}")]


def test_https_goes_through_a_connect_proxy_with_its_credentials(
    certificate: tuple[Path, Path],
) -> None:
    """One CONNECT to the API's host and port, Basic credentials, TLS inside, kept alive."""
    proxy = Proxy()
    server, answers = run(_through(proxy, "http://me:p%40ss@127.0.0.1:{port}", certificate))  # type: ignore[misc]
    assert [status for status, _, _ in answers] == [200, 200]
    assert proxy.heads == [
        b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (server.port, server.port)
        + b"Proxy-Authorization: Basic bWU6cEBzcw==\r\n\r\n"  # me:p@ss
    ]
    assert server.connections == 1


def test_a_refused_tunnel_fails_before_anything_is_written(
    certificate: tuple[Path, Path],
) -> None:
    """A 407 from the proxy: ConnectFailed naming the proxy and its answer, not the password."""
    proxy = Proxy(refuse=b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    with pytest.raises(transport.ConnectFailed) as caught:
        run(_through(proxy, "http://me:secret@127.0.0.1:{port}", certificate))
    message = str(caught.value)
    assert message.startswith("the proxy 127.0.0.1:")
    assert message.endswith(": HTTP/1.1 407 Proxy Authentication Required")
    assert "secret" not in message


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("https://me:secret@p:3128", "HTTPS_PROXY: p: use an http:// proxy URL"),
        ("http://me:secret@p:31x", "HTTPS_PROXY: p: invalid port"),
    ],
)
def test_a_proxy_url_that_cannot_be_used_is_refused_at_once(proxy: str, message: str) -> None:
    """A proxy URL the pool cannot use is a ValueError before anything is sent; no password."""
    pool = HttpPool(timeout_s=5, limit=1, proxy_for=lambda host: proxy)
    with pytest.raises(ValueError) as caught:
        pool.poster("https://api.wooxy.com/v3/sms/send", HEADERS)
    assert str(caught.value) == message


def test_a_proxy_that_hangs_up_fails_before_anything_is_written(
    certificate: tuple[Path, Path],
) -> None:
    """The proxy closes without answering CONNECT: ConnectFailed, 'closed the tunnel'."""
    with pytest.raises(transport.ConnectFailed, match=r"^the proxy 127\.0\.0\.1:\d+ closed the"):
        run(_through(Proxy(hang_up=True), "http://127.0.0.1:{port}", certificate))


def test_the_certificate_is_verified_inside_the_tunnel(certificate: tuple[Path, Path]) -> None:
    """Through a proxy, the API's certificate is still checked against the API's name."""
    with pytest.raises(transport.ConnectFailed) as caught:
        run(_through(Proxy(), "http://127.0.0.1:{port}", certificate, trusted=False))
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
