"""The Wooxy client: request shape, answer classification, redaction, network failures."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import ssl
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from conftest import closed_port, self_signed_certificate, sized

from wooxy_bulk.send.api import Answer, Api, Outcome, WooxyClient, parse_retry_after
from wooxy_bulk.send.https import PostError, Reply, open_post, post_error

TOKEN = "tok-5EcReT-0123456789"
URL = "https://api.wooxy.com/v3"
PHONE = "+447700900123"
SMS_ID = "5d91513fd132d5f462796870"
BALANCE = "Insufficient balance. You need at least 0.05 to send this message"
UNDERSCORE = (
    "Any tags starting with an underscore are reserved for internal use and will cause errors"
)
FROM_NAME_RULE = (
    "Argument fromName must contain 11 and less A-Z, a-z, 0-9 symbols and spaces"
    " or be a valid phoneNumber"
)

Handler = Callable[[str, bytes, Mapping[str, str]], Awaitable[Reply]]


def client_for(handler: Handler, **options: Any) -> WooxyClient:
    """A client whose post function is `handler` (no network)."""
    settings: dict[str, Any] = {"url": URL, "token": TOKEN, "domain": "shop.example.com"}
    return WooxyClient(handler, **(settings | options))


def send_with(handler: Handler, **options: Any) -> Answer:
    return asyncio.run(client_for(handler, **options).send(PHONE, "Hi Olivia"))


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    async def post(url: str, sent: bytes, request_headers: Mapping[str, str]) -> Reply:
        return status, content, {k.lower(): v for k, v in (headers or {}).items()}

    return post


def errors(*texts: str) -> dict[str, Any]:
    return {"result": False, "errors": list(texts)}


API_TEXTS = [
    # status, the API's error text (it becomes `error` unchanged), outcome
    (400, "Argument domain must be a non-empty string", Outcome.FATAL),
    (400, "Argument phoneNumber must be a non-empty string", Outcome.FAILED),
    (400, f"{PHONE}1 is not a valid E.164 phone number", Outcome.FAILED),
    (400, "Argument text must be a non-empty string", Outcome.FAILED),
    (400, "Argument fromName must be a non-empty string", Outcome.FATAL),
    (400, FROM_NAME_RULE, Outcome.FATAL),
    (400, "Argument tags must be an array", Outcome.FATAL),
    (400, "Tag name must be a non-empty string", Outcome.FATAL),
    (400, "Tags should be 50 characters or less", Outcome.FATAL),
    (400, UNDERSCORE, Outcome.FATAL),
    (400, "SMS service is not activated for account Shop Ltd", Outcome.FATAL),
    (402, BALANCE, Outcome.FATAL),
    (400, f"Phone number {PHONE} is blacklisted", Outcome.FAILED),
    (400, "Domain shop.example.com not found in your account", Outcome.FATAL),
    (200, "Publishing error", Outcome.TRANSIENT),
    (401, "Invalid authorization token!", Outcome.FATAL),
    (500, "Internal server error", Outcome.TRANSIENT),
    (200, "Internal server error", Outcome.TRANSIENT),
    (400, "Bad Request", Outcome.FATAL),
    (401, "no matches found for access token abc", Outcome.FATAL),
    (401, "user 4711 not enabled", Outcome.FATAL),
    (401, "no data found for key 4711", Outcome.FATAL),
    (401, "access token check failed for key/secret 4711/abc", Outcome.FATAL),
    (400, "Argument domain required", Outcome.FATAL),
    (400, "Argument phoneNumber required", Outcome.FAILED),
    (400, "Argument text required", Outcome.FAILED),
    (400, "Something the page never mentioned", Outcome.FAILED),
    (200, f"Phone number {PHONE} is blacklisted", Outcome.FAILED),
    (403, f"Phone number {PHONE} is blacklisted", Outcome.FAILED),
    (429, BALANCE, Outcome.FATAL),  # the body first
    (502, f"Phone number {PHONE} is blacklisted", Outcome.FAILED),  # the API's JSON first
    (502, "Internal server error", Outcome.TRANSIENT),
    (500, "Something the page never mentioned", Outcome.FAILED),
]


@pytest.mark.parametrize(("status", "text", "outcome"), API_TEXTS)
def test_api_error_texts(status: int, text: str, outcome: Outcome) -> None:
    """Each error text of the API page gets its outcome, and is kept as the row's error."""
    answer = send_with(answering(status, errors(text)))
    assert (answer.outcome, answer.error, answer.http_status) == (outcome, text, status)
    assert answer.sms_id == ""


