"""The SQLite journal: round trips, scopes, durability, crash safety, schema and locking."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wooxy_bulk.errors import InputError
from wooxy_bulk.send.journal import SCHEMA_VERSION, AlreadySent, Entry, Journal, JState
from wooxy_bulk.send.scope import scope

API = scope("https://api.wooxy.com/v3")
NOW = datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=UTC)
PHONE = "+447700900123"
OTHER = "+447700900456"
SMS_ID = "5d91513fd132d5f462796870"
VERSION_1 = Path(__file__).parent / "data" / "journal-v1.sqlite"  # made by schema 1's code
V1_SENT, V1_FAILED = "+447400100000", "+447400100001"  # its entries: one sent, one failed


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".wooxy-bulk" / "spring-sale.journal.sqlite"


def clock() -> datetime:
    return NOW


def opened(path: Path, scope: str = API) -> Journal:
    return Journal(path, scope, clock=clock)


def begin(journal: Journal, phone: str, row: int, text: str) -> None:
    """begin(journal, ) run to its end (the record on disk)."""
    asyncio.run(journal.begin(phone, row, text))


def test_begin_records_in_flight(path: Path) -> None:
    """begin() creates the folder and records the number in flight with its row, text, 1 attempt."""
    with opened(path) as journal:
        begin(journal, PHONE, 7, "Hi Olivia")
        entry = journal.entries()[PHONE]
    assert (entry.phone, entry.row, entry.state, entry.text) == (
        PHONE,
        7,
        JState.IN_FLIGHT,
        "Hi Olivia",
    )
    assert (entry.attempts, entry.sms_id, entry.error) == (1, "", "")
    assert entry.updated_at == "2026-12-01T08:30:15.250+00:00"  # the clock passed in, in UTC


@pytest.mark.parametrize(
    ("state", "sms_id", "error"),
    [
        (JState.SENT, SMS_ID, ""),
        (JState.FAILED, "", f"Phone number {PHONE} is blacklisted"),
        (JState.UNKNOWN, "", "read timeout after 30 s"),
        (JState.NOT_SENT, "", "HTTP 503"),
    ],
)
def test_finish_round_trip(path: Path, state: JState, sms_id: str, error: str) -> None:
    """finish() records the outcome, sms_id and error; entries() reads them back as given."""
    with opened(path) as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, state, sms_id=sms_id, error=error)
        entry = journal.entries()[PHONE]
    assert (entry.state, entry.sms_id, entry.error, entry.attempts) == (state, sms_id, error, 1)


def test_attempts_count_and_the_number_keeps_its_entry_when_its_row_moves(path: Path) -> None:
    """A second begin() for the same number is one more attempt, with the new row and text."""
    with opened(path) as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, JState.NOT_SENT, error="HTTP 503")
        begin(journal, PHONE, 9, "Hello")
        entries = journal.entries()
    assert list(entries) == [PHONE]
    entry = entries[PHONE]
    assert (entry.state, entry.row, entry.text, entry.attempts, entry.error) == (
        JState.IN_FLIGHT,
        9,
        "Hello",
        2,
        "",
    )


def test_a_sent_number_is_never_begun_again(path: Path) -> None:
    """begin() for a number journaled as sent raises AlreadySent and leaves the entry as it was."""
    with opened(path) as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
        before = journal.entries()[PHONE]
        with pytest.raises(AlreadySent, match=r"\+447700900123 is journaled as sent"):
            begin(journal, PHONE, 3, "Hi again")
        assert journal.entries()[PHONE] == before


def test_finish_with_in_flight_is_a_mistake(path: Path) -> None:
    """finish() records an outcome: in_flight is a programming error."""
    with opened(path) as journal:
        begin(journal, PHONE, 2, "Hi")
        with pytest.raises(ValueError, match="begin\\(\\) marks a message in flight"):
            journal.finish(PHONE, JState.IN_FLIGHT)


def test_scopes_are_kept_apart(path: Path) -> None:
    """A sandbox rehearsal and a real run share the file but never see each other's entries."""
    with opened(path, "sandbox") as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id="sandbox-id")
    with opened(path) as journal:
        assert journal.entries() == {}
        begin(journal, PHONE, 2, "Hi")  # sent in the sandbox: still to be sent for real
        journal.finish(PHONE, JState.FAILED, error="Bad luck")
    with opened(path, "sandbox") as journal:
        entry = journal.entries()[PHONE]
    assert (entry.state, entry.sms_id) == (JState.SENT, "sandbox-id")


