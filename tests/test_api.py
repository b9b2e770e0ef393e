"""The Wooxy client: request shape, answer classification, redaction, network failures."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import closed_port, self_signed_certificate, sized

from wooxy_bulk.api import (
    Answer,
    Outcome,
    WooxyClient,
    make_http_client,
    parse_retry_after,
    redact,
)

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

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, **options: Any) -> WooxyClient:
    """A client whose HTTP goes to `handler` through httpx.MockTransport."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), timeout=30)
    settings: dict[str, Any] = {"url": URL, "token": TOKEN, "domain": "shop.example.com"}
    return WooxyClient(http, **(settings | options))


def send_with(handler: Handler, **options: Any) -> Answer:
    return asyncio.run(client_for(handler, **options).send(PHONE, "Hi Olivia"))


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda request: httpx.Response(status, content=content, headers=headers)


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
    (502, f"Phone number {PHONE} is blacklisted", Outcome.TRANSIENT),  # 5xx whatever the body
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


def test_token_in_an_exception_message_is_redacted() -> None:
    """A transport error that quotes the key does not carry it into the Answer."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"lost while sending {request.headers['access-token']}")

    answer = send_with(handler)
    assert answer.outcome is Outcome.UNKNOWN
    assert "***" in answer.error
    assert TOKEN not in repr(answer)


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("key abc and abc", "abc", "key *** and ***"),
        ("nothing here", "abc", "nothing here"),
        ("empty secret", "", "empty secret"),
    ],
)
def test_redact(text: str, secret: str, expected: str) -> None:
    """redact() replaces every occurrence of the secret, and is a no-op for an empty one."""
    assert redact(text, secret) == expected


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
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": True, "sms_id": SMS_ID})

    client = client_for(handler, url=url, **options)
    answers = asyncio.run(_send_twice(client, "Hi Olivia 😀 «ü»"))
    assert [a.outcome for a in answers] == [Outcome.SENT, Outcome.SENT]
    for request in seen:
        assert request.method == "POST"
        assert str(request.url) == "https://api.wooxy.com/v3/sms/send"
        assert request.headers["Access-Token"] == TOKEN
        assert request.headers["Content-Type"] == "application/json"
        sent = json.loads(request.content)
        assert sent == body
        assert list(sent) == list(body)


async def _send_twice(client: WooxyClient, text: str) -> list[Answer]:
    return [await client.send(PHONE, text), await client.send(PHONE, text)]


def raising(exc: Exception, cause: BaseException | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc from cause

    return handler


def certificate_error() -> ssl.SSLCertVerificationError:
    return ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")


@pytest.mark.parametrize(
    ("handler", "outcome", "error"),
    [
        (raising(httpx.ConnectError("refused")), Outcome.TRANSIENT, "cannot connect: refused"),
        (
            raising(httpx.ConnectError("x"), ConnectionRefusedError(errno.ECONNREFUSED, "no")),
            Outcome.TRANSIENT,
            "connection refused",
        ),
        (raising(httpx.ConnectTimeout("t")), Outcome.TRANSIENT, "connect timeout after 30 s"),
        (raising(httpx.PoolTimeout("t")), Outcome.TRANSIENT, "connect timeout after 30 s"),
        (raising(httpx.ReadTimeout("t")), Outcome.UNKNOWN, "read timeout after 30 s"),
        (raising(httpx.ReadError("reset")), Outcome.UNKNOWN, "connection lost mid-request"),
        (raising(httpx.WriteError("broken")), Outcome.UNKNOWN, "connection lost mid-request"),
        (raising(httpx.WriteTimeout("t")), Outcome.UNKNOWN, "connection lost mid-request"),
        (
            raising(httpx.RemoteProtocolError("Server disconnected")),
            Outcome.UNKNOWN,
            "the server closed the connection without an answer",
        ),
        (raising(httpx.ConnectError("tls"), certificate_error()), Outcome.FATAL, "TLS certificate"),
        (raising(httpx.UnsupportedProtocol("ftp")), Outcome.FATAL, "cannot send: ftp"),
    ],
)
def test_transport_errors(handler: Handler, outcome: Outcome, error: str) -> None:
    """Failures before the request went out are transient; after it, unknown; never raised."""
    answer = send_with(handler)
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


# ---- real sockets, through the transport make_http_client picks --------------------------------


async def _send_real(url: str, timeout_s: float = 5.0) -> Answer:
    async with make_http_client(timeout_s=timeout_s, concurrency=2) as http:
        client = WooxyClient(http, url=url, token=TOKEN, domain="shop.example.com")
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


def test_make_http_client_keeps_within_concurrency_and_reuses_connections() -> None:
    """Twelve sends at once through make_http_client(concurrency=3): three connections, at most
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
        async with server, make_http_client(timeout_s=5, concurrency=3) as http:
            client = WooxyClient(http, url=url, token=TOKEN, domain="shop.example.com")
            return await asyncio.gather(*(client.send(PHONE, "Hi") for _ in range(12)))

    answers = asyncio.run(scenario())
    assert [a.outcome for a in answers] == [Outcome.SENT] * 12
    assert (connections, peak) == (3, 3)
