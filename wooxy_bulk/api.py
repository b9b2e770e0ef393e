"""The Wooxy Send SMS client: one request per call, its answer classified; no retries, no sleeps.

It posts through `transport.HttpPool` (what `make_http_client` builds): keep-alive HTTP/1.1 on
asyncio, TLS verified (`trusted_context`), less than half the client CPU of an aiohttp
session (figures in transport.py). An `httpx.AsyncClient` works too (the unit tests give it an
`httpx.MockTransport`). Network failures are classified by whether the request went out.
"""

from __future__ import annotations

import errno
import json
import math
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import certifi
import httpx

from . import transport
from .errors import InputError, located
from .proxy import environment_proxy


class Outcome(StrEnum):
    """What one request achieved."""

    SENT = "sent"  # result true with sms_id
    FAILED = "failed"  # rejected for this row only
    TRANSIENT = "transient"  # nothing was delivered and trying again may work
    UNKNOWN = "unknown"  # the request went out and no usable answer came: never retried
    FATAL = "fatal"  # account- or campaign-wide: every later row would fail the same way


@dataclass(frozen=True, slots=True)
class Answer:
    """The classified answer to one request; `error` is one line with the key redacted."""

    outcome: Outcome
    sms_id: str = ""
    error: str = ""
    retry_after: float | None = None
    http_status: int | None = None


_FATAL_TEXTS = re.compile(
    r"invalid authorization token"
    r"|no matches found for access token"
    r"|user .* not enabled$"
    r"|no data found for key"
    r"|access token check failed for key"
    r"|sms service is not activated for account"
    r"|insufficient balance"
    r"|domain .* not found in your account"
    r"|bad request$"
    r"|argument (domain|fromname|tags)\b"
    r"|tag name must be"
    r"|tags should be"
    r"|any tags starting with an underscore",
    re.IGNORECASE,
)
_TRANSIENT_TEXTS = re.compile(r"(internal server error|publishing error)\W*$", re.IGNORECASE)
_ROW_TEXTS = re.compile(
    r"phone number .* is blacklisted"
    r"|.* is not a valid e\.164 phone number"
    r"|argument (phoneNumber|text)\b",
    re.IGNORECASE,
)
_SNIPPET = 200
# Built once: json.dumps(…, separators=…) builds a new encoder on every call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


Post = Callable[[bytes], Awaitable[tuple[int, bytes, Mapping[str, str]]]]


