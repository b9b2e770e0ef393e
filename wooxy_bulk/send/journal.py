"""The SQLite journal: every message's state, by E.164 number, so a re-run never sends twice.

The rule: ``await begin()`` returns once the message's in-flight record is on disk (synced, not
only handed to the operating system), and only then does the sender post its request. So not
even a power loss can lose the record of a request that went out. ``finish()`` queues the
outcome for the next commit, which nothing waits for. A crash before that commit leaves the
message in flight, which a re-run reports as unknown: never sent twice.

Group commit: writes are queued, and the first one queued schedules a commit on the event loop
(``call_soon``). That commit runs once the loop has run every worker ready at that moment, so the
records they queued share its one transaction and its one sync (SQLite in WAL mode with
``synchronous=FULL``). It runs on the loop, in this thread: no second thread competes with the
loop for the interpreter, and the order of writes is the order they were queued.

A journal that cannot be written (a full disk) raises `JournalError` from ``begin()`` (and from
``sync()``): the run stops, and no request goes out without its record. The file is opened in
exclusive locking mode: while one run has it open, another run of the same campaign cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import InputError, JournalError, display_path, located
from . import scope as scopes

Clock = Callable[[], datetime]
SCHEMA_VERSION = 3
_ELSEWHERE = "move it away or rename the campaign"
_Write = tuple[str, tuple[Any, ...], asyncio.Future[int] | None]  # SQL, parameters, its waiter

# Version 1: the messages table. Each later version's statements upgrade the one before, in a
# transaction: a journal written by an older wooxy-bulk opens and is upgraded in place.
_SCHEMA = """
CREATE TABLE messages (
    scope      TEXT    NOT NULL,
    phone      TEXT    NOT NULL,
    row        INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    sms_id     TEXT    NOT NULL DEFAULT '',
    error      TEXT    NOT NULL DEFAULT '',
    text       TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (scope, phone)
) WITHOUT ROWID
"""
_UPGRADES: dict[int, tuple[str, ...]] = {
    2: (  # delivery status: the API's word for it, and when it was asked (UTC)
        "ALTER TABLE messages ADD COLUMN delivery TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE messages ADD COLUMN delivery_checked_at TEXT NOT NULL DEFAULT ''",
    ),
    3: (),  # scopes are normalised URLs (scope.py): done by _normalise_scopes
}

_BEGIN = """
INSERT INTO messages (scope, phone, row, state, sms_id, error, text, attempts, updated_at)
VALUES (?, ?, ?, 'in_flight', '', '', ?, 1, ?)
ON CONFLICT (scope, phone) DO UPDATE SET
    row = excluded.row, state = 'in_flight', sms_id = '', error = '', text = excluded.text,
    attempts = messages.attempts + 1, updated_at = excluded.updated_at
WHERE messages.state <> 'sent'
"""

_FINISH = """
UPDATE messages SET state = ?, sms_id = ?, error = ?, updated_at = ?
WHERE scope = ? AND phone = ?
"""

_SENT_BEFORE = """
INSERT INTO messages (scope, phone, row, state, sms_id, text, attempts, updated_at)
VALUES (?, ?, ?, 'sent', ?, ?, 1, ?)
ON CONFLICT (scope, phone) DO UPDATE SET
    row = excluded.row, state = 'sent', sms_id = excluded.sms_id, error = '',
    updated_at = excluded.updated_at
"""

_ENTRIES = """
SELECT phone, row, state, sms_id, error, text, attempts, updated_at, delivery, delivery_checked_at
FROM messages WHERE scope = ?
"""

_DELIVERY = """
UPDATE messages SET delivery = ?, delivery_checked_at = ?
WHERE scope = ? AND phone = ? AND state = 'sent'
"""

_SENT_BY_SCOPE = "SELECT scope, count(*) FROM messages WHERE state = 'sent' GROUP BY scope"


class JState(StrEnum):
    """A message's state in the journal."""

    IN_FLIGHT = "in_flight"  # its request may be out; a crash leaves it so
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"  # nothing delivered (transient error, or the run stopped): send again


