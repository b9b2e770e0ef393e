"""The sandbox's delivery reports and account, without I/O: ``/v3/sms/info`` and
``/v3/account/info`` as wooxy-api-more.md documents them.

Every accepted message starts ``new`` and, ``delivery_delay_s`` after it was accepted (by the
sandbox's clock), becomes ``failed`` (a share ``delivery_fail_rate`` of them, drawn when it is
accepted) or ``delivered``. A test may set any other status word on a message
(`Deliveries.set_status`), as the API's documentation leaves its list of words open.

The account's balance is the messages the sandbox still accepts times `rules.COST`, the
price its own "Insufficient balance" text quotes; unlimited shows `UNLIMITED_BALANCE`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

INFO_PATH = "/v3/sms/info"
ACCOUNT_PATH = "/v3/account/info"
MAX_IDS = 100
UNLIMITED_BALANCE = 1_000_000.0

IDS_REQUIRED = "Argument ids required"
IDS_NOT_ARRAY = "Argument ids must be an array of strings"
IDS_EMPTY = "Argument ids can not be empty"
ID_EMPTY = "each id must be a non-empty string"
# Documented only as far as "ids count must be less or equ"; the rest is the sandbox's guess.
IDS_TOO_MANY = "ids count must be less or equal to {limit}"
NOT_FOUND = "SMS {id} not found"

NEW, DELIVERED, FAILED = "new", "delivered", "failed"


@dataclass(slots=True)
class _Delivery:
    message: dict[str, Any]
    accepted_at: float  # the sandbox clock's seconds since the epoch
    fails: bool
    word: str | None = None  # a status word set by a test, shown instead of the computed one


def check_ids(body: dict[str, Any]) -> list[str] | str:
    """The ids of an ``/v3/sms/info`` body, or the documented error text for a bad one."""
    ids = body.get("ids")
    if ids is None:
        return IDS_REQUIRED
    if not isinstance(ids, list):
        return IDS_NOT_ARRAY
    if not ids:
        return IDS_EMPTY
    if len(ids) > MAX_IDS:
        return IDS_TOO_MANY.format(limit=MAX_IDS)
    if not all(isinstance(i, str) and i.strip() for i in ids):
        return ID_EMPTY
    return ids


def created_at(seconds: float) -> str:
    """A time as the API writes ``createdAt``: UTC, ``YYYY-MM-DD HH:MM:SS``, no zone marker."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


class Deliveries:
    """The delivery state of every accepted message, by sms_id."""

    def __init__(self) -> None:
        self._by_id: dict[str, _Delivery] = {}
        self.asked = 0  # ids asked for, over every /v3/sms/info request
        self.largest = 0  # the most ids one request asked for

    def record(self, message: dict[str, Any], accepted_at: float, fails: bool) -> None:
        """A message the send endpoint accepted."""
        self._by_id[message["sms_id"]] = _Delivery(message, accepted_at, fails)

    def set_status(self, sms_id: str, word: str) -> None:
        """Show `word` as the message's status from now on (for tests of unknown words)."""
        self._by_id[sms_id].word = word

    def status(self, sms_id: str, delay_s: float, now: float) -> str:
        """The message's status at `now`: new until `delay_s` has passed, then failed or
        delivered."""
        entry = self._by_id[sms_id]
        if entry.word is not None:
            return entry.word
        if now - entry.accepted_at < delay_s:
            return NEW
        return FAILED if entry.fails else DELIVERED

    def info(self, ids: list[str], delay_s: float, now: float) -> dict[str, Any]:
        """The answer to ``/v3/sms/info``: every id's object, or null and "SMS <id> not found"."""
        self.asked += len(ids)
        self.largest = max(self.largest, len(ids))
        data: dict[str, Any] = {}
        errors: list[str] = []
        for sms_id in ids:
            entry = self._by_id.get(sms_id)
            if entry is None:
                if sms_id not in data:
                    errors.append(NOT_FOUND.format(id=sms_id))
                data[sms_id] = None
                continue
            message = entry.message
            data[sms_id] = {
                "id": sms_id,
                "status": self.status(sms_id, delay_s, now),
                "createdAt": created_at(entry.accepted_at),
                "text": message["text"],
                "phoneNumber": message["phoneNumber"],
                "fromName": message["fromName"],
            }
        return {"result": True, "data": data, "errors": errors}


def account_info(messages_left: int | None, account_name: str, cost: float) -> dict[str, Any]:
    """The answer to ``/v3/account/info``: the name and the balance (messages left × cost)."""
    balance = UNLIMITED_BALANCE if messages_left is None else round(messages_left * cost, 2)
    return {"result": True, "accountName": account_name, "accountBalance": balance}
