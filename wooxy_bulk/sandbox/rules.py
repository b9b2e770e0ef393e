"""The sandbox's logic without I/O: the API page's rules, its config and its live state.

Every text is the API page's, verbatim, with its {placeholders} filled in. A `Rejection` also
carries the page's template (placeholders left in), which keys the sandbox's rejection counts, and
the HTTP status the sandbox answers with (clients must not depend on it).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from wooxy_bulk.sandbox import delivery

ACCOUNT_NAME = "sandbox"
USER_ID = 1
COST = "0.05"  # the price per message quoted by the balance error

# The "Method Errors" table of the Send SMS page (POST /v3/sms/send), in the page's order, one
# line per documented text: its first, second, fourth and fifth rows ("Argument domain / phoneNumber
# / text / fromName must be a non-empty string") are NON_EMPTY with the argument filled in. Kept
# apart from api.py's classifier on purpose: each list is checked against the page, not the other.
NON_EMPTY = "Argument {argument} must be a non-empty string"
NOT_E164 = "{phoneNumber} is not a valid E.164 phone number"
FROM_NAME_FORMAT = (
    "Argument fromName must contain 11 and less A-Z, a-z, 0-9 symbols and spaces"
    " or be a valid phoneNumber"
)
TAGS_ARRAY = "Argument tags must be an array"
TAG_EMPTY = "Tag name must be a non-empty string"
TAG_TOO_LONG = "Tags should be 50 characters or less"
TAG_UNDERSCORE = (
    "Any tags starting with an underscore are reserved for internal use and will cause errors"
)
NOT_ACTIVATED = "SMS service is not activated for account {accountName}"
NO_BALANCE = "Insufficient balance. You need at least {cost} to send this message"
BLACKLISTED = "Phone number {phoneNumber} is blacklisted"
DOMAIN_UNKNOWN = "Domain {domain} not found in your account"
PUBLISHING = "Publishing error"
INVALID_TOKEN = "Invalid authorization token!"
INTERNAL = "Internal server error"
BAD_REQUEST = "Bad Request"
NO_MATCH = "no matches found for access token {accessToken}"
NOT_ENABLED = "user {id} not enabled"
NO_DATA = "no data found for key {userId}"
CHECK_FAILED = "access token check failed for key/secret {key}/{accessToken}"  # page: key\/secret
REQUIRED = "Argument {argument} required"
# Not on the page: the sandbox's answer to an 11th concurrent request.
TOO_MANY = "Too many concurrent requests: the API allows {limit} at once"

SEND_PATH = "/v3/sms/send"
METHODS = (SEND_PATH, delivery.INFO_PATH, delivery.ACCOUNT_PATH)

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_FROM_NAME = re.compile(r"[A-Za-z0-9 ]{1,11}")
_MAX_TAG = 50


@dataclass(frozen=True)
class Rejection:
    """One error answer: HTTP status, the page's template and the filled-in text."""

    status: int
    template: str
    text: str


def reject(status: int, template: str, **values: object) -> Rejection:
    """A Rejection whose text is `template` with `values` substituted."""
    text = template.format(**values) if values else template
    if values and "{argument}" in template:
        template = text  # the page lists each argument's non-empty text on its own row
    return Rejection(status, template, text)


_MAGIC_TOKENS: dict[str, Callable[[str], Rejection]] = {
    "sandbox-inactive": lambda _: reject(403, NOT_ACTIVATED, accountName=ACCOUNT_NAME),
    "sandbox-disabled": lambda _: reject(403, NOT_ENABLED, id=USER_ID),
    "sandbox-nodata": lambda _: reject(401, NO_DATA, userId=USER_ID),
    "sandbox-badsecret": lambda t: reject(401, CHECK_FAILED, key=USER_ID, accessToken=t),
}
MAGIC_TOKENS = tuple(_MAGIC_TOKENS)


def check_token(token: str, tokens: tuple[str, ...]) -> Rejection | None:
    """The account errors for an Access-Token header value; None when it is a valid token."""
    if not token:
        return reject(401, INVALID_TOKEN)
    if token in _MAGIC_TOKENS:
        return _MAGIC_TOKENS[token](token)
    if token not in tokens:
        return reject(401, NO_MATCH, accessToken=token)
    return None


def parse_body(raw: bytes) -> dict[str, Any] | Rejection:
    """The JSON object of a request body, or `Bad Request`."""
    try:
        body = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return reject(400, BAD_REQUEST)
    return body if isinstance(body, dict) else reject(400, BAD_REQUEST)