def test_reopen_after_close_keeps_everything(path: Path) -> None:
    """Every field of every entry survives close() and a new Journal on the same file."""
    journal = opened(path)
    begin(journal, PHONE, 2, "Hi Olivia 😀")
    journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
    begin(journal, OTHER, 3, "Hi Noah")
    before = journal.entries()
    journal.close()
    journal.close()  # idempotent
    with opened(path) as reopened:
        assert reopened.entries() == before
    assert set(before) == {PHONE, OTHER}
    assert all(isinstance(e, Entry) for e in before.values())


BEGUN = "run(j.begin(PHONE, 2, 'Hi'))"
SENT_QUEUED = f"{BEGUN}; j.finish(PHONE, JState.SENT, '{SMS_ID}')"


@pytest.mark.parametrize(
    ("actions", "states", "sms_id"),
    [
        (BEGUN, {JState.IN_FLIGHT}, ""),
        (f"{SENT_QUEUED}; j.sync()", {JState.SENT}, SMS_ID),
        # the rule: an outcome is committed no later than the next message's in-flight record
        (f"{SENT_QUEUED}; run(j.begin(OTHER, 3, 'Ho'))", {JState.SENT}, SMS_ID),
        # queued, maybe not committed: the message is in flight (a re-run calls it unknown) or sent
        (SENT_QUEUED, {JState.IN_FLIGHT, JState.SENT}, None),
    ],
)
def test_sigkill_loses_nothing(
    path: Path, actions: str, states: set[JState], sms_id: str | None
) -> None:
    """A process SIGKILLed after begin(), or after finish() and the commit that follows it,
    leaves its record for the next run."""
    snippet = f"""
        import os
        from asyncio import run
        from pathlib import Path
        from wooxy_bulk.send.journal import Journal, JState
        PHONE, OTHER = {PHONE!r}, {OTHER!r}
        j = Journal(Path({str(path)!r}), {API!r})
        {actions}
        os.kill(os.getpid(), 9)
    """
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(snippet)], check=False)
    assert killed.returncode == -9
    with opened(path) as journal:
        entry = journal.entries()[PHONE]
    assert entry.state in states
    assert (entry.row, entry.text, entry.attempts) == (2, "Hi", 1)
    if sms_id is not None:
        assert entry.sms_id == sms_id


def test_a_second_run_cannot_open_a_journal_in_use(path: Path) -> None:
    """While one run holds the journal another is refused, so two cannot send the same numbers."""
    with opened(path), pytest.raises(InputError, match="another wooxy-bulk run is using"):
        opened(path, "sandbox")
    with opened(path) as journal:  # released on close
        assert journal.entries() == {}


