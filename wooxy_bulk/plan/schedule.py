"""The send windows applied to a plan and a run: which rows may go now, when the others open, and
`--wait`'s loop that sleeps until the next window opens and sends again.

The clock and the sleeper are passed in, so tests run whole days of windows on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime

from ..campaign import Campaign
from ..errors import RowError, located
from ..send.sender import End, Hold, SendReport
from .rows import Plan, PlanRow, Status
from .windows import Opening, Where, Windows, utc_and_local

Clock = Callable[[], datetime]
Sleeper = Callable[[float], Awaitable[object]]
SLEEP_CHUNK_S = 60.0  # a long wait is slept in pieces, so a clock change is noticed


def attach_windows(campaign: Campaign, plan: Plan) -> Windows | None:
    """Locate the recipient of every ready row (`row.where`); None when no window applies.

    A timezone cell that names no zone makes its row invalid; a missing timezone column is an
    InputError listing the columns."""
    windows = Windows(campaign.send_window, campaign.country_rules)
    if not windows.active:
        return None
    zone_at = _column(campaign, plan, windows)
    country_at = _index(plan.columns, campaign.country_column) if campaign.country_column else None
    default = campaign.default_region
    locate = windows.locate
    for row in plan.rows:
        if row.status is not Status.READY:
            continue
        cells = row.cells
        country = (cells[country_at].strip() if country_at is not None else "") or default
        try:
            zone = cells[zone_at].strip() if zone_at is not None else ""
            row.where = locate(row.phone, row.region, zone, country)
        except RowError as exc:
            row.status, row.error = Status.INVALID, str(exc)
    return windows


def _column(campaign: Campaign, plan: Plan, windows: Windows) -> int | None:
    name = windows.spec.timezone_column if windows.spec else None
    if not name:
        return None
    found = _index(plan.columns, name)
    if found is None:
        raise located(
            campaign.contacts,
            f"no column {name!r} (the campaign's send_window.timezone_column); the columns are:"
            f" {', '.join(plan.columns) or 'none'}. Set timezone_column to one of them",
        )
    return found


def _index(columns: Sequence[str], name: str) -> int | None:
    folded = [c.casefold() for c in columns]
    return folded.index(name.casefold()) if name.casefold() in folded else None


def hold_closed(rows: Iterable[PlanRow], windows: Windows, now: datetime) -> list[Opening]:
    """Mark the ready rows whose window is closed at `now` not_sent, with when it opens; return
    their openings."""
    held = []
    for row in rows:
        if row.status is not Status.READY or row.where is None:
            continue
        opening = windows.opening(row.where, now)  # type: ignore[arg-type]
        if not opening.is_open:
            row.status, row.error = Status.NOT_SENT, opening.reason()
            held.append(opening)
    return held


def schedule_lines(ready: int, held: Sequence[Opening], limit: int = 12) -> list[str]:
    """The dry run's schedule: rows that can go now and the next openings, grouped by zone."""
    if not held:
        return []
    groups = Counter((o.at, o.zone) for o in held if o.at is not None)
    first = {(o.at, o.zone): o for o in reversed(held)}
    never = sum(o.at is None for o in held)
    lines = [f"Send windows:    {ready:,} rows can go now; {len(held):,} wait for their window"]
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], item[0][1]))
    for key, count in ordered[:limit]:
        lines.append(f"  {count:,} {_rows(count)} open {utc_and_local(first[key])}")
    if len(ordered) > limit:
        rest = sum(count for _, count in ordered[limit:])
        lines.append(f"  … and {rest:,} more rows open later (see the results sheet)")
    if never:
        lines.append(f"  {never:,} {_rows(never)} never open in the next days (see their error)")
    return lines


def _rows(count: int) -> str:
    return "row" if count == 1 else "rows"


def next_opening(rows: Iterable[PlanRow], windows: Windows, now: datetime) -> Opening | None:
    """The earliest opening among held rows (None if none opens); open now if one already is."""
    best: Opening | None = None
    for row in rows:
        opening = windows.opening(row.where, now)  # type: ignore[arg-type]
        if opening.is_open:
            return opening
        if opening.at is not None and (best is None or opening.at < best.at):  # type: ignore[operator]
            best = opening
    return best


def held_line(held: Sequence[PlanRow], windows: Windows | None, now: datetime) -> str:
    """The closing summary's line about rows a window held, and when the next one opens."""
    if not held or windows is None:
        return ""
    line = f"Held by send windows: {len(held):,} {_rows(len(held))} (not_sent)"
    opening = next_opening(held, windows, now)
    if opening is None:
        return line + "; none opens in the next days"
    if opening.is_open:
        return line + "; their window is open again: run again to send them"
    return line + f"; the next window opens {utc_and_local(opening)}: run again then, or use --wait"


def make_hold(windows: Windows | None, clock: Clock) -> Hold | None:
    """The sender's per-row check, as a row is taken to send: why it may not go now, or None."""
    if windows is None:
        return None
    hold = windows.hold

    def check(row: PlanRow) -> str | None:
        where: Where | None = row.where  # type: ignore[assignment]
        return None if where is None else hold(where, clock())

    return check


async def send_in_windows(
    send: Callable[[Sequence[PlanRow]], Awaitable[SendReport]],
    rows: Sequence[PlanRow],
    windows: Windows | None,
    *,
    wait: bool,
    clock: Clock,
    sleep: Sleeper,
    stop: asyncio.Event,
    on_wait: Callable[[int, Opening], None] = lambda count, opening: None,
) -> SendReport:
    """Send `rows`; with `wait`, sleep until the next window opens and send the held rows again,
    until none is left, none will open or --limit is reached. Setting `stop` ends a sleep at
    once."""
    total = SendReport()
    while True:
        report = await send(rows)
        for counter in fields(SendReport):  # sent, failed, unknown… added up over the rounds
            if type(value := getattr(report, counter.name)) is int:  # not the flag `limited`
                setattr(total, counter.name, getattr(total, counter.name) + value)
        total.end, total.reason, total.held = report.end, report.reason, report.held
        total.limited = report.limited
        going_on = report.end is End.FINISHED and not report.limited
        if not (going_on and wait and windows and report.held):
            return total
        rows = report.held
        opening = next_opening(rows, windows, clock())
        if opening is None:
            return total
        if not opening.is_open:
            on_wait(len(rows), opening)
            if not await sleep_until(opening.at, clock, sleep, stop):  # type: ignore[arg-type]
                total.end = End.INTERRUPTED
                return total


async def sleep_until(when: datetime, clock: Clock, sleep: Sleeper, stop: asyncio.Event) -> bool:
    """Sleep until `when` by `clock`; False as soon as `stop` is set."""
    while not stop.is_set():
        left = (when - clock()).total_seconds()
        if left <= 0:
            return True
        nap = asyncio.ensure_future(sleep(min(left, SLEEP_CHUNK_S)))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({nap, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (nap, stopped):
            task.cancel()
        await asyncio.gather(nap, stopped, return_exceptions=True)
    return False
