"""Sending: a fixed set of workers, each with at most one request in flight, retries included.

Every attempt is journaled as in flight, durably, before its request goes out (``await
journal.begin``), and its outcome after (``journal.finish``, committed with the next group
commit): a crash, a kill or a power loss never loses track of a request that went out, and a
re-run never sends it twice. A journal that cannot be written stops the run: no request goes
out without its record, and the answers already received still reach the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from ..errors import JournalError, WooxyBulkError
from ..ledger import SendLedger
from ..plan.rows import PlanRow, Status
from .api import Answer, Outcome, WooxyClient
from .journal import Entry, Journal, JState
from .slots import Slots

T = TypeVar("T")
# Rows taken (window and --limit checked) and reserved against the frequency cap in one ledger
# transaction: ~RESERVE_BATCH / 10 requests' time ahead of their sends, one commit (or round
# trip) for all of them.
RESERVE_BATCH = 16
Hold = Callable[[PlanRow], str | None]  # why a row may not go now (its send window), or None


@dataclass(frozen=True)
class SendPolicy:
    """How hard to try: concurrency, attempts, backoff, and when a streak of failures stops us."""

    concurrency: int = 10
    max_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retry_after_cap_s: float = 300.0
    max_failures_in_a_row: int = 25


class End(StrEnum):
    FINISHED = "finished"
    STOPPED = "stopped"  # an account- or campaign-wide error, or a long run of failures
    INTERRUPTED = "interrupted"


@dataclass
class SendReport:
    end: End = End.FINISHED
    reason: str = ""
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    held: list[PlanRow] = field(default_factory=list)  # not_sent: their send window was closed
    unreached: int = 0  # not_sent: no attempt ever reached the API (connection refused…)
    limited: bool = False  # --limit was reached: the rows not taken stay not_sent


@dataclass
class Limit:
    """`--limit N`: at most N messages in a run, over all of --wait's rounds. A row counts when
    it is taken to send; a row held by its send window or over the frequency cap does not."""

    most: int
    counted: int = 0

    @property
    def left(self) -> int:
        return self.most - self.counted

    @property
    def error(self) -> str:
        return f"past --limit {self.most}; a re-run sends it"


@dataclass
class Selection:
    """What a run may send, after the journal of earlier runs has had its say."""

    to_send: list[PlanRow]
    skipped: dict[Status, int] = field(default_factory=dict)


def select(
    rows: Sequence[PlanRow],
    entries: dict[str, Entry],
    *,
    retry_failed: bool = False,
    resend_unknown: bool = False,
) -> Selection:
    """Apply earlier runs' outcomes to the ready rows; return the rows to send now.

    Rows sent before keep their sms_id and are never sent again; failed ones are sent again only
    with retry_failed; unknown ones (and ones a crash left in flight) only with resend_unknown.
    """
    to_send: list[PlanRow] = []
    skipped: dict[Status, int] = {}
    for row in rows:
        if row.status is not Status.READY:
            continue
        entry = entries.get(row.phone)
        if entry and settled(entry.state, retry_failed, resend_unknown):
            row.status, row.sms_id, row.error = _earlier(entry)
            row.delivery, row.delivery_checked_at = entry.delivery, entry.delivery_checked_at
            skipped[row.status] = skipped.get(row.status, 0) + 1
            continue
        row.status, row.error = Status.NOT_SENT, ""
        to_send.append(row)
    return Selection(to_send, skipped)


def first_to_go(rows: Sequence[PlanRow], limit: int | None, hold: Hold | None) -> list[PlanRow]:
    """The rows a run sends as things stand now, for the confirmation, the balance check and the
    progress bar: all of them, or with --limit N the first N, those whose window is open first."""
    if limit is None:
        return list(rows)
    if hold is None:
        return list(rows[:limit])
    return sorted(rows, key=lambda row: hold(row) is not None)[:limit]  # stable: in row order


def show_sent(rows: Sequence[PlanRow], entries: dict[str, Entry]) -> None:
    """The dry run's view of earlier runs: ready rows sent before are `sent`, with their sms_id."""
    for row in rows:
        entry = entries.get(row.phone)
        if row.status is Status.READY and entry is not None and entry.state is JState.SENT:
            row.status, row.sms_id = Status.SENT, entry.sms_id
            row.delivery, row.delivery_checked_at = entry.delivery, entry.delivery_checked_at


def settled(state: JState, retry_failed: bool, resend_unknown: bool) -> bool:
    """Whether an earlier run's outcome stands (the message is not to be sent now)."""
    if state is JState.FAILED:
        return not retry_failed
    if state in (JState.UNKNOWN, JState.IN_FLIGHT):
        return not resend_unknown
    return state is JState.SENT


