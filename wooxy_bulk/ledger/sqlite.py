"""The SQLite ledger: one file shared by the campaigns of a folder, and by several processes at
once (WAL, a busy timeout; each reservation is one BEGIN IMMEDIATE transaction)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import display_path, located
from . import Cap, Clock, OptOut, SendLedger
from .common import LedgerError, Outcomes

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0
WAL_RETRY_S = 0.01  # how long to wait before trying the switch to WAL again

# Each entry is the script that brings the schema from version i to i + 1.
_MIGRATIONS = [
    """
    CREATE TABLE sends (
        id       INTEGER PRIMARY KEY,
        scope    TEXT NOT NULL,
        phone    TEXT NOT NULL,
        campaign TEXT NOT NULL,
        state    TEXT NOT NULL,          -- pending (reserved: may be out), sent, unknown
        sent_at  TEXT NOT NULL,          -- UTC, ISO 8601 to the microsecond: sorts as text
        sms_id   TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sends_recent ON sends (scope, sent_at, phone, campaign);
    CREATE INDEX sends_number ON sends (scope, phone, sent_at);
    CREATE UNIQUE INDEX sends_sms_id ON sends (scope, sms_id) WHERE sms_id <> '';
    CREATE TABLE optouts (
        phone  TEXT PRIMARY KEY,
        since  TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    """,
]

_OVER_CAP = """
SELECT phone, count(*), group_concat(DISTINCT campaign) FROM sends
WHERE scope = ? AND sent_at >= ? GROUP BY phone HAVING count(*) >= ?
"""
# One statement each for a batch of reservations (inside one BEGIN IMMEDIATE transaction).
_PRIOR_MANY = """
SELECT phone, count(*), group_concat(DISTINCT campaign) FROM sends
WHERE scope = ? AND sent_at >= ? AND phone IN ({}) GROUP BY phone
"""
_RESERVE = """
INSERT INTO sends (scope, phone, campaign, state, sent_at, sms_id) VALUES {} RETURNING id, phone
"""
_INSERT = "INSERT OR IGNORE INTO sends (scope, phone, campaign, state, sent_at, sms_id)"
_INSERT_SEND = f"{_INSERT} VALUES (?, ?, ?, ?, ?, ?)"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class SqliteLedger:
    """The ledger in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = display_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise located(path, f"cannot open the ledger ({exc})") from None
        try:
            self._use_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise located(
                path, f"is not a wooxy-bulk ledger or cannot be used ({exc}); move it away"
            ) from None

    def _use_wal(self) -> None:
        """Switch the file to WAL. While another process opens a new ledger at the same moment
        (two campaigns started at once), SQLite can answer "database is locked" at once rather
        than wait for its busy timeout: the switch is tried again until that timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(WAL_RETRY_S)

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        with self.db:  # one transaction: committed, or rolled back on any error
            self.db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise located(
                    self.path,
                    f"the ledger has schema version {version}, newer than this wooxy-bulk"
                    f" understands ({SCHEMA_VERSION}); upgrade wooxy-bulk",
                )
            for script in _MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query. Every read comes before anything is sent, so a file that SQLite
        cannot read (a damaged page) is an InputError naming it (exit 2), not a traceback."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise located(
                self.path,
                f"cannot read the ledger ({exc}); restore it from a backup, or move it away to"
                " start an empty one (its opt-out list and its record of sends go with it)",
            ) from None

    def optouts(self) -> dict[str, OptOut]:
        rows = self._read("SELECT phone, since, reason, source FROM optouts")
        return {p: OptOut(p, datetime.fromisoformat(s), r, src) for p, s, r, src in rows}

    def add_optouts(self, entries: Sequence[OptOut]) -> int:
        params = [(e.phone, iso(e.since), e.reason, e.source) for e in entries]
        with self._transaction():
            before = self.db.total_changes
            self.db.executemany("INSERT OR IGNORE INTO optouts VALUES (?, ?, ?, ?)", params)
            return self.db.total_changes - before

    def remove_optouts(self, phones: Sequence[str]) -> int:
        with self._transaction():
            before = self.db.total_changes
            self.db.executemany("DELETE FROM optouts WHERE phone = ?", [(p,) for p in phones])
            return self.db.total_changes - before

    def over_cap(self, scope: str, cap: Cap, now: datetime) -> dict[str, str]:
        rows = self._read(_OVER_CAP, (scope, iso(cap.since(now)), cap.messages))
        return cap.describe_all(rows)

    def record(self, scope: str, campaign: str, sends: Sequence[tuple[str, str, datetime]]) -> None:
        params = [(scope, p, campaign, "sent", iso(at), sms_id) for p, sms_id, at in sends]
        with self._transaction():
            self.db.executemany(_INSERT_SEND, params)

    def count(self, scope: str, campaign: str) -> int:
        query = "SELECT count(*) FROM sends WHERE scope = ? AND campaign = ? AND state = 'sent'"
        return self._read(query, (scope, campaign))[0][0]

    def for_sending(self, scope: str, campaign: str, cap: Cap | None, clock: Clock) -> SendLedger:
        return SqliteSending(self, scope, campaign, cap, clock)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; sqlite3's context manager rolls back on any error (a failed
        COMMIT too). A failure of SQLite's (a full disk, a read-only file) is a LedgerError
        naming the file."""
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                yield
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.location}: cannot write the ledger ({exc})") from None

    def close(self) -> None:
        self.db.close()


class SqliteSending(Outcomes):
    """The sender's side of a SQLite ledger: reservations and outcomes on the event loop's
    thread (each a short local transaction)."""

    def __init__(
        self, ledger: SqliteLedger, scope: str, campaign: str, cap: Cap | None, clock: Clock
    ) -> None:
        super().__init__(scope, campaign, cap, clock, time.monotonic)
        self.ledger, self.db = ledger, ledger.db

    async def reserve(self, phones: Sequence[str]) -> dict[str, str]:
        if self.cap is None or not phones:
            return {}
        now = self.clock()
        marks = ", ".join("?" * len(phones))
        with self.ledger._transaction():
            self._write()
            prior = self.db.execute(
                _PRIOR_MANY.format(marks), (self.scope, iso(self.cap.since(now)), *phones)
            ).fetchall()
            refused = {
                phone: self.cap.describe(n, (names or "").split(","))
                for phone, n, names in prior
                if n >= self.cap.messages
            }
            wanted = [p for p in phones if p not in refused]
            if wanted:
                values = ", ".join("(?, ?, ?, 'pending', ?, '')" for _ in wanted)
                params = [v for p in wanted for v in (self.scope, p, self.campaign, iso(now))]
                rows = self.db.execute(_RESERVE.format(values), params).fetchall()
                self.reserved.update((phone, row) for row, phone in rows)
        return refused

    def flush(self) -> None:
        if self.noted:
            with self.ledger._transaction():
                self._write()

    def _write(self) -> None:
        inserts, updates, deletes = self.take()
        db = self.db
        if inserts:
            db.executemany(_INSERT_SEND, [(*i[:4], iso(i[4]), i[5]) for i in inserts])
        if updates:
            db.executemany("UPDATE sends SET state = ?, sms_id = ? WHERE id = ?", updates)
        if deletes:
            db.executemany("DELETE FROM sends WHERE id = ?", [(i,) for i in deletes])

    async def aclose(self) -> None:
        self.release_unsent()
        self.flush()
