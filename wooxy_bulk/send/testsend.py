"""`--test-to`: the first ready rows' texts, each sent to one number (the user's own phone).

A test send goes through the same client, retries and stops as a campaign, but is journaled in a
journal of its own, one scope per message, so the campaign's journal, results and counts are
untouched and the same test can be sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ..campaign import Campaign
from ..errors import InputError, RowError
from ..plan.phones import PhoneParser
from ..plan.rows import Plan, PlanRow, Status
from .api import WooxyClient
from .journal import Journal
from .sender import End, SendPolicy, SendReport, send_rows
from .slots import Slots


def recipient(campaign: Campaign, raw: str) -> str:
    """NUMBER read with the campaign's number rules, as E.164."""
    try:
        return PhoneParser(campaign.default_region).parse(raw)
    except RowError as exc:
        raise InputError(f"--test-to: {exc}") from None


def rows_for(plan: Plan, number: str, count: int) -> list[PlanRow]:
    """Copies of the first `count` ready rows, addressed to `number` (an E.164 number)."""
    ready = plan.with_status(Status.READY)[:count]
    if not ready:
        raise InputError("--test-to: no row is ready to send, so there is no text to test")
    region = PhoneParser(None).read(number).region
    return [
        replace(r, status=Status.NOT_SENT, phone=number, region=region, sms_id="", error="")
        for r in ready
    ]


def journal_path(campaign: Campaign) -> Path:
    return campaign.journal_path.with_name(f"{campaign.name}.test-sends.sqlite")


async def send_tests(
    rows: Sequence[PlanRow],
    client: WooxyClient,
    open_journal: Callable[[int], Journal],
    policy: SendPolicy,
    on_row: Callable[[PlanRow], None] = lambda row: None,
    slots: Slots | None = None,
) -> SendReport:
    """Send each row in turn, each journaled in a scope of its own; stop at an account error."""
    total = SendReport()
    for i, row in enumerate(rows):
        with open_journal(i) as journal:
            report = await send_rows([row], client, journal, policy, on_row=on_row, slots=slots)
        total.sent += report.sent
        total.failed += report.failed
        total.unknown += report.unknown
        total.unreached += report.unreached
        if report.end is not End.FINISHED:
            total.end, total.reason = report.end, report.reason
            break
    return total


def scope(base: str, started: datetime, index: int) -> str:
    """The journal scope of one test message: never one of a campaign's."""
    return f"test {base} {started.isoformat()} #{index + 1}"