def _earlier(entry: Entry) -> tuple[Status, str, str]:
    if entry.state is JState.SENT:
        return Status.SENT, entry.sms_id, ""
    if entry.state is JState.FAILED:
        return Status.FAILED, "", f"{entry.error} (an earlier run; --retry-failed sends it again)"
    why = entry.error or "the run stopped while its request was in flight"
    return (
        Status.UNKNOWN,
        "",
        f"{why}; it may have been delivered (--resend-unknown sends it again)",
    )


_OUTCOMES = {
    s: JState(s.value) for s in (Status.SENT, Status.FAILED, Status.UNKNOWN, Status.NOT_SENT)
}


class _Run:
    """The state shared by the workers of one send."""

    def __init__(
        self,
        rows: Sequence[PlanRow],
        client: WooxyClient,
        journal: Journal,
        policy: SendPolicy,
        on_row: Callable[[PlanRow], None],
        stop: asyncio.Event,
        slots: Slots | None,
        ledger: SendLedger | None,
        hold: Hold | None = None,
        limit: Limit | None = None,
    ) -> None:
        self.pending: Iterator[PlanRow] = iter(rows)
        self.client, self.journal, self.policy = client, journal, policy
        self.slots, self.ledger = slots, ledger
        self.reserving = ledger is not None and ledger.reserves  # a frequency cap is set
        self.ready: deque[PlanRow] = deque()  # rows taken (and reserved, with a cap) to send next
        self.on_row, self.stop, self.hold, self.limit = on_row, stop, hold, limit
        self.report = SendReport()
        self.streak = 0
        self.journal_error: JournalError | None = None

    def halted(self) -> bool:
        return self.stop.is_set() or self.report.end is End.STOPPED

    async def worker(self) -> None:
        while not self.halted():
            row = await self._next()
            if row is None:
                return
            try:
                await self.send(row)
            except JournalError as exc:  # the row's request did not go out
                self.journal_error = self.journal_error or exc
                self._halt(str(exc))

    async def _next(self) -> PlanRow | None:
        """The next row to send: taken in order, its window and --limit checked first; with a
        frequency cap, the rows taken are then reserved RESERVE_BATCH at a time (one ledger
        transaction each) and those over the cap suppressed."""
        while not self.ready:
            batch = self._take(RESERVE_BATCH if self.reserving else 1)
            if not batch or self.halted():
                return None
            if self.reserving:
                await self._reserve(batch)
            else:
                self.ready.extend(batch)
        return self.ready.popleft()

    def _take(self, most: int) -> list[PlanRow]:
        """Up to `most` pending rows that may go now, counted against --limit; a row whose
        window is closed is held on the way (not_sent, its error saying when it opens)."""
        if self.limit is not None:
            most = min(most, self.limit.left)
        batch: list[PlanRow] = []
        while len(batch) < most and (row := next(self.pending, None)) is not None:
            if self.hold is not None and (why := self.hold(row)) is not None:
                row.error = why
                self.report.held.append(row)
            else:
                batch.append(row)
        if self.limit is not None:
            self.limit.counted += len(batch)
        return batch

    async def send(self, row: PlanRow) -> None:
        reached = False  # whether an attempt got an answer from the API (so it may count)
        for attempt in range(1, self.policy.max_attempts + 1):
            posted = False
            try:
                async with self._slot():
                    await self.journal.begin(row.phone, row.row, row.text)  # durable first
                    posted = True
                    answer = await self.client.send(row.phone, row.text)
            except asyncio.CancelledError:
                if posted:
                    error = "interrupted while its request was in flight"
                    self._settle(row, Status.UNKNOWN, error=error)
                else:
                    self.journal.finish(row.phone, JState.NOT_SENT, error="interrupted")
                raise
            if answer.outcome is not Outcome.TRANSIENT:
                return self._conclude(row, answer)
            self.journal.finish(row.phone, JState.NOT_SENT, error=answer.error)
            reached = reached or answer.http_status is not None
            if attempt == self.policy.max_attempts:
                if not reached:  # nothing ever left this machine: a re-run sends it
                    error = f"{answer.error} (gave up after {attempt} attempts; nothing reached"
                    self.report.unreached += 1
                    return self._settle(row, Status.NOT_SENT, error=f"{error} the API)")
                error = f"{answer.error} (gave up after {attempt} attempts)"
                return self._settle(row, Status.FAILED, error=error)
            if not await self._backoff(attempt, answer):
                row.error = f"{answer.error} (the run stopped before it was tried again)"
                self._to_ledger(row.phone, JState.NOT_SENT)
                return None
        return None

    def _slot(self) -> contextlib.AbstractAsyncContextManager[object]:
        """One of the account's slots, held while the request is in flight."""
        return self.slots.slot() if self.slots is not None else contextlib.nullcontext()

    async def _reserve(self, batch: list[PlanRow]) -> None:
        """The frequency cap's last word, just before the rows' first attempts: rows over it
        are suppressed (and give back their place under --limit), the others queued to send; a
        ledger that fails stops the run."""
        assert self.ledger is not None
        try:
            refused = await self.ledger.reserve([row.phone for row in batch])
        except WooxyBulkError as exc:
            self._halt(str(exc))
            return
        for row in batch:
            why = refused.get(row.phone)
            if why is None:
                self.ready.append(row)
            else:
                row.status, row.error = Status.SUPPRESSED, why
                if self.limit is not None:
                    self.limit.counted -= 1
                self.on_row(row)

    def _to_ledger(self, phone: str, state: JState, sms_id: str = "") -> None:
        if self.ledger is not None:
            self.ledger.outcome(phone, state, sms_id)

    async def _backoff(self, attempt: int, answer: Answer) -> bool:
        """Wait before the next attempt; False if the run was stopped meanwhile."""
        p = self.policy
        delay = min(p.backoff_cap_s, p.backoff_base_s * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.5)
        if answer.retry_after is not None:
            delay = max(delay, min(answer.retry_after, p.retry_after_cap_s))
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=delay)
        except TimeoutError:
            return not self.halted()
        return False

    def _conclude(self, row: PlanRow, answer: Answer) -> None:
        if answer.outcome is Outcome.SENT:
            self._settle(row, Status.SENT, sms_id=answer.sms_id)
        elif answer.outcome is Outcome.FATAL:
            self.journal.finish(row.phone, JState.NOT_SENT, error=answer.error)
            self._to_ledger(row.phone, JState.NOT_SENT)
            row.error = answer.error
            self._halt(answer.error)
        elif answer.outcome is Outcome.UNKNOWN:
            self._settle(row, Status.UNKNOWN, error=f"{answer.error}; it may have been delivered")
        else:  # the API refused this row alone (blacklisted…): no sign the run is in trouble
            self._settle(row, Status.FAILED, error=answer.error, counts=False)

    def _settle(
        self,
        row: PlanRow,
        status: Status,
        *,
        sms_id: str = "",
        error: str = "",
        counts: bool = True,
    ) -> None:
        """Record, journal and ledger the row's outcome; `counts`: a failure that adds to the
        streak."""
        row.status, row.sms_id, row.error = status, sms_id, error
        self.journal.finish(row.phone, _OUTCOMES[status], sms_id=sms_id, error=error)
        self._to_ledger(row.phone, _OUTCOMES[status], sms_id)
        self.report.sent += status is Status.SENT
        self.report.failed += status is Status.FAILED
        self.report.unknown += status is Status.UNKNOWN
        if status is Status.SENT:
            self.streak = 0
        elif counts:
            self.streak += 1
            if self.streak >= self.policy.max_failures_in_a_row:
                self._halt(f"{self.streak} messages in a row were not sent; the last: {error}")
        self.on_row(row)

    def _halt(self, reason: str) -> None:
        if self.report.end is not End.STOPPED:
            self.report.end, self.report.reason = End.STOPPED, reason