def test_schema_version_and_wal_are_recorded(path: Path) -> None:
    """The file carries the schema version (user_version) and is in WAL mode."""
    opened(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def _newer(path: Path) -> None:
    opened(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()


def _foreign(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.close()


def _garbage(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is no database at all, just some text " * 100)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            _newer,
            f"schema version {SCHEMA_VERSION + 1}, newer than this wooxy-bulk understands"
            f" \\({SCHEMA_VERSION}\\); upgrade",
        ),
        (_foreign, "is not a wooxy-bulk journal; move it away or rename the campaign"),
        (_garbage, "is not a wooxy-bulk journal \\(file is not a database\\); move it away"),
    ],
)
def test_files_that_are_not_our_journal_are_refused(
    path: Path, make: Callable[[Path], None], message: str
) -> None:
    """A newer schema, another SQLite file or a non-database is an InputError naming the file."""
    make(path)
    with pytest.raises(InputError, match=message) as raised:
        opened(path)
    assert "spring-sale.journal.sqlite: " in str(raised.value)


def test_a_version_1_journal_is_upgraded_in_place(path: Path) -> None:
    """A journal written before delivery status opens, keeps its entries and gains the columns."""
    path.parent.mkdir(parents=True)
    shutil.copy(VERSION_1, path)
    with opened(path) as journal:
        entries = journal.entries()
        journal.record_deliveries([(V1_SENT, "delivered")], "2026-12-01T08:00:00Z")
        after = journal.entries()[V1_SENT]
    assert (entries[V1_SENT].state, entries[V1_SENT].sms_id, entries[V1_SENT].delivery) == (
        JState.SENT,
        SMS_ID,
        "",
    )
    assert entries[V1_FAILED].state is JState.FAILED
    assert (after.delivery, after.delivery_checked_at) == ("delivered", "2026-12-01T08:00:00Z")
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    finally:
        db.close()
    with opened(path, "sandbox") as journal:  # the other scope is untouched, and opens again
        assert journal.entries()[V1_SENT].delivery == ""


def test_record_deliveries_touches_sent_messages_of_its_scope_only(path: Path) -> None:
    """Statuses go to sent messages of this scope; a failed one or another scope is left alone."""
    with opened(path, "sandbox") as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id="sandbox-id")
    with opened(path) as journal:
        begin(journal, PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
        begin(journal, OTHER, 3, "Hi")
        journal.finish(OTHER, JState.FAILED, error="no")
        journal.record_deliveries([(PHONE, "new"), (OTHER, "delivered")], "t1")
        journal.record_deliveries([(PHONE, "enroute")], "t2")
    with opened(path) as journal:
        entries = journal.entries()
    with opened(path, "sandbox") as journal:
        sandbox = journal.entries()[PHONE]
    assert (entries[PHONE].delivery, entries[PHONE].delivery_checked_at) == ("enroute", "t2")
    assert (entries[OTHER].delivery, sandbox.delivery) == ("", "")


def _old_journal(path: Path, rows: list[tuple[str, str, str, str]], version: int = 2) -> None:
    """A journal as an older wooxy-bulk wrote it, scopes as typed: (scope, phone, state, id)."""
    opened(path).close()
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO messages (scope, phone, row, state, sms_id, updated_at)"
        " VALUES (?, ?, 2, ?, ?, 't')",
        rows,
    )
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_old_scopes_are_normalised_and_spellings_merge(path: Path) -> None:
    """Opening a schema-2 journal rewrites its URL scopes normalised; two spellings of one server
    become one scope where each number keeps its strongest state (sent wins)."""
    _old_journal(
        path,
        [
            ("http://127.0.0.1:8025/v3", PHONE, "sent", "a" * 24),
            ("http://localhost:8025/v3/", PHONE, "failed", ""),
            ("http://localhost:8025/v3/", OTHER, "unknown", ""),
            ("https://API.wooxy.com/v3", PHONE, "sent", SMS_ID),
            ("sandbox", PHONE, "sent", "b" * 24),
            ("test https://api.wooxy.com/v3 2026-12-01T08:00:00+00:00 #1", PHONE, "sent", "c"),
        ],
    )
    with opened(path, scope("http://localhost:8025/v3")) as journal:
        loopback = journal.entries()
        elsewhere = journal.sent_elsewhere()
    assert {p: (e.state, e.sms_id) for p, e in loopback.items()} == {
        PHONE: (JState.SENT, "a" * 24),
        OTHER: (JState.UNKNOWN, ""),
    }
    assert elsewhere == {
        API: 1,
        "sandbox": 1,
        "test https://api.wooxy.com/v3 2026-12-01T08:00:00+00:00 #1": 1,
    }


def test_a_journal_rebuilt_from_sent_rows(path: Path) -> None:
    """record_sent() journals rows as sent with their sms_id, over whatever the journal had."""
    with opened(path) as journal:
        begin(journal, OTHER, 3, "Hi")
        count = journal.record_sent([(PHONE, 2, SMS_ID, "Hi Olivia"), (OTHER, 3, "b" * 24, "Hi")])
        entries = journal.entries()
    assert count == 2
    assert {p: (e.state, e.sms_id, e.row) for p, e in entries.items()} == {
        PHONE: (JState.SENT, SMS_ID, 2),
        OTHER: (JState.SENT, "b" * 24, 3),
    }
