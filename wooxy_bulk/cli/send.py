"""`wooxy-bulk run` sending: the account and the confirmation first, then every row through the
journal, the ledger and the send windows, and the results written on every way out."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Sequence

import click

from ..campaign import Campaign
from ..errors import ExitStatus, InputError, WooxyBulkError
from ..ledger import Ledger, SendLedger, utc_now
from ..ledger.check import reconcile, suppress
from ..plan.estimate import check_balance
from ..plan.rows import Plan, PlanRow, Status
from ..plan.schedule import held_line, make_hold, send_in_windows
from ..plan.windows import Opening, Windows, day_time
from ..report import closing_summary, confirmation, delivery_line
from ..send import interrupts
from ..send.account import Account, AccountUnavailable, read_account
from ..send.journal import Journal
from ..send.sender import (
    End,
    Hold,
    Limit,
    SendReport,
    first_to_go,
    run_event_loop,
    select,
    send_rows,
    settled,
)
from .journaling import open_journal, remembered
from .progress import Progress, make_progress
from .shared import (
    REHEARSAL,
    RunOptions,
    Timing,
    cap,
    connect,
    endpoint,
    policy,
    stop_on_signals,
    write,
)
from .status import check_statuses


def send(
    campaign: Campaign,
    plan: Plan,
    options: RunOptions,
    api_url: str,
    token: str,
    ledger: Ledger,
    windows: Windows | None,
    timing: Timing,
) -> ExitStatus:
    """Send the plan's ready rows that the journal has not settled, and say how it ended."""
    with (
        endpoint(options.sandbox, api_url) as (url, scope),
        open_journal(campaign, scope, options) as journal,
    ):
        entries = remembered(journal, campaign, options)
        reconcile(ledger, scope, campaign.name, entries)
        frequency_cap, now = cap(campaign)
        done = {
            p
            for p, e in entries.items()
            if settled(e.state, options.retry_failed, options.resend_unknown)
        }
        fresh = [r for r in plan.with_status(Status.READY) if r.phone not in done]
        suppress(fresh, ledger, scope, frequency_cap, now)
        selection = select(
            plan.rows,
            entries,
            retry_failed=options.retry_failed,
            resend_unknown=options.resend_unknown,
        )
        rows = selection.to_send
        sending = ledger.for_sending(scope, campaign.name, frequency_cap, utc_now)
        hold = make_hold(windows, timing.clock)
        going = first_to_go(rows, options.limit, hold)
        if going:
            account, account_line = _read_account(campaign, url, token)
            if options.yes or options.sandbox:
                click.echo(account_line)
            if account is not None:  # with prices: an estimate over the balance sends nothing
                check_balance(going, campaign.prices, account.balance)
            if not (options.yes or options.sandbox):
                summary = confirmation(campaign, plan, going, url, selection.skipped, account_line)
                held = sum(hold(row) is not None for row in going) if hold else 0
                _confirm(summary + (f"\nHeld by send windows now: {held}" if held else ""))
        started = time.monotonic()
        report = SendReport()
        try:
            with make_progress(len(going), quiet=options.quiet, stream=sys.stderr) as progress:
                report = run_event_loop(
                    _send_rows(
                        campaign,
                        rows,
                        journal,
                        sending,
                        url,
                        token,
                        progress,
                        windows,
                        hold,
                        wait=options.wait,
                        limit=options.limit,
                        timing=timing,
                    )
                )
        except (asyncio.CancelledError, KeyboardInterrupt):  # a second Ctrl-C
            report.end = End.INTERRUPTED
        finally:
            with interrupts.held() as interrupted:  # the results are written whole
                write(campaign, plan)
                if interrupted():
                    report.end = End.INTERRUPTED
        elapsed = time.monotonic() - started
        if options.sandbox and report.end is End.FINISHED and report.sent:
            _rehearsal_check(campaign, plan, journal, url, token, time.monotonic())
    sent_now = sum(r.status is Status.SENT for r in rows)  # counted whatever ended the run
    click.echo(closing_summary(plan, elapsed, sent_now, campaign.results_path))
    if line := held_line(report.held, windows, timing.clock()):
        click.echo(line)
    if options.sandbox and report.sent:
        click.echo(delivery_line(plan))
    return _conclusion(plan, report)