def check_arguments(body: dict[str, Any]) -> Rejection | None:
    """The first argument error of a request body, in the page's order; None when all are fine."""
    for name in ("domain", "phoneNumber"):
        if (problem := _required_string(body, name)) is not None:
            return problem
    if not is_e164(body["phoneNumber"]):
        return reject(400, NOT_E164, phoneNumber=body["phoneNumber"])
    if (problem := _required_string(body, "text")) is not None:
        return problem
    return _check_from_name(body.get("fromName")) or _check_tags(body.get("tags"))


def is_e164(value: str) -> bool:
    """Whether `value` is written in E.164 (+ and digits only) and is a valid number."""
    return _E164.fullmatch(value) is not None and _is_valid_number(value)


def _required_string(body: dict[str, Any], name: str) -> Rejection | None:
    value = body.get(name)
    if value is None:  # absent or JSON null
        return reject(400, REQUIRED, argument=name)
    return _non_empty_string(value, name)


def _non_empty_string(value: object, name: str) -> Rejection | None:
    if isinstance(value, str) and value.strip():
        return None
    return reject(400, NON_EMPTY, argument=name)


def _check_from_name(value: object) -> Rejection | None:
    if value is None:
        return None
    if (problem := _non_empty_string(value, "fromName")) is not None:
        return problem
    assert isinstance(value, str)
    if _FROM_NAME.fullmatch(value) or _is_valid_number(value):
        return None
    return reject(400, FROM_NAME_FORMAT)


def _check_tags(value: object) -> Rejection | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return reject(400, TAGS_ARRAY)
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            return reject(400, TAG_EMPTY)
        if len(tag) > _MAX_TAG:
            return reject(400, TAG_TOO_LONG)
        if tag.startswith("_"):
            return reject(400, TAG_UNDERSCORE)
    return None