class WooxyClient:
    """Sends one SMS per call to ``{url}/sms/send`` and classifies the answer."""

    def __init__(
        self,
        http: transport.HttpPool | httpx.AsyncClient,
        *,
        url: str,
        token: str,
        domain: str,
        from_name: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        endpoint = url.rstrip("/") + "/sms/send"
        if not re.match(r"https?://", endpoint):
            raise located("api.url", f"{url!r} is not an http(s) URL")
        self._token = token
        headers = {"Access-Token": token, "Content-Type": "application/json"}
        try:
            self._post, timeout = _poster(http, endpoint, headers)
        except ValueError as exc:  # a URL or header HTTP cannot carry
            raise InputError(f"cannot send: {redact(str(exc), token)}") from None
        self._timeout_s = timeout if timeout is not None else math.inf
        self._domain = {"domain": domain}
        self._from_name = {} if from_name is None else {"fromName": from_name}
        self._tags = {} if tags is None else {"tags": list(tags)}

    def _body(self, phone: str, text: str) -> bytes:
        """The JSON body of one request, keys in the API page's order."""
        payload = {
            **self._domain,
            "phoneNumber": phone,
            **self._from_name,
            "text": text,
            **self._tags,
        }
        return _COMPACT_JSON.encode(payload).encode()

    async def send(self, phone: str, text: str) -> Answer:
        """Send one SMS; never raises for HTTP or network trouble or an odd answer."""
        try:
            status, content, headers = await self._post(self._body(phone, text))
        except (
            TimeoutError,
            transport.ConnectFailed,
            transport.NoAnswer,
            httpx.HTTPError,
            OSError,
        ) as exc:
            answer = failure_answer(exc, self._timeout_s)
        else:
            answer = classify(status, content, headers)
        if self._token and self._token in answer.error:
            return replace(answer, error=redact(answer.error, self._token))
        return answer


def _poster(
    http: transport.HttpPool | httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[Post, float | None]:
    """A POST function to `url` over either client, and its read timeout."""
    if isinstance(http, transport.HttpPool):
        return http.poster(url, headers), http.timeout_s

    async def post_httpx(body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        response = await http.post(url, content=body, headers=headers)
        return response.status_code, response.content, response.headers

    return post_httpx, http.timeout.read


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced by ``***``."""
    return text.replace(secret, "***") if secret else text


def make_http_client(*, timeout_s: float, concurrency: int) -> transport.HttpPool:
    """Keep-alive connections, at most `concurrency`, TLS verified (see `trusted_context`),
    through the proxy HTTPS_PROXY names unless NO_PROXY lists the host.

    Use it as ``async with make_http_client(...) as http``.
    """
    return transport.HttpPool(
        timeout_s=timeout_s,
        limit=concurrency,
        ssl_context=trusted_context(),
        proxy_for=environment_proxy,
    )


def trusted_context() -> ssl.SSLContext:
    """Certificates verified against Mozilla's CA bundle (certifi) and the system's own store.

    The system store is where a company's TLS-inspecting proxy puts its CA, and OpenSSL's
    SSL_CERT_FILE / SSL_CERT_DIR variables point it elsewhere, as for curl, git and pip.
    """
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return context


# Refused credentials, or no such endpoint (a wrong api.url): every row would be answered alike.
_FATAL_STATUSES = frozenset({401, 403, 404, 405})


def classify(status: int, content: bytes, headers: Mapping[str, str]) -> Answer:
    """Classify an HTTP answer: by the body first, by the status second."""
    payload = _json(content)
    if payload is not None and payload.get("result") is True:
        sms_id = payload.get("sms_id")
        if isinstance(sms_id, int) and not isinstance(sms_id, bool):
            sms_id = str(sms_id)
        if isinstance(sms_id, str) and sms_id.strip():
            return Answer(Outcome.SENT, sms_id=sms_id.strip(), http_status=status)
        error = f"HTTP {status}: accepted (result true) but the answer has no sms_id"
        return Answer(Outcome.UNKNOWN, error=error, http_status=status)
    texts = _texts(payload)
    error = "; ".join(texts) or _http_error(status, content)
    outcome = _outcome(status, texts, payload)
    retry_after = parse_retry_after(headers.get("retry-after"))
    return Answer(outcome, error=error, retry_after=retry_after, http_status=status)


def _outcome(status: int, texts: list[str], payload: dict[str, Any] | None) -> Outcome:
    if any(_FATAL_TEXTS.match(t) for t in texts):
        return Outcome.FATAL
    if status == 429 or status >= 500 or any(_TRANSIENT_TEXTS.match(t) for t in texts):
        return Outcome.TRANSIENT
    if status in _FATAL_STATUSES and not any(_ROW_TEXTS.match(t) for t in texts):
        return Outcome.FATAL
    if 200 <= status < 300 and (payload is None or payload.get("result") is not False):
        return Outcome.UNKNOWN
    return Outcome.FAILED


def _json(content: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _texts(payload: dict[str, Any] | None) -> list[str]:
    """The API's error texts, whether `errors` is a list or a lone string."""
    if payload is None:
        return []
    errors = payload.get("errors")
    if isinstance(errors, str):
        errors = [errors]
    if not isinstance(errors, list):
        return []
    texts = (e if isinstance(e, str) else json.dumps(e) for e in errors)
    return [t for t in (one_line(t) for t in texts) if t]


def _http_error(status: int, content: bytes) -> str:
    """``HTTP 418: <the body's first 200 characters>``, for answers without an error text."""
    snippet = one_line(content[: _SNIPPET * 4].decode("utf-8", "replace"))[:_SNIPPET]
    if 200 <= status < 300:
        return f"HTTP {status}: unexpected answer: {snippet or 'empty body'}"
    return f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, made one space."""
    return " ".join(text.split())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def failure_answer(exc: BaseException, timeout_s: float) -> Answer:
    """Classify an exception raised while sending: did the request go out?"""
    if _is_certificate_error(exc):
        return Answer(Outcome.FATAL, error=one_line(f"TLS certificate verification failed: {exc}"))
    outcome, error = _classify_exception(exc, timeout_s)
    return Answer(outcome, error=one_line(error))


def _classify_exception(exc: BaseException, timeout_s: float) -> tuple[Outcome, str]:
    wait = f"{timeout_s:g} s"
    if isinstance(exc, transport.ConnectTimeout | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Outcome.TRANSIENT, f"connect timeout after {wait}"
    if isinstance(exc, transport.ConnectFailed | httpx.ConnectError):
        if _errno(exc) == errno.ECONNREFUSED:
            return Outcome.TRANSIENT, "connection refused"
        return Outcome.TRANSIENT, f"cannot connect: {exc}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
        return Outcome.FATAL, f"cannot send: {exc}"
    if isinstance(exc, httpx.ReadTimeout | TimeoutError):
        return Outcome.UNKNOWN, f"read timeout after {wait}"
    if isinstance(exc, transport.ServerClosed | httpx.RemoteProtocolError):
        return Outcome.UNKNOWN, f"the server closed the connection without an answer ({exc})"
    if isinstance(exc, transport.BadAnswer):
        return Outcome.UNKNOWN, str(exc)
    return Outcome.UNKNOWN, f"connection lost mid-request ({type(exc).__name__}: {exc})"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_certificate_error(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in _chain(exc))


def _errno(exc: BaseException) -> int | None:
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno is not None:
            return e.errno
    return None