def _read_account(campaign: Campaign, url: str, token: str) -> tuple[Account | None, str]:
    """The account before a send, and its line for the confirmation or the run's first lines.

    An account error raises AccountError (exit 3, nothing sent); a call that fails is said, and
    the send goes on (its own "Insufficient balance" answer would still stop it).
    """

    async def read() -> Account:
        async with connect(campaign, url, token) as connection, connection.slots.slot():
            return await read_account(connection.api())

    try:
        account = run_event_loop(read())
    except AccountUnavailable as exc:
        return None, f"Account:     could not be read ({exc}); sending anyway"
    return account, f"Account:     {account.name or '(no name)'}, balance {account.balance:.2f}"


def _confirm(summary: str) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(
            "there is no terminal to confirm the send: add --yes to send without asking"
        )
    click.echo(summary)
    try:
        confirmed = click.confirm("Send now?", default=False)
    except click.Abort:  # Ctrl-C (or the end of input) at the prompt
        raise KeyboardInterrupt from None
    if not confirmed:
        raise WooxyBulkError("not confirmed; nothing was sent")


async def _send_rows(
    campaign: Campaign,
    rows: list[PlanRow],
    journal: Journal,
    sending: SendLedger,
    url: str,
    token: str,
    progress: Progress,
    windows: Windows | None,
    hold: Hold | None,
    *,
    wait: bool,
    limit: int | None,
    timing: Timing,
) -> SendReport:
    """Send `rows` over one connection as their send windows allow (`hold`, the windows'
    check of one row, the one the confirmation counted with), at most `limit` messages; the
    ledger's send side reserves and records each message."""
    most = Limit(limit) if limit is not None else None  # one count over --wait's rounds
    try:
        async with stop_on_signals() as stop, connect(campaign, url, token) as connection:
            client = connection.client(campaign)

            def send(batch: Sequence[PlanRow]) -> Awaitable[SendReport]:
                return send_rows(
                    batch,
                    client,
                    journal,
                    policy(campaign),
                    on_row=progress,
                    stop=stop,
                    slots=connection.slots,
                    ledger=sending,
                    hold=hold,
                    limit=most,
                )

            def waiting(count: int, opening: Opening) -> None:
                assert opening.at is not None
                progress.note(
                    f"waiting: {count:,} {'row waits' if count == 1 else 'rows wait'}"
                    " for their send window, until"
                    f" {day_time(opening.at)} UTC ({opening.local()})"
                )

            return await send_in_windows(
                send,
                rows,
                windows,
                wait=wait,
                clock=timing.clock,
                sleep=timing.sleep,
                stop=stop,
                on_wait=waiting,
            )
    finally:
        await sending.aclose()  # the outcomes noted last


def _rehearsal_check(
    campaign: Campaign, plan: Plan, journal: Journal, url: str, token: str, sent_at: float
) -> None:
    """`run --sandbox` ends with one status check, once the sandbox's delivery delay has passed
    (so the rehearsal's results show delivered and failed, not pending)."""
    try:
        time.sleep(max(0.0, REHEARSAL.delivery_delay_s - (time.monotonic() - sent_at)))
        check_statuses(campaign, plan, journal, url, token, None, quiet=True)
    except KeyboardInterrupt:
        return
    finally:
        write(campaign, plan)


def _conclusion(plan: Plan, report: SendReport) -> ExitStatus:
    if report.end is End.INTERRUPTED:
        click.echo(
            "Interrupted: the rows not reached are not_sent; run again to send them.", err=True
        )
        return ExitStatus.INTERRUPTED
    counts = plan.counts()
    if report.unreached:
        click.echo(
            f"{report.unreached} messages never reached the API (see their error); they are"
            " not_sent: run again to send them.",
            err=True,
        )
    if report.end is End.STOPPED:
        retry = " (add --retry-failed to send the failed rows again)" if report.failed else ""
        click.echo(
            f"Stopped: {report.reason}\nFix this and run again{retry}: the rows sent are"
            " journaled and will not be sent twice.",
            err=True,
        )
        return ExitStatus.STOPPED
    if counts[Status.FAILED] or counts[Status.UNKNOWN] or report.unreached:
        return ExitStatus.ROWS_FAILED
    return ExitStatus.OK