async def send_rows(
    rows: Sequence[PlanRow],
    client: WooxyClient,
    journal: Journal,
    policy: SendPolicy,
    *,
    on_row: Callable[[PlanRow], None] = lambda row: None,
    stop: asyncio.Event | None = None,
    slots: Slots | None = None,
    ledger: SendLedger | None = None,
    hold: Hold | None = None,
    limit: Limit | None = None,
) -> SendReport:
    """Send `rows` (status not_sent) with `policy.concurrency` workers; update each row in place.

    Each request holds one of `slots` while in flight (the account's limit, shared with other
    processes). Setting `stop` stops starting requests; those in flight finish (bounded by the
    client's timeout). Rows not reached stay not_sent. The `ledger` (when given) records every
    outcome and, with a frequency cap, reserves each number just before its first attempt.
    `hold(row)`, asked as each row is taken to send (before any reservation), gives why it may
    not go now (its send window is closed); such rows are in `report.held`. Once `limit` is
    reached, the rows not taken yet stay not_sent, past the limit. Raises JournalError, once the
    requests in flight have finished, if the journal could not be written.
    """
    stop = stop or asyncio.Event()
    run = _Run(rows, client, journal, policy, on_row, stop, slots, ledger, hold, limit)
    await run_workers(run.worker, policy.concurrency)
    try:
        journal.sync()  # every outcome committed before the results are written
    except JournalError as exc:
        run.journal_error = run.journal_error or exc
    if run.journal_error is not None:
        raise run.journal_error
    if limit is not None and limit.left <= 0:
        run.report.limited = True
        for row in run.pending:  # the rows never taken
            row.error = limit.error
    if run.stop.is_set() and run.report.end is End.FINISHED:
        run.report.end = End.INTERRUPTED
    return run.report


async def run_workers(worker: Callable[[], Coroutine[Any, Any, None]], count: int) -> None:
    """Run `count` tasks of `worker` to their end. If one fails, or this is cancelled, the others
    are cancelled and waited for before the error goes on: no request is left running unseen."""
    tasks = [asyncio.create_task(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop where it is installed (less CPU per request), else on
    asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
