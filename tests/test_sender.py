"""Sending against the sandbox over loopback: retries, stops, concurrency, journal, never twice."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import closed_port, fill_disk, numbers

from wooxy_bulk.ledger import Cap, SendLedger, open_ledger
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.sandbox import SandboxConfig, running_sandbox
from wooxy_bulk.send.api import Answer, Outcome, WooxyClient
from wooxy_bulk.send.https import open_post
from wooxy_bulk.send.journal import Entry, Journal, JState
from wooxy_bulk.send.sender import End, Limit, SendPolicy, SendReport, select, send_rows
from wooxy_bulk.send.slots import LocalSlots


def clock() -> datetime:
    """The journal's clock in these tests: a fixed time, never the machine's."""
    return datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


FAST = SendPolicy(backoff_base_s=0.001, backoff_cap_s=0.01)


def rows_for(phones: list[str]) -> list[PlanRow]:
    return [PlanRow(i + 2, (p,), Status.NOT_SENT, p, f"Hi {i}", 1) for i, p in enumerate(phones)]


def send(
    rows: list[PlanRow],
    url: str,
    journal: Journal,
    policy: SendPolicy = FAST,
    *,
    token: str = "sandbox",
    timeout_s: float = 10,
    on_row: Callable[[PlanRow], None] = lambda row: None,
    stop: Callable[[], asyncio.Event] | None = None,
    slots: LocalSlots | None = None,
    ledger: SendLedger | None = None,
) -> SendReport:
    async def main() -> SendReport:
        event = stop() if stop else None
        async with open_post(timeout_s=timeout_s, concurrency=policy.concurrency) as post:
            client = WooxyClient(post, url=url, token=token, domain="shop.example.com")
            return await send_rows(
                rows, client, journal, policy, on_row=on_row, stop=event, slots=slots, ledger=ledger
            )

    return asyncio.run(main())


def sent_numbers(box: object) -> Counter[str]:
    return Counter(m["phoneNumber"] for m in box.state.messages)  # type: ignore[attr-defined]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite", "test", clock=clock) as j:
        yield j


def test_faults_are_retried_until_every_row_is_sent_once(journal: Journal) -> None:
    """Through injected 500s and publishing errors every row ends `sent`, each number once."""
    phones = numbers(150)
    rows = rows_for(phones)
    config = SandboxConfig(fail_rate=0.2, publish_error_rate=0.1, seed=7)
    policy = SendPolicy(max_attempts=10, backoff_base_s=0.001, backoff_cap_s=0.01)
    with running_sandbox(config) as box:
        report = send(rows, box.url, journal, policy)
        stats = box.state.stats()
        messages = {m["phoneNumber"]: m["sms_id"] for m in box.state.messages}
    assert report.end is End.FINISHED and report.sent == 150
    assert stats["faults"]["internal"] > 0 and stats["faults"]["publishing"] > 0
    assert sent_numbers(box) == Counter(phones)
    assert all(r.status is Status.SENT and r.sms_id == messages[r.phone] for r in rows)
    entries = journal.entries()
    assert {p: (e.state, e.sms_id) for p, e in entries.items()} == {
        p: (JState.SENT, messages[p]) for p in phones
    }
    assert stats["peak_concurrency"] <= 10


@pytest.mark.parametrize("concurrency", [10, 3])
def test_never_more_than_the_concurrency_in_flight(journal: Journal, concurrency: int) -> None:
    """The sandbox never sees more requests at once than api.concurrency, and does see that many."""
    with running_sandbox(SandboxConfig(latency_ms=20, fail_rate=0.1, seed=3)) as box:
        policy = SendPolicy(concurrency=concurrency, max_attempts=5, backoff_base_s=0.001)
        report = send(rows_for(numbers(120)), box.url, journal, policy)
        stats = box.state.stats()
    assert report.sent == 120
    assert stats["throttled"] == 0
    assert stats["peak_concurrency"] == concurrency


def test_balance_error_stops_and_a_rerun_sends_exactly_the_rest(journal: Journal) -> None:
    """An account-wide error stops the run with the rest not_sent; a re-run sends only those."""
    phones = numbers(60)
    rows = rows_for(phones)
    with running_sandbox(SandboxConfig(balance=25)) as box:
        report = send(rows, box.url, journal)
        first = sent_numbers(box)
    assert report.end is End.STOPPED
    assert report.reason.startswith("Insufficient balance. You need at least")
    assert report.sent == 25 == sum(first.values()) == len(first)
    statuses = Counter(r.status for r in rows)
    assert statuses == {Status.SENT: 25, Status.NOT_SENT: 35}

    fresh = rows_for(phones)
    for row in fresh:
        row.status = Status.READY
    selection = select(fresh, journal.entries())
    assert len(selection.to_send) == 35 and selection.skipped == {Status.SENT: 25}
    with running_sandbox(SandboxConfig()) as box:
        report = send(selection.to_send, box.url, journal)
        second = sent_numbers(box)
    assert report.end is End.FINISHED and report.sent == 35
    assert first + second == Counter(phones)  # every number exactly once over both runs
    assert all(r.status is Status.SENT for r in fresh)


def test_an_unanswered_request_is_unknown_and_never_retried(journal: Journal) -> None:
    """A request that gets no answer is `unknown`, sent once, and not retried."""
    phones = numbers(4)
    rows = rows_for(phones)
    with running_sandbox(SandboxConfig(hang_rate=1.0)) as box:
        report = send(rows, box.url, journal, timeout_s=0.5)
        requests = box.state.stats()["requests"]
    assert report.end is End.FINISHED and report.unknown == 4
    assert requests == 4
    assert all(r.status is Status.UNKNOWN and "may have been delivered" in r.error for r in rows)
    assert {e.state for e in journal.entries().values()} == {JState.UNKNOWN}


def test_a_gateway_error_after_the_message_was_taken_is_unknown_never_resent(
    journal: Journal,
) -> None:
    """A gateway's HTML 504 after the API took the message: the row is `unknown` and not
    retried, so the sandbox lists every number once."""
    phones = numbers(40)
    rows = rows_for(phones)
    config = SandboxConfig(gateway_error_rate=0.5, seed=5)
    with running_sandbox(config) as box:
        report = send(rows, box.url, journal, replace(FAST, max_attempts=5))
        gateway = box.state.stats()["faults"]["gateway"]
    assert report.end is End.FINISHED
    assert sent_numbers(box) == Counter(phones)  # each number once, none twice
    assert 0 < gateway == report.unknown < 40
    unknown = [r for r in rows if r.status is Status.UNKNOWN]
    assert len(unknown) == gateway and report.sent == 40 - gateway
    assert unknown[0].error.startswith("HTTP 504: <html> <head><title>504 Gateway Time-out")
    assert unknown[0].error.endswith("; it may have been delivered")
    states = Counter(e.state for e in journal.entries().values())
    assert states == {JState.SENT: 40 - gateway, JState.UNKNOWN: gateway}


def test_a_wrong_token_stops_at_once_and_is_never_shown(journal: Journal) -> None:
    """A refused key stops the run (exit 3's case) and the echoed key is replaced by ***."""
    secret = "live_key_do_not_leak_123"
    rows = rows_for(numbers(50))
    with running_sandbox(SandboxConfig()) as box:
        report = send(rows, box.url, journal, token=secret)
        requests = box.state.stats()["requests"]
    assert report.end is End.STOPPED
    assert report.reason == "no matches found for access token ***"
    assert requests <= 10 and report.sent == 0
    assert all(r.status is Status.NOT_SENT for r in rows)
    assert all(secret not in r.error for r in rows)
    assert all(e.state is JState.NOT_SENT for e in journal.entries().values())


def test_a_long_run_of_failures_stops_the_run(journal: Journal) -> None:
    """Rows failing one after another (out of attempts) stop the run rather than burn through
    the list."""
    phones = numbers(60)
    rows = rows_for(phones)
    policy = SendPolicy(concurrency=2, max_attempts=2, max_failures_in_a_row=8)
    with running_sandbox(SandboxConfig(fail_rate=1.0)) as box:
        report = send(rows, box.url, journal, replace(policy, backoff_base_s=0.001))
    assert report.end is End.STOPPED
    assert report.reason.startswith(
        "8 messages in a row were not sent; the last: Internal server error (gave up after 2"
    )
    statuses = Counter(r.status for r in rows)
    assert 8 <= statuses[Status.FAILED] <= 9
    assert statuses[Status.NOT_SENT] == 60 - statuses[Status.FAILED]


def test_rows_the_api_refuses_one_by_one_do_not_stop_the_run(journal: Journal) -> None:
    """30 blacklisted numbers in a row are each `failed`, and the run goes on to the end."""
    phones = numbers(40)
    rows = rows_for(phones)
    with running_sandbox(SandboxConfig(blacklist=tuple(phones[:30]))) as box:
        report = send(rows, box.url, journal, replace(FAST, concurrency=2))
    assert report.end is End.FINISHED
    assert (report.failed, report.sent) == (30, 10)
    assert all(r.error == f"Phone number {r.phone} is blacklisted" for r in rows[:30])


def test_a_refused_connection_leaves_rows_not_sent(journal: Journal) -> None:
    """Nothing listening: no attempt reached the API, so the rows are not_sent (a re-run sends
    them), not failed, and the journal says not_sent."""
    rows = rows_for(numbers(3))
    report = send(
        rows, f"http://127.0.0.1:{closed_port()}/v3", journal, replace(FAST, max_attempts=2)
    )
    assert report.end is End.FINISHED
    assert (report.unreached, report.failed, report.unknown) == (3, 0, 0)
    assert {r.status for r in rows} == {Status.NOT_SENT}
    assert rows[0].error == (
        "connection refused (gave up after 2 attempts; nothing reached the API)"
    )
    assert {e.state for e in journal.entries().values()} == {JState.NOT_SENT}
    again = rows_for(numbers(3))
    for row in again:
        row.status = Status.READY
    assert select(again, journal.entries()).to_send == again


def test_stop_lets_requests_in_flight_finish_and_starts_no_more(journal: Journal) -> None:
    """Setting stop (Ctrl-C) ends the run: in-flight requests finish, the rest stay not_sent."""
    rows = rows_for(numbers(200))
    holder: dict[str, asyncio.Event] = {}

    def make_event() -> asyncio.Event:
        holder["stop"] = asyncio.Event()
        return holder["stop"]

    def on_row(row: PlanRow) -> None:
        if sum(r.status is Status.SENT for r in rows) >= 30:
            holder["stop"].set()

    with running_sandbox(SandboxConfig(latency_ms=20)) as box:
        report = send(rows, box.url, journal, on_row=on_row, stop=make_event)
        accepted = sent_numbers(box)
    assert report.end is End.INTERRUPTED
    sent = [r for r in rows if r.status is Status.SENT]
    assert 30 <= len(sent) <= 40
    assert {r.phone for r in sent} == set(accepted)
    assert {r.status for r in rows} == {Status.SENT, Status.NOT_SENT}
    assert not any(e.state is JState.IN_FLIGHT for e in journal.entries().values())


class ScriptedClient:
    """Answers from a script, recording when each attempt came (a unit test of retry timing)."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers, self.times = answers, []

    async def send(self, phone: str, text: str) -> Answer:
        self.times.append(asyncio.get_running_loop().time())
        return self.answers.pop(0)


def test_retry_after_is_honoured_and_attempts_are_capped(journal: Journal) -> None:
    """A 429's Retry-After is waited before the next attempt; after max_attempts the row fails."""
    busy = Answer(Outcome.TRANSIENT, error="HTTP 429", retry_after=0.3, http_status=429)
    client = ScriptedClient([busy, busy, busy])
    row = rows_for(numbers(1))
    policy = SendPolicy(max_attempts=3, backoff_base_s=0.001)
    report = asyncio.run(send_rows(row, client, journal, policy))  # type: ignore[arg-type]
    gaps = [b - a for a, b in zip(client.times, client.times[1:], strict=False)]
    assert len(client.times) == 3 and all(gap >= 0.3 for gap in gaps)
    assert report.failed == 1
    assert row[0].status is Status.FAILED
    assert row[0].error == "HTTP 429 (gave up after 3 attempts)"


def entry(state: JState, sms_id: str = "", error: str = "") -> Entry:
    return Entry("+447400100000", 2, state, sms_id, error, "Hi", 1, "2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("state", "retry_failed", "resend_unknown", "status", "sent_now"),
    [
        (None, False, False, Status.NOT_SENT, True),
        (JState.NOT_SENT, False, False, Status.NOT_SENT, True),
        (JState.SENT, True, True, Status.SENT, False),
        (JState.FAILED, False, False, Status.FAILED, False),
        (JState.FAILED, True, False, Status.NOT_SENT, True),
        (JState.UNKNOWN, False, False, Status.UNKNOWN, False),
        (JState.UNKNOWN, False, True, Status.NOT_SENT, True),
        (JState.IN_FLIGHT, True, False, Status.UNKNOWN, False),
        (JState.IN_FLIGHT, False, True, Status.NOT_SENT, True),
    ],
)
def test_select_applies_earlier_runs(
    state: JState | None, retry_failed: bool, resend_unknown: bool, status: Status, sent_now: bool
) -> None:
    """Earlier outcomes stand unless --retry-failed / --resend-unknown say otherwise."""
    row = PlanRow(2, (), Status.READY, "+447400100000", "Hi", 1)
    entries = {} if state is None else {row.phone: entry(state, sms_id="abc", error="boom")}
    selection = select([row], entries, retry_failed=retry_failed, resend_unknown=resend_unknown)
    assert row.status is status
    assert (selection.to_send == [row]) is sent_now
    if status is Status.SENT:
        assert row.sms_id == "abc"
    if state is JState.IN_FLIGHT and not sent_now:
        assert "may have been delivered" in row.error


def test_limit_sends_at_most_n_and_leaves_the_rest_not_sent(journal: Journal) -> None:
    """--limit 2 with ten workers: the first 2 rows are sent, the rest not_sent with the reason."""
    rows = rows_for(numbers(5))
    client = ScriptedClient([Answer(Outcome.SENT, sms_id=f"{i:024x}") for i in range(5)])
    report = asyncio.run(send_rows(rows, client, journal, FAST, limit=Limit(2)))  # type: ignore[arg-type]
    assert (report.sent, report.limited) == (2, True) and len(client.times) == 2
    assert [r.status for r in rows] == [Status.SENT] * 2 + [Status.NOT_SENT] * 3
    assert {r.error for r in rows[2:]} == {"past --limit 2; a re-run sends it"}


class PatternClient:
    """Answers by the number's last digit after a short wait: sent, transient, failed or unknown."""

    ANSWERS: ClassVar[dict[str, Answer]] = {
        "1": Answer(Outcome.TRANSIENT, error="HTTP 503", http_status=503),
        "2": Answer(Outcome.FAILED, error="Phone number is blacklisted"),
        "3": Answer(Outcome.UNKNOWN, error="read timeout after 1 s"),
    }

    async def send(self, phone: str, text: str) -> Answer:
        await asyncio.sleep(0.001)
        return self.ANSWERS.get(phone[-1], Answer(Outcome.SENT, sms_id=f"id-{phone}"))


class SnapshotJournal(Journal):
    """A journal whose commits are observable: after each one, a copy of its files as committed
    (synced: synchronous=FULL) is what a power cut at that moment would leave."""

    def __init__(self, path: Path, snapshot: Path) -> None:
        self.snapshot, self.commits = snapshot, 0
        snapshot.mkdir()
        super().__init__(path, "test", clock=clock)
        self._keep()  # the new file, as made on opening

    def _write(self, batch: list) -> list[int]:
        counts = super()._write(batch)
        self.commits += 1
        self._keep()
        return counts

    def _keep(self) -> None:
        self._copy(self.path, self.snapshot / self.path.name)

    def durable_state(self, phone: str) -> str | None:
        """The number's state in the journal as of its last commit."""
        copy = self.snapshot / "copy.sqlite"
        self._copy(self.snapshot / self.path.name, copy)
        db = sqlite3.connect(copy)
        try:
            row = db.execute("SELECT state FROM messages WHERE phone = ?", (phone,)).fetchone()
        finally:
            db.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
        return row[0] if row else None

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        """A journal's file and its WAL."""
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


class DurabilityCheckingClient(PatternClient):
    """Posts only a message whose in-flight record is durable, else records the breach."""

    def __init__(self, journal: SnapshotJournal) -> None:
        self.journal, self.breaches, self.posts = journal, [], 0

    async def send(self, phone: str, text: str) -> Answer:
        self.posts += 1
        if self.journal.durable_state(phone) != "in_flight":
            self.breaches.append(phone)
        return await super().send(phone, text)


def test_no_request_goes_out_before_its_in_flight_record_is_durable(tmp_path: Path) -> None:
    """At every post, through retries and failures, the journal as last committed (what a power
    cut leaves) already has the message in flight; records begun together share a commit."""
    journal = SnapshotJournal(tmp_path / "journal.sqlite", tmp_path / "synced")
    client = DurabilityCheckingClient(journal)
    policy = SendPolicy(max_attempts=2, backoff_base_s=0.002, max_failures_in_a_row=1000)
    with journal:
        report = asyncio.run(send_rows(rows_for(numbers(60)), client, journal, policy))  # type: ignore[arg-type]
        states = Counter(e.state for e in journal.entries().values())
    assert client.posts == 66 and client.breaches == []  # the 6 numbers ending in 1 twice
    assert (report.sent, report.failed, report.unknown) == (42, 12, 6)
    assert states == {JState.SENT: 42, JState.FAILED: 12, JState.UNKNOWN: 6}
    assert journal.commits < 66 + 60  # several records share one commit


def test_commits_sync_the_disk() -> None:
    """The journal's connection syncs every commit (synchronous=FULL, WAL)."""
    with Journal(Path(tempfile.mkdtemp()) / "j.sqlite", "test", clock=clock) as journal:
        db = journal._db
        assert db is not None
        modes = [db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("synchronous", "journal_mode")]
    assert modes == [2, "wal"]


class SlowDiskJournal(Journal):
    """A journal on a disk that takes 200 ms a commit."""

    commits = 0

    def _write(self, batch: list) -> list[int]:
        time.sleep(0.2)
        self.commits += 1
        return super()._write(batch)


def test_a_slow_disk_slows_sending_but_its_commits_are_shared(tmp_path: Path) -> None:
    """While commits take 200 ms each, every message is still sent once and the workers'
    records share commits (the workers ready at a commit all ride on it)."""
    journal = SlowDiskJournal(tmp_path / "journal.sqlite", "test", clock=clock)
    with journal:
        report = asyncio.run(send_rows(rows_for(numbers(50)), PatternClient(), journal, FAST))  # type: ignore[arg-type]
    assert report.sent + report.failed + report.unknown == 50
    assert journal.commits < 50  # 50 messages: 50 begins and 50 outcomes at least


def test_a_cancelled_send_commits_what_was_in_flight_as_unknown(journal: Journal) -> None:
    """Cancelling send_rows (a second Ctrl-C) leaves the requests in flight journaled unknown,
    committed, and nothing in flight."""
    rows = rows_for(numbers(400))

    async def main() -> None:
        def on_row(row: PlanRow) -> None:
            if sum(r.status is not Status.NOT_SENT for r in rows) == 20:
                sending.cancel()

        client = PatternClient()
        sending = asyncio.create_task(send_rows(rows, client, journal, FAST, on_row=on_row))  # type: ignore[arg-type]
        with pytest.raises(asyncio.CancelledError):
            await sending

    asyncio.run(main())
    journal.sync()
    states = Counter(e.state for e in journal.entries().values())
    assert states[JState.IN_FLIGHT] == 0 and sum(states.values()) < 400
    interrupted = {r.phone for r in rows if r.error.startswith("interrupted")}
    unknown = {p for p, e in journal.entries().items() if e.state is JState.UNKNOWN}
    assert interrupted and interrupted <= unknown


def test_every_request_holds_a_slot(journal: Journal, tmp_path: Path) -> None:
    """With 3 slots shared, 10 workers never have more than 3 requests at the sandbox at once."""
    slots = LocalSlots(tmp_path / "slots", count=3)
    with running_sandbox(SandboxConfig(latency_ms=10)) as box:
        report = send(rows_for(numbers(60)), box.url, journal, slots=slots)
        peak = box.state.stats()["peak_concurrency"]
    slots.close()
    assert report.sent == 60
    assert peak == 3


def test_a_ledger_that_fills_up_stops_the_run_and_nothing_goes_out_unreserved(
    journal: Journal, tmp_path: Path
) -> None:
    """A ledger whose disk fills up mid-run stops the run, naming it; every row is sent or
    not_sent, and the ledger holds a reservation for each message sent and for no other."""
    ledger = open_ledger(tmp_path / "ledger.sqlite")
    fill_disk(ledger, spare_pages=2)
    sending = ledger.for_sending("test", "spring", Cap(3, 24), clock)
    rows = rows_for(numbers(600))
    with running_sandbox(SandboxConfig()) as box:
        report = send(rows, box.url, journal, ledger=sending)
        delivered = sent_numbers(box)
    full = r"ledger\.sqlite: cannot write the ledger \(database or disk is full\)"
    assert report.end is End.STOPPED and re.search(full, report.reason)
    assert 0 < report.sent < 600
    assert Counter(r.status for r in rows) == {
        Status.SENT: report.sent,
        Status.NOT_SENT: 600 - report.sent,
    }
    assert set(delivered) == {r.phone for r in rows if r.status is Status.SENT}
    asyncio.run(sending.aclose())  # releases the reservations of rows never sent
    reserved = {phone for (phone,) in ledger.db.execute("SELECT phone FROM sends")}
    assert reserved == set(delivered)
    ledger.close()
