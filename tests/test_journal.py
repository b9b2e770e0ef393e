"""The SQLite journal: round trips, scopes, reopening, crash safety, schema and locking."""

from __future__ import annotations

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
from wooxy_bulk.journal import SCHEMA_VERSION, AlreadySent, Entry, Journal, JState, UtcClock

API = "https://api.wooxy.com/v3"
PHONE = "+447700900123"
OTHER = "+447700900456"
SMS_ID = "5d91513fd132d5f462796870"
VERSION_1 = Path(__file__).parent / "data" / "journal-v1.sqlite"  # made by schema 1's code
V1_SENT, V1_FAILED = "+447400100000", "+447400100001"  # its entries: one sent, one failed


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".wooxy-bulk" / "spring-sale.journal.sqlite"


def test_begin_records_in_flight(path: Path) -> None:
    """begin() creates the folder and records the number in flight with its row, text, 1 attempt."""
    with Journal(path, API) as journal:
        journal.begin(PHONE, 7, "Hi Olivia")
        entry = journal.entries()[PHONE]
    assert (entry.phone, entry.row, entry.state, entry.text) == (
        PHONE,
        7,
        JState.IN_FLIGHT,
        "Hi Olivia",
    )
    assert (entry.attempts, entry.sms_id, entry.error) == (1, "", "")
    assert entry.updated_at.endswith("+00:00")


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
    with Journal(path, API) as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, state, sms_id=sms_id, error=error)
        entry = journal.entries()[PHONE]
    assert (entry.state, entry.sms_id, entry.error, entry.attempts) == (state, sms_id, error, 1)


def test_attempts_count_and_the_number_keeps_its_entry_when_its_row_moves(path: Path) -> None:
    """A second begin() for the same number is one more attempt, with the new row and text."""
    with Journal(path, API) as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, JState.NOT_SENT, error="HTTP 503")
        journal.begin(PHONE, 9, "Hello")
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
    with Journal(path, API) as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
        before = journal.entries()[PHONE]
        with pytest.raises(AlreadySent, match=r"\+447700900123 is journaled as sent"):
            journal.begin(PHONE, 3, "Hi again")
        assert journal.entries()[PHONE] == before


@pytest.mark.parametrize(
    ("phone", "state", "message"),
    [
        (OTHER, JState.SENT, "never begun"),
        (PHONE, JState.IN_FLIGHT, "begin\\(\\) marks a message in flight"),
    ],
)
def test_finish_misuse(path: Path, phone: str, state: JState, message: str) -> None:
    """finish() for a number never begun, or with in_flight, is a programming error."""
    with Journal(path, API) as journal:
        journal.begin(PHONE, 2, "Hi")
        with pytest.raises(ValueError, match=message):
            journal.finish(phone, state)


def test_scopes_are_kept_apart(path: Path) -> None:
    """A sandbox rehearsal and a real run share the file but never see each other's entries."""
    with Journal(path, "sandbox") as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id="sandbox-id")
    with Journal(path, API) as journal:
        assert journal.entries() == {}
        journal.begin(PHONE, 2, "Hi")  # sent in the sandbox: still to be sent for real
        journal.finish(PHONE, JState.FAILED, error="Bad luck")
    with Journal(path, "sandbox") as journal:
        entry = journal.entries()[PHONE]
    assert (entry.state, entry.sms_id) == (JState.SENT, "sandbox-id")


def test_reopen_after_close_keeps_everything(path: Path) -> None:
    """Every field of every entry survives close() and a new Journal on the same file."""
    journal = Journal(path, API)
    journal.begin(PHONE, 2, "Hi Olivia 😀")
    journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
    journal.begin(OTHER, 3, "Hi Noah")
    before = journal.entries()
    journal.close()
    journal.close()  # idempotent
    with Journal(path, API) as reopened:
        assert reopened.entries() == before
    assert set(before) == {PHONE, OTHER}
    assert all(isinstance(e, Entry) for e in before.values())


SENT_NOTED = f"j.begin(PHONE, 2, 'Hi'); j.finish(PHONE, JState.SENT, '{SMS_ID}')"