ODD = b"<html>\n<b>busy</b>\n</html>"
SAID = f"Phone number {PHONE} is blacklisted"
NO_ID = "HTTP 200: accepted (result true) but the answer has no sms_id"

ANSWERS = [
    # status, body, Retry-After, outcome, error, retry_after
    (200, {"result": True, "sms_id": SMS_ID}, None, Outcome.SENT, "", None),
    (200, {"result": True}, None, Outcome.UNKNOWN, NO_ID, None),
    (200, {"result": True, "sms_id": ""}, None, Outcome.UNKNOWN, NO_ID, None),
    (200, {"result": True, "sms_id": 12345}, None, Outcome.SENT, "", None),
    (429, b"", "7", Outcome.TRANSIENT, "HTTP 429", 7.0),
    (429, errors("Bad Request"), "7", Outcome.FATAL, "Bad Request", 7.0),
    (503, ODD, None, Outcome.TRANSIENT, "HTTP 503: <html> <b>busy</b> </html>", None),
    (503, b"", "Wed, 21 Oct 2015 07:28:00 GMT", Outcome.TRANSIENT, "HTTP 503", 0.0),
    (500, errors("Internal server error"), "1", Outcome.TRANSIENT, "Internal server error", 1.0),
    (502, ODD, None, Outcome.UNKNOWN, "HTTP 502: <html> <b>busy</b> </html>", None),
    (504, ODD, "5", Outcome.UNKNOWN, "HTTP 504: <html> <b>busy</b> </html>", 5.0),
    (500, ODD, None, Outcome.UNKNOWN, "HTTP 500: <html> <b>busy</b> </html>", None),
    (500, b"", None, Outcome.UNKNOWN, "HTTP 500", None),
    (
        502,
        {"message": "Bad gateway"},
        None,
        Outcome.UNKNOWN,
        'HTTP 502: {"message": "Bad gateway"}',
        None,
    ),
    (301, b"", None, Outcome.FATAL, "HTTP 301", None),
    (418, b"I'm a teapot", None, Outcome.FAILED, "HTTP 418: I'm a teapot", None),
    (400, b"x" * 1000, None, Outcome.FAILED, "HTTP 400: " + "x" * 200, None),
    (400, {"result": False}, None, Outcome.FAILED, 'HTTP 400: {"result": false}', None),
    (401, b"", None, Outcome.FATAL, "HTTP 401", None),
    (403, {"message": "No"}, None, Outcome.FATAL, 'HTTP 403: {"message": "No"}', None),
    (404, b"Not Found", None, Outcome.FATAL, "HTTP 404: Not Found", None),  # a wrong api.url
    (405, b"", None, Outcome.FATAL, "HTTP 405", None),
    (404, errors(SAID), None, Outcome.FAILED, SAID, None),
    (200, b"<p>ok</p>", None, Outcome.UNKNOWN, "HTTP 200: unexpected answer: <p>ok</p>", None),
    (200, b"", None, Outcome.UNKNOWN, "HTTP 200: unexpected answer: empty body", None),
    (200, [1, 2], None, Outcome.UNKNOWN, "HTTP 200: unexpected answer: [1, 2]", None),
    (400, errors(SAID, BALANCE), None, Outcome.FATAL, f"{SAID}; {BALANCE}", None),
    (400, errors("first line\nsecond  line"), None, Outcome.FAILED, "first line second line", None),
    (400, {"result": False, "errors": "Bad Request"}, None, Outcome.FATAL, "Bad Request", None),
]