# When two old scopes become one normalised scope, the entry that says most about a number wins.
_WEIGHT = {"sent": 4, "in_flight": 3, "unknown": 3, "failed": 2, "not_sent": 1}


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of the journal."""

    phone: str
    row: int
    state: JState
    sms_id: str
    error: str
    text: str
    attempts: int
    updated_at: str
    delivery: str = ""  # the API's delivery status word (new, delivered, failed…) or not_found
    delivery_checked_at: str = ""


class UnreadableJournal(InputError):
    """The journal file is corrupt, or not a journal at all (exit 2: nothing was sent)."""


class AlreadySent(RuntimeError):
    """begin() for a number the journal has as sent: the sender must never get here."""


def utc_now() -> datetime:
    """The machine's clock in UTC: the CLI's clock (tests pass one of their own)."""
    return datetime.now(UTC)


class Journal:
    """The journal of one campaign, within one scope ("sandbox" or the normalised API URL)."""

    def __init__(self, path: Path, scope: str, *, clock: Clock = utc_now) -> None:
        self.path, self.scope, self._clock = Path(path), scope, clock
        self._queued: list[_Write] = []  # written by the next commit, in this order
        self._commit_on: asyncio.AbstractEventLoop | None = None  # where it is scheduled
        self._failed: JournalError | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise located(self.path.parent, f"cannot create the journal folder ({exc})") from exc
        try:
            self._db = sqlite3.connect(self.path, timeout=0.5, isolation_level=None)
            self._prepare(self._db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise located(
                    self.path,
                    "another wooxy-bulk run is using this journal; wait for it to finish",
                ) from exc
            raise self._unwritable(exc) from exc
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # every commit syncs the WAL: see the docstring
        with db:  # one transaction: committed, or rolled back on any error (a failed COMMIT too)
            db.execute("BEGIN IMMEDIATE")  # takes the lock this run keeps until close()
            self._migrate(db)

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise located(
                self.path,
                f"the journal has schema version {version}, newer than this wooxy-bulk"
                f" understands ({SCHEMA_VERSION}); upgrade wooxy-bulk",
            )
        if version == 0:
            if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise UnreadableJournal(
                    f"{display_path(self.path)}: is not a wooxy-bulk journal; {_ELSEWHERE}"
                )
            db.execute(_SCHEMA)
            version = 1
        for upgrade in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _UPGRADES[upgrade]:
                db.execute(statement)
        if version < 3:
            _normalise_scopes(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- the group commit ----------------------------------------------------------------------

    def _queue(self, sql: str, params: tuple[Any, ...], done: asyncio.Future[int] | None) -> None:
        """Queue one write for the next commit, scheduled on the running loop if there is one
        (else the next sync() commits it); `done` gets its row count once committed."""
        if self._failed is not None:
            raise self._failed
        self._queued.append((sql, params, done))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._commit_on is not loop:
            self._commit_on = loop
            loop.call_soon(self._commit)

    def _commit(self) -> None:
        """Commit every write queued so far in one transaction (one sync), then tell the
        begin()s awaiting it; a failed commit fails them and every later write."""
        batch, self._queued, self._commit_on = self._queued, [], None
        if not batch:
            return
        try:
            counts = self._write([(sql, params) for sql, params, _ in batch])
        except Exception as exc:  # sqlite3.Error above all: a full disk, an I/O error
            self._failed = self._failed or self._unwritable(exc)
            for *_, done in batch:
                if done is not None and not done.done():
                    done.set_exception(self._failed)
            return
        for count, (*_, done) in zip(counts, batch, strict=True):
            if done is not None and not done.done():  # not cancelled meanwhile
                done.set_result(count)

    def _write(self, batch: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Run `batch` in one transaction; returns each statement's row count once committed."""
        assert self._db is not None
        with self._db as db:  # as in _prepare: a failed statement or COMMIT rolls back
            db.execute("BEGIN")
            return [db.execute(sql, params).rowcount for sql, params in batch]

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="milliseconds")

    def _unwritable(self, exc: Exception) -> JournalError:
        return JournalError(
            f"{display_path(self.path)}: cannot write the journal ({exc}); the run stopped, and no"
            " request went out without its record. Free space on its disk, then run again with"
            " --journal-from-results: the results sheet has the answers the journal could not keep"
        )

    def _corrupt(self, exc: sqlite3.DatabaseError) -> UnreadableJournal:
        return UnreadableJournal(
            f"{display_path(self.path)}: is not a wooxy-bulk journal ({exc}); {_ELSEWHERE}"
        )

    # -- what the CLI and the sender use ------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, after every write queued before it."""
        self._commit()
        assert self._db is not None
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def entries(self) -> dict[str, Entry]:
        """Every entry of this scope, by E.164 number."""
        rows = self._read(_ENTRIES, (self.scope,))
        try:
            return {r[0]: Entry(r[0], r[1], JState(r[2]), *r[3:]) for r in rows}
        except ValueError as exc:
            raise located(self.path, f"unknown state in the journal ({exc})") from exc

    def sent_elsewhere(self) -> dict[str, int]:
        """How many messages are journaled as sent under each scope other than this one."""
        return {s: n for s, n in self._read(_SENT_BY_SCOPE) if s != self.scope}

    async def begin(self, phone: str, row: int, text: str) -> None:
        """Record `phone` as in flight (one more attempt); returns once that is on disk."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue(_BEGIN, (self.scope, phone, row, text, self._now()), done)
        if await done == 0:
            raise AlreadySent(f"{phone} is journaled as sent; it must not be sent again")

    def finish(self, phone: str, state: JState, sms_id: str = "", error: str = "") -> None:
        """Queue the outcome of the request begun for `phone` for the next commit.

        Never raises for a journal that cannot be written: the next begin() or sync() does.
        """
        if state is JState.IN_FLIGHT:
            raise ValueError("finish() records an outcome; begin() marks a message in flight")
        params = (str(state), sms_id, error, self._now(), self.scope, phone)
        with contextlib.suppress(JournalError):
            self._queue(_FINISH, params, None)

    def sync(self) -> None:
        """Commit every write queued so far; raise JournalError if one could not be written."""
        self._commit()
        if self._failed is not None:
            raise self._failed

    def record_sent(self, sent: Iterable[tuple[str, int, str, str]]) -> int:
        """Journal messages as sent before, as (phone, row, sms_id, text): a journal rebuilt from
        a results sheet. Returns how many; committed at once."""
        now = self._now()
        params = [(self.scope, phone, row, sms_id, text, now) for phone, row, sms_id, text in sent]
        self._write_now(_SENT_BEFORE, params)
        return len(params)

    def record_deliveries(self, statuses: Iterable[tuple[str, str]], checked_at: str) -> None:
        """Commit the delivery status of sent messages, as (phone, status word) pairs, at once:
        a status check that is interrupted keeps every batch answered before."""
        self._write_now(_DELIVERY, [(w, checked_at, self.scope, p) for p, w in statuses])

    def _write_now(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        """Commit many rows of one statement in one transaction, after everything queued."""
        self.sync()
        assert self._db is not None
        try:
            with self._db as db:
                db.execute("BEGIN")
                db.executemany(sql, params)
        except sqlite3.Error as exc:
            raise self._unwritable(exc) from exc

    def close(self) -> None:
        """Commit what is queued and close the file (idempotent); it releases the lock for the
        next run. A write that fails here is not raised: sync() before says so."""
        if self._db is None:
            return
        try:
            self._commit()
        finally:
            self._db.close()
            self._db = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _normalise_scopes(db: sqlite3.Connection) -> None:
    """Schema 3: URL scopes as scope.scope() writes them. Where two spellings of one URL become
    one scope, each number keeps the entry that says most (sent over unknown over failed...)."""
    rows = db.execute("SELECT * FROM messages").fetchall()
    names = [d[0] for d in db.execute("SELECT * FROM messages LIMIT 0").description]
    at_scope, at_phone, at_state = names.index("scope"), names.index("phone"), names.index("state")
    best: dict[tuple[str, str], tuple[Any, ...]] = {}
    for row in rows:
        old = row[at_scope]
        new = scopes.scope(old) if old.startswith(("http://", "https://")) else old
        key = (new, row[at_phone])
        kept = best.get(key)
        if kept is None or _WEIGHT.get(row[at_state], 0) > _WEIGHT.get(kept[at_state], 0):
            best[key] = (*row[:at_scope], new, *row[at_scope + 1 :])
    db.execute("DELETE FROM messages")
    marks = ", ".join("?" * len(names))
    db.executemany(f"INSERT INTO messages ({', '.join(names)}) VALUES ({marks})", best.values())
