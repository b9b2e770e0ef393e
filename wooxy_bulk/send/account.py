"""The account before a send: its name and balance from ``/v3/account/info``.

An account error there (a refused key, a disabled user) would stop every message the same way,
so it stops the run before anything is sent. A call that merely fails (a timeout, a 5xx, an odd
answer) is no reason not to send: the send's own "Insufficient balance" answer still stops it.
The balance is a number with no currency (the API exposes no price); `Account.covers` says how
many messages of a given price it pays for, for a cost estimate to compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..delivery import InfoApi, json_object
from ..errors import ExitStatus, WooxyBulkError
from .api import Outcome, classify
from .https import PostError

ACCOUNT_PATH = "/account/info"
KEY_VARIABLE = "WOOXY_API_KEY"


@dataclass(frozen=True, slots=True)
class Account:
    """The account's name and balance, as the API gives them."""

    name: str
    balance: float

    def covers(self, price: float) -> int:
        """How many messages of `price` the balance pays for (a large number when free)."""
        if price <= 0:
            return 2**63 - 1
        return max(math.floor(self.balance / price + 1e-9), 0)


class AccountError(WooxyBulkError):
    """The API refused the account (key, user, activation): nothing can be sent; exit 3."""

    exit_status = ExitStatus.STOPPED


class AccountUnavailable(Exception):
    """The account could not be read (timeout, 5xx, an odd answer); the message says why."""


async def read_account(api: InfoApi) -> Account:
    """The account's name and balance; AccountError for an account error, AccountUnavailable
    when the call itself failed."""
    try:
        status, content, headers = await api.post(ACCOUNT_PATH, {})
    except PostError as exc:
        if exc.fatal:
            raise AccountError(_refused(str(exc))) from None
        raise AccountUnavailable(str(exc)) from None
    payload = json_object(content)
    if payload is not None and payload.get("result") is True:
        account = _account(payload)
        if account is None:
            raise AccountUnavailable(f"HTTP {status}: the answer has no usable accountBalance")
        return account
    answer = classify(status, content, headers, api.redact)
    if answer.outcome is Outcome.FATAL:
        raise AccountError(_refused(answer.error))
    raise AccountUnavailable(answer.error)


def _refused(error: str) -> str:
    return f"reading the account: {error}; nothing was sent (check {KEY_VARIABLE} and the account)"


def _account(payload: dict[str, Any]) -> Account | None:
    name, balance = payload.get("accountName"), payload.get("accountBalance")
    if isinstance(balance, str):
        try:
            balance = float(balance)
        except ValueError:
            return None
    if isinstance(balance, bool) or not isinstance(balance, int | float):
        return None
    if not math.isfinite(balance):
        return None
    return Account(str(name) if name is not None else "", float(balance))