@pytest.mark.parametrize(("status", "body", "wait", "outcome", "error", "retry_after"), ANSWERS)
def test_answer_classification(
    status: int,
    body: Any,
    wait: str | None,
    outcome: Outcome,
    error: str,
    retry_after: float | None,
) -> None:
    """Success, 429/5xx, non-JSON, empty and odd answers: their outcome, error and Retry-After."""
    headers = {"Retry-After": wait} if wait else None
    answer = send_with(answering(status, body, headers))
    assert (answer.outcome, answer.error, answer.retry_after) == (outcome, error, retry_after)
    assert answer.http_status == status
    assert answer.sms_id == (str(body["sms_id"]) if outcome is Outcome.SENT else "")


@pytest.mark.parametrize(
    ("handler", "outcome", "error"),
    [
        (
            answering(401, errors(f"no matches found for access token {TOKEN}")),
            Outcome.FATAL,
            "no matches found for access token ***",
        ),
        (
            answering(401, errors(f"access token check failed for key/secret 4711/{TOKEN}")),
            Outcome.FATAL,
            "access token check failed for key/secret 4711/***",
        ),
        (answering(400, f"bad key {TOKEN}!".encode()), Outcome.FAILED, "HTTP 400: bad key ***!"),
        (
            answering(200, f"<p>{TOKEN}</p>".encode()),
            Outcome.UNKNOWN,
            "HTTP 200: unexpected answer: <p>***</p>",
        ),
    ],
)
def test_echoed_token_is_redacted(handler: Handler, outcome: Outcome, error: str) -> None:
    """Where the API echoes the key, the Answer holds *** and the key appears nowhere in it."""
    answer = send_with(handler)
    assert (answer.outcome, answer.error) == (outcome, error)
    assert TOKEN not in repr(answer)


