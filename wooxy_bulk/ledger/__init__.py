"""The shared ledger: every message sent, from every campaign on it, and the opt-out list.

Two backends behind one interface: SQLite (the default, `.wooxy-bulk/ledger.sqlite` beside the
campaign, shared by the campaigns of a folder and safe for several processes at once) and
PostgreSQL (`ledger: postgresql://…` or WOOXY_LEDGER, shared by a team on several machines).

The plan reads it in bulk (the opt-out list, and the numbers at or over the frequency cap, in one
query each); the sender writes to it through a `SendLedger`: with a cap, a pending row is
reserved in the same transaction that counts the number's recent sends, so two campaigns at once
cannot both pass the cap; the row is confirmed (sent, unknown) or released on the outcome.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError

LEDGER_VARIABLE = "WOOXY_LEDGER"
DEFAULT_LEDGER = Path(".wooxy-bulk") / "ledger.sqlite"
SCHEMES = ("postgresql://", "postgres://")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OptOut:
    """A number on the opt-out list: since when, why, and which command or file put it there."""

    phone: str
    since: datetime
    reason: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `messages` messages to one number within `hours`, across the ledger's campaigns."""

    messages: int
    hours: float

    def since(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.hours)

    def describe_all(self, rows: Iterable[tuple[str, int, str]]) -> dict[str, str]:
        """The error of each (phone, count, comma-separated campaigns) row of a bulk query;
        the few distinct texts are made once each."""
        texts: dict[tuple[int, str], str] = {}
        found = {}
        for phone, count, names in rows:
            text = texts.get((count, names))
            if text is None:
                text = texts[count, names] = self.describe(count, (names or "").split(","))
            found[phone] = text
        return found

    def describe(self, count: int, campaigns: Iterable[str]) -> str:
        """A suppressed row's error: how many messages, and from which campaigns."""
        names = ", ".join(sorted(set(campaigns))) or "?"
        hours = f"{self.hours:g} hour{'s' if self.hours != 1 else ''}"
        return (
            f"frequency cap: {count} message{'s' if count != 1 else ''} in the last {hours}"
            f" (at most {self.messages}), from {names}"
        )


class SendLedger(Protocol):
    """The ledger as the sender uses it, inside the event loop."""

    reserves: bool  # whether reserve() does anything (a frequency cap is set)

    async def reserve(self, phones: Sequence[str]) -> dict[str, str]:
        """Before the numbers' first attempts: reserve each one under the cap (a pending row now
        counts against it) and return the others, each with its `suppressed` row's error."""

    def outcome(self, phone: str, state: str, sms_id: str = "") -> None:
        """The message's outcome (sent, unknown, failed or not_sent), written soon after."""

    async def aclose(self) -> None:
        """Write every outcome noted, release the reservations never sent, and close."""


class Ledger(Protocol):
    """The ledger as the plan and the `optout` command use it."""

    location: str  # where it is, fit to print (never a password)

    def optouts(self) -> dict[str, OptOut]: ...

    def add_optouts(self, entries: Sequence[OptOut]) -> int:
        """Put numbers on the list (a number already there keeps its first date); how many
        were new."""

    def remove_optouts(self, phones: Sequence[str]) -> int: ...

    def over_cap(self, scope: str, cap: Cap, now: datetime) -> dict[str, str]:
        """The numbers with at least cap.messages messages in cap.hours, each with its error."""

    def record(self, scope: str, campaign: str, sends: Sequence[tuple[str, str, datetime]]) -> None:
        """Add messages sent (phone, sms_id, sent at) that the ledger does not hold yet."""

    def count(self, scope: str, campaign: str) -> int:
        """How many messages of one campaign the ledger holds as sent."""

    def for_sending(
        self, scope: str, campaign: str, cap: Cap | None, clock: Clock
    ) -> SendLedger: ...

    def close(self) -> None: ...


def is_url(location: str | os.PathLike[str]) -> bool:
    return str(location).startswith(SCHEMES)


def choose(
    explicit: str | None, campaign_ledger: str | Path | None, folder: Path | None = None
) -> str | Path:
    """The ledger to use: an explicit one (--ledger), else WOOXY_LEDGER, else the campaign's,
    else `.wooxy-bulk/ledger.sqlite` in `folder` (the current one by default)."""
    from_env = os.environ.get(LEDGER_VARIABLE, "").strip()
    for value in (explicit, from_env or None, campaign_ledger):
        if value:
            return value if is_url(value) else Path(value)
    return (folder or Path.cwd()) / DEFAULT_LEDGER


def open_ledger(location: str | Path) -> Ledger:
    """Open (and create or migrate) the ledger at a path or a postgresql:// URL."""
    if is_url(location):
        from .postgres import PostgresLedger

        return PostgresLedger(str(location))
    if isinstance(location, str) and "://" in location:
        raise InputError(
            f"ledger: {location.split('://')[0]}:// is not a ledger; give a file path or a"
            " postgresql:// URL"
        )
    from .sqlite import SqliteLedger

    return SqliteLedger(Path(location))


def not_made_yet(location: str | Path) -> bool:
    """Whether the ledger is a SQLite file that does not exist yet (a PostgreSQL database is
    always there to ask): reading it need not create it."""
    return not is_url(location) and not Path(location).exists()


def request_slots(location: str | Path, key: str, origin: str) -> Any:
    """The account's request slots in a PostgreSQL ledger's database, shared by every machine
    (a PostgresSlots), or None for a SQLite ledger: the machine's own slots (slots.py) apply."""
    if not is_url(location):
        return None
    from .pgslots import PostgresSlots, account_id
    from .postgres import Secrets

    secrets = Secrets(str(location))
    return PostgresSlots(
        str(location), account_id(key, origin), secrets.scrub, where=secrets.location
    )


def optout_error(entry: OptOut) -> str:
    """A suppressed row's error for an opted-out number: since when, and how."""
    since = entry.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    how = f" ({entry.source})" if entry.source else ""
    why = f": {entry.reason}" if entry.reason else ""
    return f"on the opt-out list since {since}{how}{why}"
