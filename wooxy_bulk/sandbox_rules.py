"""The Send SMS API page's rules for the sandbox, as pure functions that return a `Rejection`.

Every text is the API page's, verbatim, with its {placeholders} filled in. A `Rejection` also
carries the page's template (placeholders left in), which keys the sandbox's rejection counts, and
the HTTP status the sandbox answers with (clients must not depend on it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers

ACCOUNT_NAME = "sandbox"
USER_ID = 1
COST = "0.05"  # the price per message quoted by the balance error

INVALID_TOKEN = "Invalid authorization token!"
NO_MATCH = "no matches found for access token {accessToken}"
NOT_ACTIVATED = "SMS service is not activated for account {accountName}"
NOT_ENABLED = "user {id} not enabled"
NO_DATA = "no data found for key {userId}"
CHECK_FAILED = "access token check failed for key/secret {key}/{accessToken}"
BAD_REQUEST = "Bad Request"
REQUIRED = "Argument {argument} required"
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
DOMAIN_UNKNOWN = "Domain {domain} not found in your account"
BLACKLISTED = "Phone number {phoneNumber} is blacklisted"
NO_BALANCE = "Insufficient balance. You need at least {cost} to send this message"
INTERNAL = "Internal server error"
PUBLISHING = "Publishing error"
TOO_MANY = "Too many concurrent requests: the API allows {limit} at once"

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
        if not isinstance(tag, str) or not tag:
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