def test_token_in_a_network_error_is_redacted() -> None:
    """A network failure whose message quotes the key does not carry it into the Answer."""

    async def post(url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        raise PostError(f"lost while sending {headers['Access-Token']}", went_out=True)

    answer = send_with(post)
    assert (answer.outcome, answer.error) == (Outcome.UNKNOWN, "lost while sending ***")


KEY = "ab/cd+ef gh=ij"  # a key with characters that JSON, PHP and URLs escape


@pytest.mark.parametrize(
    "echoed",
    [
        KEY,
        json.dumps(KEY)[1:-1],
        json.dumps(KEY)[1:-1].replace("/", "\\/"),  # PHP's json_encode: ab\/cd+ef gh=ij
        "ab\\u002fcd\\u002Bef\\u0020gh\\u003dij",
        "ab%2Fcd%2Bef%20gh%3Dij",
        "ab%2fcd%2bef+gh%3dij",
        "ab/cd%2Bef gh=ij",
    ],
)
def test_the_key_is_redacted_in_every_form_it_is_echoed(echoed: str) -> None:
    """The key as sent, JSON- or PHP-escaped, \\u-escaped or URL-encoded becomes ***, in an
    error text and in a non-JSON answer's snippet."""
    api = Api(answering(200, {}), url=URL, token=KEY)
    assert api.redact(f"key [{echoed}] refused") == "key [***] refused"
    in_html = send_with(answering(502, f"<p>{echoed}</p>".encode()), token=KEY)
    assert in_html.error == "HTTP 502: <p>***</p>"
    raw = b'{"result": false, "errors": ["no matches found for access token %s"]}'
    in_json = send_with(answering(401, raw % json.dumps(KEY)[1:-1].encode()), token=KEY)
    assert in_json.error == "no matches found for access token ***"


def test_a_key_past_the_snippet_is_not_shown_in_part() -> None:
    """A key that starts inside the 200 characters kept of an odd answer is wholly redacted."""
    body = b" " * 5000 + b"x" * 190 + TOKEN.encode()
    answer = send_with(answering(500, body))
    assert answer.error == "HTTP 500: " + ("x" * 190 + "***")[:200]
    assert TOKEN[:5] not in answer.error


@pytest.mark.parametrize(
    ("url", "options", "body"),
    [
        (
            "https://api.wooxy.com/v3",
            {"from_name": "ShopName", "tags": ["spring-sale", "x"]},
            {
                "domain": "shop.example.com",
                "phoneNumber": PHONE,
                "fromName": "ShopName",
                "text": "Hi Olivia 😀 «ü»",
                "tags": ["spring-sale", "x"],
            },
        ),
        (
            "https://api.wooxy.com/v3/",
            {},
            {"domain": "shop.example.com", "phoneNumber": PHONE, "text": "Hi Olivia 😀 «ü»"},
        ),
    ],
)
def test_request_body_and_headers(url: str, options: dict[str, Any], body: dict[str, Any]) -> None:
    """The request is a POST to {url}/sms/send with the page's body (fromName, tags only if set)."""
    seen: list[tuple[str, bytes, Mapping[str, str]]] = []

    async def post(url: str, content: bytes, headers: Mapping[str, str]) -> Reply:
        seen.append((url, content, headers))
        return 200, json.dumps({"result": True, "sms_id": SMS_ID}).encode(), {}

    client = client_for(post, url=url, **options)
    answers = asyncio.run(_send_twice(client, "Hi Olivia 😀 «ü»"))
    assert [a.outcome for a in answers] == [Outcome.SENT, Outcome.SENT]
    assert len(seen) == 2
    for sent_to, content, headers in seen:
        assert sent_to == "https://api.wooxy.com/v3/sms/send"
        assert headers == {"Access-Token": TOKEN, "Content-Type": "application/json"}
        sent = json.loads(content)
        assert sent == body
        assert list(sent) == list(body)


async def _send_twice(client: WooxyClient, text: str) -> list[Answer]:
    return [await client.send(PHONE, text), await client.send(PHONE, text)]


def closing_transport() -> aiohttp.ClientOSError:
    """What aiohttp raises when the connection it came to write on was closing: nothing written."""
    try:
        try:
            raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")
        except OSError as exc:
            raise aiohttp.ClientOSError(None, "Can not write request body for x") from exc
    except aiohttp.ClientOSError as raised:
        return raised


KEY_443 = ConnectionKey("api.wooxy.com", 443, True, True, None, None, None)


def certificate_error() -> ssl.SSLCertVerificationError:
    return ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")


@pytest.mark.parametrize(
    ("exc", "went_out", "outcome", "error"),
    [
        (
            aiohttp.ClientConnectorError(KEY_443, OSError(errno.ECONNREFUSED, "refused")),
            False,
            Outcome.TRANSIENT,
            "connection refused",
        ),
        (
            aiohttp.ClientConnectorDNSError(KEY_443, OSError(-2, "Name or service not known")),
            False,
            Outcome.TRANSIENT,
            "host name not found: api.wooxy.com",
        ),
        (
            aiohttp.ClientConnectorError(KEY_443, OSError(errno.ENETUNREACH, "unreachable")),
            False,
            Outcome.TRANSIENT,
            "cannot connect to api.wooxy.com:443: unreachable",
        ),
        (
            aiohttp.ClientProxyConnectionError(KEY_443, OSError(errno.ECONNREFUSED, "refused")),
            False,
            Outcome.TRANSIENT,
            "cannot connect to the proxy api.wooxy.com:443: refused",
        ),
        (
            aiohttp.ClientHttpProxyError(None, (), status=407, message="Proxy Authentication"),
            False,
            Outcome.TRANSIENT,
            "the proxy refused the connection: HTTP 407 Proxy Authentication",
        ),
        (
            aiohttp.ClientConnectorCertificateError(KEY_443, certificate_error()),
            False,
            Outcome.FATAL,
            "TLS certificate verification failed",
        ),
        (aiohttp.InvalidURL("ftp://x"), False, Outcome.FATAL, "cannot send to ftp://x"),
        (aiohttp.ClientOSError(errno.ECONNRESET, "reset"), False, Outcome.TRANSIENT, "cannot"),
        (
            aiohttp.ClientOSError(errno.ECONNRESET, "reset"),
            True,
            Outcome.UNKNOWN,
            "connection lost mid-request (ClientOSError: [Errno 104] reset)",
        ),
        (
            closing_transport(),
            True,
            Outcome.TRANSIENT,
            "the server had closed the connection before the request was written",
        ),
        (
            aiohttp.ServerDisconnectedError(),
            True,
            Outcome.UNKNOWN,
            "the server closed the connection without an answer",
        ),
        (
            aiohttp.ClientPayloadError("not completed"),
            True,
            Outcome.UNKNOWN,
            "the answer was cut short (not completed)",
        ),
        (
            aiohttp.ClientResponseError(None, (), status=400, message="Invalid status"),  # type: ignore[arg-type]
            True,
            Outcome.UNKNOWN,
            "the answer was not valid HTTP (Invalid status)",
        ),
    ],
)
def test_network_failures(exc: BaseException, went_out: bool, outcome: Outcome, error: str) -> None:
    """Failures before the request went out are transient; after it, unknown; never raised."""

    async def post(url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        raise post_error(exc, went_out=went_out)

    answer = send_with(post)
    assert answer.outcome is outcome
    assert answer.error.startswith(error)
    assert answer.http_status is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After gives seconds from delta-seconds or an HTTP date; junk gives None."""
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_non_http_url_is_refused() -> None:
    """A URL that is not http(s) is a configuration error raised at once, naming api.url."""
    with pytest.raises(Exception, match=r"api\.url: 'ftp://api\.wooxy\.com/v3' is not an http"):
        client_for(answering(200, {}), url="ftp://api.wooxy.com/v3")


# ---- real sockets, through open_post (aiohttp) ------------------------------------------------


async def _send_real(url: str, timeout_s: float = 5.0) -> Answer:
    async with open_post(timeout_s=timeout_s, concurrency=2) as post:
        client = WooxyClient(post, url=url, token=TOKEN, domain="shop.example.com")
        return await client.send(PHONE, "Hi")


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, read the request, never answer; return when the client hangs up."""
    await reader.read()
    writer.close()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request and close the connection without a word."""
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _against(
    handler: Any, timeout_s: float, ssl_context: ssl.SSLContext | None, scheme: str = ""
) -> Answer:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    scheme = scheme or ("https" if ssl_context else "http")
    async with server:
        return await _send_real(f"{scheme}://127.0.0.1:{port}/v3", timeout_s)


def test_real_refused_connection_is_transient() -> None:
    """A closed port on 127.0.0.1: nothing went out, so it is transient ('connection refused')."""
    answer = asyncio.run(_send_real(f"http://127.0.0.1:{closed_port()}/v3"))
    assert (answer.outcome, answer.error) == (Outcome.TRANSIENT, "connection refused")


def test_real_read_timeout_is_unknown() -> None:
    """A server that accepts and never answers: the request went out, so it is unknown."""
    answer = asyncio.run(_against(_silent, 0.3, None))
    assert (answer.outcome, answer.error) == (Outcome.UNKNOWN, "read timeout after 0.3 s")


def test_real_hang_up_without_answer_is_unknown() -> None:
    """A server that reads the request and hangs up without answering: unknown."""
    answer = asyncio.run(_against(_hang_up, 5.0, None))
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.error.startswith("the server closed the connection without an answer")


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request and answer with something that is not HTTP."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"220 smtp.example.com ESMTP ready\r\n\r\n")
    await writer.drain()
    await reader.read()
    writer.close()


def test_real_answer_that_is_not_http_is_unknown() -> None:
    """An answer that is not HTTP came after the request went out: unknown, with the reason."""
    answer = asyncio.run(_against(_not_http, 5.0, None))
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.error.startswith("the answer was not valid HTTP (")


def test_real_tls_handshake_timeout_is_transient() -> None:
    """https to a server that never speaks TLS: nothing was sent, so it is a connect timeout."""
    answer = asyncio.run(_against(_silent, 0.3, None, scheme="https"))
    assert (answer.outcome, answer.error) == (Outcome.TRANSIENT, "connect timeout after 0.3 s")


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server context with a new self-signed certificate for 127.0.0.1 (in folder/cert.pem)."""
    cert, key = self_signed_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    """A self-signed certificate is refused before anything is sent, and stops the run (fatal)."""
    context = self_signed(tmp_path)
    requests: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            requests.append(await reader.read())
        writer.close()

    answer = asyncio.run(_against(record, 5.0, context))
    assert answer.outcome is Outcome.FATAL
    assert answer.error.startswith("TLS certificate verification failed")
    assert not any(requests)


async def _accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one request: accepted, with an sms_id."""
    await reader.readuntil(b'"}')
    writer.write(sized(json.dumps({"result": True, "sms_id": SMS_ID}).encode()))
    await writer.drain()
    writer.close()


def test_a_ca_named_by_ssl_cert_file_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE (a company proxy's CA, say) is trusted besides Mozilla's bundle, as by curl."""
    context = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    answer = asyncio.run(_against(_accept, 5.0, context))
    assert (answer.outcome, answer.sms_id) == (Outcome.SENT, SMS_ID)


def test_open_post_keeps_within_concurrency_and_reuses_connections() -> None:
    """Twelve sends at once through open_post(concurrency=3): three connections, at most
    three requests at the server at any moment."""
    connections, active, peak = 0, 0, 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, active, peak
        connections += 1
        answer = sized(json.dumps({"result": True, "sms_id": SMS_ID}).encode())
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b'"}')
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.02)
                active -= 1
                writer.write(answer)
        writer.close()

    async def scenario() -> list[Answer]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v3"
        async with server, open_post(timeout_s=5, concurrency=3) as post:
            client = WooxyClient(post, url=url, token=TOKEN, domain="shop.example.com")
            return await asyncio.gather(*(client.send(PHONE, "Hi") for _ in range(12)))

    answers = asyncio.run(scenario())
    assert [a.outcome for a in answers] == [Outcome.SENT] * 12
    assert (connections, peak) == (3, 3)


