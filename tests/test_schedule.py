"""Send windows in a run, on a fake clock: the check just before each send and --wait's loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wooxy_bulk.ledger import Cap, open_ledger
from wooxy_bulk.plan.phones import PhoneParser
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.plan.schedule import make_hold, send_in_windows, sleep_until
from wooxy_bulk.plan.windows import Windows, WindowSpec
from wooxy_bulk.sandbox import SandboxConfig, running_sandbox
from wooxy_bulk.send.api import Answer, Outcome, WooxyClient
from wooxy_bulk.send.https import open_post
from wooxy_bulk.send.journal import Journal
from wooxy_bulk.send.sender import End, Limit, SendPolicy, SendReport, first_to_go, send_rows


class FakeClock:
    """A clock that moves only when told to, or when slept on."""

    def __init__(self, start: datetime, tick: timedelta = timedelta()) -> None:
        self.now, self.tick = start, tick
        self.slept: list[datetime] = []

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.tick
        return now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.slept.append(self.now)
        await asyncio.sleep(0)


def located(windows: Windows, phones: Sequence[str]) -> list[PlanRow]:
    rows = [PlanRow(i + 2, (p,), Status.NOT_SENT, p, f"Hi {i}", 1) for i, p in enumerate(phones)]
    for row in rows:
        row.region = PhoneParser(None).read(row.phone).region
        row.where = windows.locate(row.phone, row.region)
    return rows


def run_send(
    rows: list[PlanRow],
    url: str,
    journal: Journal,
    windows: Windows,
    clock: FakeClock,
    *,
    wait: bool,
    concurrency: int = 10,
) -> SendReport:
    async def main() -> SendReport:
        policy = SendPolicy(concurrency=concurrency)
        hold = make_hold(windows, clock)
        async with open_post(timeout_s=10, concurrency=concurrency) as post:
            client = WooxyClient(post, url=url, token="sandbox", domain="shop.example.com")

            def send(batch: Sequence[PlanRow]) -> asyncio.Future[SendReport]:
                return send_rows(batch, client, journal, policy, hold=hold)  # type: ignore[return-value]

            return await send_in_windows(
                send,
                rows,
                windows,
                wait=wait,
                clock=clock,
                sleep=clock.sleep,
                stop=asyncio.Event(),
            )

    return asyncio.run(main())


def test_the_window_is_checked_as_each_row_is_sent(tmp_path: Path) -> None:
    """A run that reaches 19:45 in New York halfway stops starting sends there, 15 minutes before
    the 20:00 closing; the rest stay not_sent, saying when they open."""
    windows = Windows(WindowSpec(hours="09:00-20:00"), country_rules=False)
    phones = [f"+1212555{i:04d}" for i in range(10)]
    rows = located(windows, phones)
    clock = FakeClock(datetime(2026, 3, 11, 23, 40, tzinfo=UTC), tick=timedelta(minutes=1))
    with running_sandbox(SandboxConfig()) as box, Journal(tmp_path / "j.sqlite", "t") as journal:
        report = run_send(rows, box.url, journal, windows, clock, wait=False, concurrency=1)
        accepted = [m["phoneNumber"] for m in box.state.messages]
    assert accepted == phones[:5]  # 19:40 … 19:44
    assert [r.status for r in rows] == [Status.SENT] * 5 + [Status.NOT_SENT] * 5
    assert {r.error for r in rows[5:]} == {
        "outside its send window: opens Thu 09:00 America/New_York"
    }
    assert report.end is End.FINISHED and report.held == rows[5:]


def test_wait_sends_each_row_as_its_window_opens(tmp_path: Path) -> None:
    """--wait on a fake clock: New York goes at once, then the run sleeps until Los Angeles,
    then Tokyo opens, and ends when every row is sent."""
    windows = Windows(WindowSpec(hours="09:00-09:30"), country_rules=False)
    new_york, los_angeles, tokyo = "+12125551234", "+14155552671", "+81312345678"
    rows = located(windows, [tokyo, los_angeles, new_york])
    clock = FakeClock(datetime(2026, 3, 11, 13, 0, tzinfo=UTC))  # 09:00 in New York
    with running_sandbox(SandboxConfig()) as box, Journal(tmp_path / "j.sqlite", "t") as journal:
        report = run_send(rows, box.url, journal, windows, clock, wait=True)
        accepted = [m["phoneNumber"] for m in box.state.messages]
    assert accepted == [new_york, los_angeles, tokyo]
    assert report.end is End.FINISHED and report.sent == 3 and report.held == []
    assert all(r.status is Status.SENT and r.error == "" for r in rows)
    assert clock.slept[-1] == datetime(2026, 3, 12, 0, 0, tzinfo=UTC)  # Thu 09:00 in Tokyo
    assert datetime(2026, 3, 11, 16, 0, tzinfo=UTC) in clock.slept  # 09:00 in Los Angeles


def test_without_wait_held_rows_are_left_for_a_later_run(tmp_path: Path) -> None:
    """Without --wait the run ends at once; the held rows are reported, nothing is slept."""
    windows = Windows(WindowSpec(hours="09:00-20:00"), country_rules=False)
    rows = located(windows, ["+12125551234", "+81312345678"])
    clock = FakeClock(datetime(2026, 3, 11, 13, 0, tzinfo=UTC))
    with running_sandbox(SandboxConfig()) as box, Journal(tmp_path / "j.sqlite", "t") as journal:
        report = run_send(rows, box.url, journal, windows, clock, wait=False)
    assert report.sent == 1 and report.held == [rows[1]] and clock.slept == []
    assert rows[1].error == "outside its send window: opens Thu 09:00 Asia/Tokyo"


def test_a_stop_ends_the_sleep_at_once() -> None:
    """Ctrl-C (the stop event) ends a wait for a window hours away without waiting for it."""

    async def main() -> tuple[bool, float]:
        stop = asyncio.Event()
        clock = FakeClock(datetime(2026, 3, 11, 13, 0, tzinfo=UTC))
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, stop.set)
        started = loop.time()
        when = clock.now + timedelta(hours=8)
        done = await sleep_until(when, clock, asyncio.sleep, stop)
        return done, loop.time() - started

    done, seconds = asyncio.run(main())
    assert done is False and seconds < 5


WEDNESDAY = datetime(2026, 3, 11, 13, 0, tzinfo=UTC)  # 09:00 in New York, 22:00 in Tokyo
NINE_TO_EIGHT = Windows(WindowSpec(hours="09:00-20:00"), country_rules=False)
TOKYO, NEW_YORK, SYDNEY, LONDON = "+81312345678", "+12125551234", "+61293744000", "+447400100000"
PARIS, MUMBAI = "+33612345678", "+919812345678"


class LedgerWatchingClient:
    """Accepts every message; at each post, reads the ledger as another campaign starting then
    would (its plan's check at a cap of 1) and notes the numbers it would find taken."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.posted: list[str] = []
        self.taken: set[str] = set()

    async def send(self, phone: str, text: str) -> Answer:
        self.posted.append(phone)
        other = open_ledger(self.path)
        self.taken |= set(other.over_cap("scope", Cap(1, 24), WEDNESDAY))
        other.close()
        return Answer(Outcome.SENT, sms_id=f"{len(self.posted):024x}")


def send_capped(
    rows: list[PlanRow], folder: Path, limit: Limit | None = None
) -> tuple[SendReport, LedgerWatchingClient]:
    """Send `rows` on Wednesday 13:00 UTC through a SQLite ledger at a cap of 1 message a day,
    with the 09:00-20:00 window."""
    client = LedgerWatchingClient(folder / "ledger.sqlite")

    async def main() -> SendReport:
        ledger = open_ledger(client.path)
        sending = ledger.for_sending("scope", "spring", Cap(1, 24), lambda: WEDNESDAY)
        hold = make_hold(NINE_TO_EIGHT, lambda: WEDNESDAY)
        with Journal(folder / "j.sqlite", "t") as journal:
            report = await send_rows(
                rows, client, journal, SendPolicy(), ledger=sending, hold=hold, limit=limit
            )  # type: ignore[arg-type]
        await sending.aclose()
        ledger.close()
        return report

    return asyncio.run(main()), client


def test_a_row_held_by_its_window_is_never_reserved(tmp_path: Path) -> None:
    """Under a frequency cap, a row held by its window is not reserved at any moment of the run:
    another campaign on the ledger may text that number meanwhile; the numbers sent are."""
    rows = located(NINE_TO_EIGHT, [TOKYO, NEW_YORK, SYDNEY, LONDON])
    report, client = send_capped(rows, tmp_path)
    assert sorted(client.posted) == sorted([NEW_YORK, LONDON])
    assert report.held == [rows[0], rows[2]]
    assert TOKYO not in client.taken and SYDNEY not in client.taken
    assert client.taken <= {NEW_YORK, LONDON}


def test_limit_counts_the_rows_that_go_not_those_held_or_over_the_cap(tmp_path: Path) -> None:
    """--limit 2 under a cap: the two messages go to the first rows open and under the cap; the
    rows held before them say when they open, the capped one is suppressed, the last is past the
    limit; the confirmation's view (first_to_go) named the open rows before the run."""
    rows = located(NINE_TO_EIGHT, [TOKYO, NEW_YORK, LONDON, SYDNEY, PARIS, MUMBAI])
    assert first_to_go(rows, 2, make_hold(NINE_TO_EIGHT, lambda: WEDNESDAY)) == rows[1:3]
    ledger = open_ledger(tmp_path / "ledger.sqlite")
    ledger.record("scope", "autumn", [(LONDON, "a" * 24, WEDNESDAY - timedelta(hours=1))])
    ledger.close()
    report, client = send_capped(rows, tmp_path, Limit(2))
    assert client.posted == [NEW_YORK, PARIS]
    assert report.sent == 2 and report.limited and report.held == [rows[0], rows[3]]
    capped = "frequency cap: 1 message in the last 24 hours (at most 1), from autumn"
    assert [(r.status, r.error) for r in rows] == [
        (Status.NOT_SENT, "outside its send window: opens Thu 09:00 Asia/Tokyo"),
        (Status.SENT, ""),
        (Status.SUPPRESSED, capped),
        (Status.NOT_SENT, "outside its send window: opens Thu 09:00 Australia/Sydney"),
        (Status.SENT, ""),
        (Status.NOT_SENT, "past --limit 2; a re-run sends it"),
    ]