@pytest.mark.parametrize(
    ("actions", "state", "sms_id"),
    [
        ("j.begin(PHONE, 2, 'Hi')", JState.IN_FLIGHT, ""),
        (f"{SENT_NOTED}; j.commit()", JState.SENT, SMS_ID),
        (f"{SENT_NOTED}; j.begin(OTHER, 3, 'Ho')", JState.SENT, SMS_ID),  # committed with the next
        # noted, not committed: the message stays in flight (a re-run calls it unknown), never lost
        (SENT_NOTED, JState.IN_FLIGHT, ""),
    ],
)
def test_sigkill_loses_nothing(path: Path, actions: str, state: JState, sms_id: str) -> None:
    """A process SIGKILLed after begin(), or after finish() and the commit that follows it,
    leaves its record for the next run."""
    snippet = f"""
        import os
        from pathlib import Path
        from wooxy_bulk.journal import Journal, JState
        PHONE, OTHER = {PHONE!r}, {OTHER!r}
        j = Journal(Path({str(path)!r}), {API!r})
        {actions}
        os.kill(os.getpid(), 9)
    """
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(snippet)], check=False)
    assert killed.returncode == -9
    with Journal(path, API) as journal:
        entry = journal.entries()[PHONE]
    assert (entry.state, entry.sms_id, entry.row, entry.text, entry.attempts) == (
        state,
        sms_id,
        2,
        "Hi",
        1,
    )


def test_a_second_run_cannot_open_a_journal_in_use(path: Path) -> None:
    """While one run holds the journal another is refused, so two cannot send the same numbers."""
    with Journal(path, API), pytest.raises(InputError, match="another wooxy-bulk run is using"):
        Journal(path, "sandbox")
    with Journal(path, API) as journal:  # released on close
        assert journal.entries() == {}


def test_schema_version_and_wal_are_recorded(path: Path) -> None:
    """The file carries the schema version (user_version) and is in WAL mode."""
    Journal(path, API).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def _newer(path: Path) -> None:
    Journal(path, API).close()
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
        Journal(path, API)
    assert "spring-sale.journal.sqlite: " in str(raised.value)


@pytest.mark.parametrize(
    "now",
    [0.0, 0.0005, 951782400.001, 1764035201.5, 1764035201.9996, 1764035201.9999996, 4102444799.999],
)
def test_utc_clock_reads_like_datetime(now: float) -> None:
    """UtcClock gives datetime's ISO text to the millisecond, leap days and rounding included."""
    expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    assert UtcClock(lambda: now)() == expected


def test_utc_clock_formats_a_new_second_anew() -> None:
    """The cached date and time move on with the second; milliseconds change within it."""
    times = iter([1764035201.25, 1764035201.75, 1764035262.0])
    clock = UtcClock(lambda: next(times))
    assert [clock(), clock(), clock()] == [
        "2025-11-25T01:46:41.250+00:00",
        "2025-11-25T01:46:41.750+00:00",
        "2025-11-25T01:47:42.000+00:00",
    ]


def test_a_version_1_journal_is_upgraded_in_place(path: Path) -> None:
    """A journal written before delivery status opens, keeps its entries and gains the columns."""
    path.parent.mkdir(parents=True)
    shutil.copy(VERSION_1, path)
    with Journal(path, API) as journal:
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
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    finally:
        db.close()
    with Journal(path, "sandbox") as journal:  # the other scope is untouched, and opens again
        assert journal.entries()[V1_SENT].delivery == ""


def test_record_deliveries_touches_sent_messages_of_its_scope_only(path: Path) -> None:
    """Statuses go to sent messages of this scope; a failed one or another scope is left alone."""
    with Journal(path, "sandbox") as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id="sandbox-id")
    with Journal(path, API) as journal:
        journal.begin(PHONE, 2, "Hi")
        journal.finish(PHONE, JState.SENT, sms_id=SMS_ID)
        journal.begin(OTHER, 3, "Hi")
        journal.finish(OTHER, JState.FAILED, error="no")
        journal.record_deliveries([(PHONE, "new"), (OTHER, "delivered")], "t1")
        journal.record_deliveries([(PHONE, "enroute")], "t2")
    with Journal(path, API) as journal:
        entries = journal.entries()
    with Journal(path, "sandbox") as journal:
        sandbox = journal.entries()[PHONE]
    assert (entries[PHONE].delivery, entries[PHONE].delivery_checked_at) == ("enroute", "t2")
    assert (entries[OTHER].delivery, sandbox.delivery) == ("", "")