def test_https_proxy_from_the_environment_gets_the_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY (credentials included) is asked to CONNECT to the API's host; its refusal is
    transient: nothing reached the API."""
    heads: list[bytes] = []

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> Answer:
        proxy = await asyncio.start_server(refuse, "127.0.0.1", 0)
        monkeypatch.setenv(
            "HTTPS_PROXY", f"http://me:pw@127.0.0.1:{proxy.sockets[0].getsockname()[1]}"
        )
        async with proxy:
            return await _send_real(f"https://127.0.0.2:{closed_port()}/v3")

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer = asyncio.run(scenario())
    assert answer.outcome is Outcome.TRANSIENT
    assert answer.error.startswith("the proxy refused the connection: HTTP 407")
    head = heads[0].decode()
    assert head.startswith("CONNECT 127.0.0.2:")
    assert "Proxy-Authorization: Basic bWU6cHc=" in head  # me:pw


def test_no_proxy_and_loopback_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host NO_PROXY lists, and loopback, are reached directly, never through HTTPS_PROXY."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    direct = asyncio.run(_send_real(f"https://127.0.0.2:{closed_port()}/v3"))
    assert (direct.outcome, direct.error) == (Outcome.TRANSIENT, "connection refused")
    answer = asyncio.run(_against(_accept, 5.0, None))  # http://127.0.0.1: not proxied
    assert (answer.outcome, answer.sms_id) == (Outcome.SENT, SMS_ID)