def _is_valid_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox accepts and which faults it injects."""

    tokens: tuple[str, ...] = ("sandbox",)
    domains: tuple[str, ...] = ()  # empty: any domain is accepted
    blacklist: tuple[str, ...] = ()  # E.164 numbers
    balance: int | None = None  # messages accepted before "Insufficient balance..."
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    publish_error_rate: float = 0.0
    hang_rate: float = 0.0
    gateway_error_rate: float = 0.0  # taken, then a gateway's HTML 504 instead of the answer
    max_concurrency: int = 10  # across every method: one limit for the account
    seed: int | None = None
    delivery_delay_s: float = 1.0  # an accepted message is `new` this long, then final
    delivery_fail_rate: float = 0.0  # the share of accepted messages whose delivery fails
    clock: Callable[[], float] = field(default=time.time, compare=False)  # seconds since epoch


class SandboxState:
    """The live state of one sandbox: accepted messages and counters."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.messages: list[dict[str, Any]] = []
        self.requests = self.throttled = self.in_flight = self.peak_concurrency = 0
        self.rejected: Counter[str] = Counter()
        self.faults = {"internal": 0, "publishing": 0, "hang": 0, "gateway": 0}
        self.methods: Counter[str] = Counter({path: 0 for path in METHODS})
        self.deliveries = delivery.Deliveries()
        self._rng = random.Random(config.seed)
        self._id_middle = f"{random.getrandbits(40):010x}"

    @property
    def config(self) -> SandboxConfig:
        """The rules in force; assigning a new config (say, a topped-up balance) applies it live."""
        return self._config

    @config.setter
    def config(self, config: SandboxConfig) -> None:
        self._config = config
        self._domains = frozenset(d.lower() for d in config.domains)
        self._blacklist = frozenset(config.blacklist)

    def admit(self, path: str = SEND_PATH) -> bool:
        """Count a request to `path` in flight; False (and counted as throttled) when over the
        limit, which every method shares."""
        self.requests += 1
        self.methods[path] += 1
        self.in_flight += 1
        self.peak_concurrency = max(self.peak_concurrency, self.in_flight)
        if self.in_flight > self.config.max_concurrency:
            self.in_flight -= 1
            self.throttled += 1
            return False
        return True

    def release(self) -> None:
        """A request admitted by `admit` has ended."""
        self.in_flight -= 1

    def balance_left(self) -> int | None:
        """Messages still accepted before the balance error; None when unlimited."""
        if self.config.balance is None:
            return None
        return max(self.config.balance - len(self.messages), 0)

    def decide(self, token: str, raw_body: bytes) -> Rejection | dict[str, Any]:
        """Steps 3-7 of server.py's order (hangs aside): a Rejection, or the message."""
        checked = self._check(token, raw_body)
        if isinstance(checked, Rejection):
            self.rejected[checked.template] += 1
            return checked
        return self._fault() or self._accept(checked)

    def _check(self, token: str, raw_body: bytes) -> Rejection | dict[str, Any]:
        body = self._authorised_body(token, raw_body)
        if isinstance(body, Rejection):
            return body
        return check_arguments(body) or self._check_account(body) or body

    def _authorised_body(self, token: str, raw_body: bytes) -> Rejection | dict[str, Any]:
        """The account errors of every method, then the body's JSON object."""
        problem = check_token(token, self.config.tokens)
        return problem or parse_body(raw_body)

    def _counted(self, outcome: Rejection | dict[str, Any]) -> Rejection | dict[str, Any]:
        if isinstance(outcome, Rejection):
            self.rejected[outcome.template] += 1
        return outcome

    def decide_info(self, token: str, raw_body: bytes) -> Rejection | dict[str, Any]:
        """``/v3/sms/info``: an error, or the delivery status of each id asked for."""
        body = self._authorised_body(token, raw_body)
        if isinstance(body, Rejection):
            return self._counted(body)
        ids = delivery.check_ids(body)
        if isinstance(ids, str):
            return self._counted(reject(400, ids))
        if (fault := self._internal()) is not None:
            return fault
        return self.deliveries.info(ids, self.config.delivery_delay_s, self.config.clock())

    def decide_account(self, token: str, raw_body: bytes) -> Rejection | dict[str, Any]:
        """``/v3/account/info``: an error, or the account's name and balance. The body should
        be empty; a JSON object is taken too (its keys are ignored)."""
        problem = check_token(token, self.config.tokens)
        if problem is None and raw_body.strip():
            parsed = parse_body(raw_body)
            problem = parsed if isinstance(parsed, Rejection) else None
        if problem is not None:
            return self._counted(problem)
        if (fault := self._internal()) is not None:
            return fault
        return delivery.account_info(self.balance_left(), ACCOUNT_NAME, float(COST))

    def _check_account(self, body: dict[str, Any]) -> Rejection | None:
        if self._domains and body["domain"].lower() not in self._domains:
            return reject(404, DOMAIN_UNKNOWN, domain=body["domain"])
        if body["phoneNumber"] in self._blacklist:
            return reject(400, BLACKLISTED, phoneNumber=body["phoneNumber"])
        if self.balance_left() == 0:
            return reject(402, NO_BALANCE, cost=COST)
        return None

    def _internal(self) -> Rejection | None:
        """The fail_rate fault, which every method can answer: 500 "Internal server error"."""
        if self._draw(self.config.fail_rate):
            self.faults["internal"] += 1
            return reject(500, INTERNAL)
        return None

    def _fault(self) -> Rejection | None:
        if (fault := self._internal()) is not None:
            return fault
        if self._draw(self.config.publish_error_rate):
            self.faults["publishing"] += 1
            return reject(503, PUBLISHING)
        return None

    def draw_after_accept(self) -> str | None:
        """What befalls an accepted request's answer, counted: "hang" (none ever comes),
        "gateway" (an HTML 504 comes instead), or None (the answer comes)."""
        for fault, rate in (
            ("hang", self.config.hang_rate),
            ("gateway", self.config.gateway_error_rate),
        ):
            if self._draw(rate):
                self.faults[fault] += 1
                return fault
        return None

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def _accept(self, body: dict[str, Any]) -> dict[str, Any]:
        # shaped like a MongoDB ObjectId: seconds, a per-sandbox random part, a counter
        now = self.config.clock()
        seconds, count = int(now) & 0xFFFFFFFF, len(self.messages) & 0xFFFFFF
        sms_id = f"{seconds:08x}{self._id_middle}{count:06x}"
        message = {
            "sms_id": sms_id,
            "phoneNumber": body["phoneNumber"],
            "text": body["text"],
            "fromName": body.get("fromName"),
            "tags": body.get("tags"),
            "domain": body["domain"],
            "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        }
        self.messages.append(message)
        self.deliveries.record(message, now, self._draw(self.config.delivery_fail_rate))
        return message

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (shape in the module docstring)."""
        return {
            "requests": self.requests,
            "accepted": len(self.messages),
            "rejected": dict(self.rejected),
            "faults": dict(self.faults),
            "throttled": self.throttled,
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
            "balance_left": self.balance_left(),
            "methods": {path.removeprefix("/v3/"): n for path, n in self.methods.items()},
            "info_ids": {"asked": self.deliveries.asked, "largest": self.deliveries.largest},
        }
