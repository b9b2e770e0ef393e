"""The Wooxy API: JSON posted to a path under its base URL, and the Send SMS answer classified.

`Api` posts through a `https.Post` (what `https.open_post` yields; the unit tests give a plain
async function) and keeps the key out of every text it returns. `WooxyClient.send` sends one SMS
and classifies the answer: one request per call, no retries, no sleeps.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from ..errors import located
from .https import Post, PostError, Reply, one_line


class Outcome(StrEnum):
    """What one request achieved."""

    SENT = "sent"  # result true with sms_id
    FAILED = "failed"  # rejected for this row only
    TRANSIENT = "transient"  # nothing was taken and trying again may work
    UNKNOWN = "unknown"  # the request went out and no usable answer came: never retried
    FATAL = "fatal"  # account- or campaign-wide: every later row would fail the same way


@dataclass(frozen=True, slots=True)
class Answer:
    """The classified answer to one request; `error` is one line with the key redacted.

    `http_status` is None when no HTTP answer came (so a transient one never reached the API).
    """

    outcome: Outcome
    sms_id: str = ""
    error: str = ""
    retry_after: float | None = None
    http_status: int | None = None


# The "Method Errors" table of the Send SMS page (POST /v3/sms/send), in the page's order, one
# line per documented text ({placeholders} as .+), and what each means for the run. Matched whole,
# case-insensitively, trailing punctuation allowed. The sandbox writes the same texts apart
# (sandbox/rules.py), on purpose: each list is checked against the page, not against the other.
_PAGE_TEXTS: tuple[tuple[str, Outcome], ...] = (
    ("Argument domain must be a non-empty string", Outcome.FATAL),
    ("Argument phoneNumber must be a non-empty string", Outcome.FAILED),
    (r".+ is not a valid E\.164 phone number", Outcome.FAILED),
    ("Argument text must be a non-empty string", Outcome.FAILED),
    ("Argument fromName must be a non-empty string", Outcome.FATAL),
    (
        "Argument fromName must contain 11 and less A-Z, a-z, 0-9 symbols and spaces"
        " or be a valid phoneNumber",
        Outcome.FATAL,
    ),
    ("Argument tags must be an array", Outcome.FATAL),
    ("Tag name must be a non-empty string", Outcome.FATAL),
    ("Tags should be 50 characters or less", Outcome.FATAL),
    (
        "Any tags starting with an underscore are reserved for internal use and will cause errors",
        Outcome.FATAL,
    ),
    ("SMS service is not activated for account .+", Outcome.FATAL),
    (r"Insufficient balance\. You need at least .+ to send this message", Outcome.FATAL),
    ("Phone number .+ is blacklisted", Outcome.FAILED),
    ("Domain .+ not found in your account", Outcome.FATAL),
    ("Publishing error", Outcome.TRANSIENT),
    ("Invalid authorization token", Outcome.FATAL),
    ("Internal server error", Outcome.TRANSIENT),
    ("Bad Request", Outcome.FATAL),
    ("no matches found for access token .*", Outcome.FATAL),
    ("user .+ not enabled", Outcome.FATAL),
    ("no data found for key .+", Outcome.FATAL),
    ("access token check failed for key/secret .*", Outcome.FATAL),
    ("Argument (domain|fromName|tags) required", Outcome.FATAL),  # "Argument {argument} required"
    ("Argument (phoneNumber|text) required", Outcome.FAILED),  # … for this row's own values
)
_TEXTS = tuple((re.compile(rf"{text}\W*", re.IGNORECASE), o) for text, o in _PAGE_TEXTS)
_RANK = (Outcome.FATAL, Outcome.TRANSIENT, Outcome.FAILED)  # the first found in an answer wins
_SNIPPET = 200
# Built once: json.dumps(…, separators=…) builds a new encoder on every call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


class Api:
    """The API at base URL `url` with key `token`: JSON posted to a path under it.

    Texts it returns (errors, answers' snippets) pass through `redact` first.
    """

    def __init__(self, post: Post, *, url: str, token: str) -> None:
        if not re.match(r"https?://", url):
            raise located("api.url", f"{url!r} is not an http(s) URL")
        self.base_url = url.rstrip("/")
        self._post = post
        self._headers = {"Access-Token": token, "Content-Type": "application/json"}
        self._secret = _secret_pattern(token)

    async def post(self, path: str, payload: Mapping[str, Any]) -> Reply:
        """POST `payload` as JSON to ``{url}{path}``; PostError (key redacted) when no answer."""
        body = _COMPACT_JSON.encode(payload).encode()
        try:
            return await self._post(self.base_url + path, body, self._headers)
        except PostError as exc:
            raise PostError(self.redact(str(exc)), went_out=exc.went_out, fatal=exc.fatal) from None

    def redact(self, text: str) -> str:
        """`text` with the key replaced by ``***`` as sent, JSON-escaped (``\\/``, ``\\u002f``)
        or URL-encoded (``%2F``, ``+``), in any mixture of these."""
        return self._secret.sub("***", text) if self._secret else text


class WooxyClient:
    """Sends one SMS per call to ``{url}/sms/send`` and classifies the answer."""

    def __init__(
        self,
        post: Post,
        *,
        url: str,
        token: str,
        domain: str,
        from_name: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        self.api = Api(post, url=url, token=token)
        self._domain = {"domain": domain}
        self._from_name = {} if from_name is None else {"fromName": from_name}
        self._tags = {} if tags is None else {"tags": list(tags)}

    async def send(self, phone: str, text: str) -> Answer:
        """Send one SMS; never raises for HTTP or network trouble or an odd answer."""
        payload = {
            **self._domain,
            "phoneNumber": phone,
            **self._from_name,
            "text": text,
            **self._tags,
        }  # keys in the API page's order
        try:
            status, content, headers = await self.api.post("/sms/send", payload)
        except PostError as exc:
            return failure_answer(exc)
        return classify(status, content, headers, self.api.redact)


def _secret_pattern(secret: str) -> re.Pattern[str] | None:
    """A pattern matching `secret` with each character as sent, backslash-escaped, as a JSON
    ``\\u`` escape or percent-encoded (a space also as ``+``)."""
    if not secret:
        return None

    def forms(char: str) -> str:
        utf16 = char.encode("utf-16-be").hex()
        options = [
            re.escape(char),
            r"\\" + re.escape(char),
            "".join(rf"\\u{utf16[i : i + 4]}" for i in range(0, len(utf16), 4)),
            "".join(f"%{byte:02x}" for byte in char.encode()),
        ]
        if char == " ":
            options.append(r"\+")
        return f"(?:{'|'.join(options)})"

    return re.compile("".join(forms(c) for c in secret), re.IGNORECASE)


def failure_answer(exc: PostError) -> Answer:
    """The Answer for a request that got no HTTP answer: did it go out?"""
    if exc.fatal:
        return Answer(Outcome.FATAL, error=str(exc))
    return Answer(Outcome.UNKNOWN if exc.went_out else Outcome.TRANSIENT, error=str(exc))


# Refused credentials, or no such endpoint (a wrong api.url): every row would be answered alike.
_FATAL_STATUSES = frozenset({401, 403, 404, 405})


def classify(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    redact: Callable[[str], str] = lambda text: text,
) -> Answer:
    """Classify an HTTP answer: by the API's JSON first, by the status second.

    Only 429, 503 and the API's own "Internal server error" / "Publishing error" are transient.
    An answer that is not the API's JSON (a gateway's 502/504 HTML page) after the request went
    out is unknown, as the API may have taken the message. `redact` cleans every text kept.
    """
    payload = _json(content)
    retry_after = parse_retry_after(headers.get("retry-after"))
    if payload is not None and payload.get("result") is True:
        sms_id = payload.get("sms_id")
        if isinstance(sms_id, int) and not isinstance(sms_id, bool):
            sms_id = str(sms_id)
        if isinstance(sms_id, str) and sms_id.strip():
            return Answer(Outcome.SENT, sms_id=sms_id.strip(), http_status=status)
        error = f"HTTP {status}: accepted (result true) but the answer has no sms_id"
        return Answer(Outcome.UNKNOWN, error=error, http_status=status)
    texts = [redact(t) for t in _texts(payload)]
    error = "; ".join(texts) or _http_error(
        status, one_line(redact(content.decode(errors="replace")))
    )
    outcome = _outcome(status, texts, payload)
    return Answer(outcome, error=error, retry_after=retry_after, http_status=status)


def _outcome(status: int, texts: list[str], payload: dict[str, Any] | None) -> Outcome:
    found = {_text_outcome(t) for t in texts}
    for outcome in _RANK:
        if outcome in found:
            return outcome
    if status in (429, 503):
        return Outcome.TRANSIENT
    if status in _FATAL_STATUSES or 300 <= status < 400:
        return Outcome.FATAL
    if payload is not None and payload.get("result") is False:
        return Outcome.FAILED  # the API's own answer, with a text the page does not list
    if 400 <= status < 500:
        return Outcome.FAILED  # refused before it reached the API: nothing was taken
    return Outcome.UNKNOWN


def _text_outcome(text: str) -> Outcome | None:
    for pattern, outcome in _TEXTS:
        if pattern.fullmatch(text):
            return outcome
    return None


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


def _http_error(status: int, text: str) -> str:
    """``HTTP 418: <the body's first 200 characters>``, for answers without an error text."""
    snippet = text[:_SNIPPET]
    if 200 <= status < 300:
        return f"HTTP {status}: unexpected answer: {snippet or 'empty body'}"
    return f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"


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
